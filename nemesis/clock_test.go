package nemesis

import (
	"reflect"
	"testing"
	"time"
)

func TestPlanClock(t *testing.T) {
	nodes := nodeIDs(5)
	for seed := range uint64(100) {
		bump, err := PlanClock(ClockModeBump, nodes, rng(seed))
		if err != nil {
			t.Fatal(err)
		}
		if len(bump.Nodes) == 0 || len(bump.Jumps) != len(bump.Nodes) {
			t.Fatalf("bump %+v: want a jump for each of at least one node", bump)
		}
		for n, j := range bump.Jumps {
			if a := j.Abs(); a < 11*time.Millisecond || a > 3400*time.Millisecond {
				t.Errorf("bump of %s by %v: outside ±[11ms, 3.4s]", n, j)
			}
		}
		again, _ := PlanClock(ClockModeBump, nodes, rng(seed))
		if !reflect.DeepEqual(bump, again) {
			t.Fatalf("seed %d: bump not deterministic", seed)
		}

		st, err := PlanClock(ClockModeStrobe, nodes, rng(seed))
		if err != nil {
			t.Fatal(err)
		}
		if st.Delta < 16*time.Millisecond || st.Delta > 2048*time.Millisecond ||
			st.Period < 32*time.Millisecond || st.Period > 512*time.Millisecond ||
			st.Duration < time.Second || st.Duration > 4*time.Second {
			t.Errorf("strobe %+v: out of range", st)
		}

		rate, err := PlanClock(ClockModeRate, nodes, rng(seed))
		if err != nil {
			t.Fatal(err)
		}
		for n, r := range rate.Rates {
			if r < 0.5 || r > 2 || (r > 0.871 && r < 1.148) {
				t.Errorf("rate of %s = %v: want 0.5–0.87 or 1.15–2", n, r)
			}
		}
	}
	if _, err := PlanClock(ClockModeBump, nil, rng(1)); err == nil {
		t.Error("PlanClock with no eligible node: want an error")
	}
	if _, err := PlanClock("warp", nodes, rng(1)); err == nil {
		t.Error("PlanClock(warp): want an error")
	}
}

func TestPlanClockRateLeaderSlowsTheLeader(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		p, err := PlanClock(ClockModeRateLeader, []string{"n2"}, rng(seed))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Nodes) != 1 || p.Nodes[0] != "n2" {
			t.Fatalf("rate-leader acts on %v, want just the leader n2", p.Nodes)
		}
		if r := p.Rates["n2"]; r < 0.05 || r > 0.1 {
			t.Fatalf("seed %d: rate %v, want 1/20 to 1/10", seed, r)
		}
	}
}
