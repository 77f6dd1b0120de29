package nemesis

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Step is one action of a schedule: start or stop one fault at a time
// after the schedule begins.
type Step struct {
	At    time.Duration `json:"at"`             // when, from the start of Run
	Fault string        `json:"fault"`          // Partition, Kill, Pause or Clock
	Start bool          `json:"start"`          // true: start the fault; false: stop (heal) it
	Mode  string        `json:"mode,omitempty"` // start only: shape, target or clock mode
	// Seed drives the choices made against the live cluster when the step
	// runs (which nodes, which offsets), so a schedule replays the same way.
	Seed uint64 `json:"seed,omitempty"`
}

// String describes the step for logs: "12.5s start partition:halves".
func (s Step) String() string {
	if !s.Start {
		return fmt.Sprintf("%v stop %s", s.At, s.Fault)
	}
	return fmt.Sprintf("%v start %s:%s", s.At, s.Fault, s.Mode)
}

// Schedule timing.
const (
	// MaxStartDelay is the longest quiet time before the first fault (Jepsen
	// starts its nemesis after 5 s); shorter runs wait a quarter of duration.
	MaxStartDelay = 5 * time.Second
	// MinInterval is the shortest interval Schedule accepts; shorter ones are
	// raised to it.
	MinInterval = 100 * time.Millisecond
)

// Schedule plans the faults of a run; the same arguments give the same
// schedule. After a start delay (MaxStartDelay, or duration/4 if less),
// events come at gaps drawn uniformly from [interval/2, 3·interval/2): so the
// mean gap is interval (Jepsen's stagger) but two events never come at once
// and every fault gets some time to act and every heal some time to settle.
// At each event one fault is picked at random; if it is in force it is
// stopped, otherwise it is started with one of its modes at random (Jepsen's
// mix of start/stop flip-flops, so different faults overlap). Events stop at
// duration, where every fault still in force is stopped, in fault order:
// every start has a later stop. No fault starts in the last interval/2, so
// each one has time to act. No faults, a non-positive interval or
// duration give no steps; an interval below MinInterval counts as MinInterval.
func Schedule(seed int64, faults []Fault, interval, duration time.Duration) []Step {
	if len(faults) == 0 || interval <= 0 || duration <= 0 {
		return nil
	}
	interval = max(interval, MinInterval)
	r := rand.New(rand.NewPCG(uint64(seed), 0x6e656d65736973)) // "nemesis"
	active := map[string]bool{}
	var steps []Step
	t := min(MaxStartDelay, duration/4)
	for t < duration {
		f := faults[r.IntN(len(faults))]
		if active[f.Name] {
			steps = append(steps, Step{At: t, Fault: f.Name})
			active[f.Name] = false
		} else if len(f.Modes) > 0 && t < duration-interval/2 {
			// A fault started in the last half interval would be healed
			// before it could act; let the run end quietly instead.
			steps = append(steps, Step{At: t, Fault: f.Name, Start: true,
				Mode: f.Modes[r.IntN(len(f.Modes))], Seed: r.Uint64()})
			active[f.Name] = true
		}
		t += interval/2 + time.Duration(r.Int64N(int64(interval)))
	}
	for _, f := range faults {
		if active[f.Name] {
			steps = append(steps, Step{At: duration, Fault: f.Name})
		}
	}
	return steps
}
