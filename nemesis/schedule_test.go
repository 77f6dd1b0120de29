package nemesis

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestScheduleDeterministic(t *testing.T) {
	faults, _ := ParseFaults("all")
	a := Schedule(42, faults, 2*time.Second, time.Minute)
	b := Schedule(42, faults, 2*time.Second, time.Minute)
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different schedules:\n%v\n%v", a, b)
	}
	if c := Schedule(43, faults, 2*time.Second, time.Minute); reflect.DeepEqual(a, c) {
		t.Errorf("seeds 42 and 43 gave the same schedule %v", a)
	}
}

func TestScheduleShape(t *testing.T) {
	all, _ := ParseFaults("all")
	some, _ := ParseFaults("partition:leader+bridge,kill:one")
	tests := []struct {
		faults             []Fault
		interval, duration time.Duration
	}{
		{all, 10 * time.Second, 60 * time.Second},
		{all, time.Second, 5 * time.Minute},
		{some, 3 * time.Second, 30 * time.Second},
		{some[:1], 10 * time.Second, 20 * time.Second},
	}
	for _, tt := range tests {
		for seed := range int64(30) {
			steps := Schedule(seed, tt.faults, tt.interval, tt.duration)
			if len(steps) == 0 {
				t.Fatalf("no steps for %v over %v", tt.faults, tt.duration)
			}
			if first, want := steps[0].At, min(MaxStartDelay, tt.duration/4); first != want {
				t.Errorf("first step at %v, want %v", first, want)
			}
			active := map[string]bool{}
			for i, s := range steps {
				if s.At > tt.duration {
					t.Errorf("step %v after the duration %v", s, tt.duration)
				}
				if i > 0 {
					gap := s.At - steps[i-1].At
					last := s.At == tt.duration && !s.Start
					if gap < 0 || (!last && (gap < tt.interval/2 || gap >= 3*tt.interval/2)) {
						t.Errorf("gap %v before %v: want [%v, %v)", gap, s, tt.interval/2, 3*tt.interval/2)
					}
				}
				if s.Start == active[s.Fault] {
					t.Errorf("seed %d: %v while %s in force = %v", seed, s, s.Fault, active[s.Fault])
				}
				active[s.Fault] = s.Start
				if s.Start {
					i := slices.IndexFunc(tt.faults, func(f Fault) bool { return f.Name == s.Fault })
					if i < 0 || !slices.Contains(tt.faults[i].Modes, s.Mode) {
						t.Errorf("%v: fault or mode not chosen in %v", s, tt.faults)
					}
				}
			}
			for f, on := range active {
				if on {
					t.Errorf("seed %d: %s is never stopped: %v", seed, f, steps)
				}
			}
		}
	}
}

func TestScheduleEmpty(t *testing.T) {
	faults, _ := ParseFaults("kill")
	for _, s := range [][]Step{
		Schedule(1, nil, time.Second, time.Minute),
		Schedule(1, faults, 0, time.Minute),
		Schedule(1, faults, time.Second, 0),
	} {
		if s != nil {
			t.Errorf("want no steps, got %v", s)
		}
	}
	// A tiny interval is raised to MinInterval instead of looping for ever.
	if n := len(Schedule(1, faults, time.Nanosecond, time.Second)); n > int(time.Second/(MinInterval/2))+2 {
		t.Errorf("%d steps for 1s at a 1ns interval", n)
	}
}

func TestScheduleStartsNothingAtTheEnd(t *testing.T) {
	faults, err := ParseFaults("all")
	if err != nil {
		t.Fatal(err)
	}
	interval, duration := 2*time.Second, 30*time.Second
	for seed := int64(0); seed < 200; seed++ {
		for _, s := range Schedule(seed, faults, interval, duration) {
			if s.Start && s.At >= duration-interval/2 {
				t.Fatalf("seed %d: %s starts in the last half interval, with no time to act", seed, s)
			}
		}
	}
}
