package nemesis

import (
	"fmt"
	"slices"
	"strings"
)

// Fault names, as given to --nemesis.
const (
	Partition = "partition"
	Kill      = "kill"
	Pause     = "pause"
	Clock     = "clock"
)

// Partition shapes.
const (
	ShapeHalves         = "halves"          // first ⌊n/2⌋ nodes | the rest
	ShapeRandomHalves   = "random-halves"   // halves of a shuffled node list
	ShapeOne            = "one"             // one random node | the rest
	ShapeLeader         = "leader"          // the current leader | the rest
	ShapeBridge         = "bridge"          // halves, but one node talks to both
	ShapeMajoritiesRing = "majorities-ring" // every node sees a different majority
)

// Kill and pause targets.
const (
	TargetOne      = "one"      // one random node
	TargetLeader   = "leader"   // the current leader
	TargetMinority = "minority" // a random minority (majority(n)-1 nodes)
	TargetMajority = "majority" // a random majority
	TargetAll      = "all"      // every node
)

// Clock modes.
const (
	ClockModeBump   = "bump"   // jump the clock of random nodes by ± up to a few seconds
	ClockModeStrobe = "strobe" // jump back and forth quickly for a few seconds
	ClockModeRate   = "rate"   // run the clock of random nodes fast or slow
	// ClockModeRateLeader runs the current leader's clock at 1/20 to 1/10 of
	// true speed: the fault that lets a clock-based read lease outlive the
	// leader's leadership when it is then cut off.
	ClockModeRateLeader = "rate-leader"
)

// modes lists, for each fault in --nemesis order, the modes it may use, in
// canonical order. A fault named without a mode uses all of them.
var modes = map[string][]string{
	Partition: {ShapeHalves, ShapeRandomHalves, ShapeOne, ShapeLeader, ShapeBridge, ShapeMajoritiesRing},
	Kill:      {TargetOne, TargetLeader, TargetMinority, TargetMajority, TargetAll},
	Pause:     {TargetOne, TargetLeader, TargetMinority, TargetMajority, TargetAll},
	Clock:     {ClockModeBump, ClockModeStrobe, ClockModeRate, ClockModeRateLeader},
}

// faultNames is the canonical order of faults.
var faultNames = []string{Partition, Kill, Pause, Clock}

// modeWord names what a fault's modes are, for error messages.
var modeWord = map[string]string{Partition: "shape", Kill: "target", Pause: "target", Clock: "mode"}

// Fault is one kind of fault chosen for a run, with the modes the schedule
// picks from (never empty).
type Fault struct {
	Name  string   // Partition, Kill, Pause or Clock
	Modes []string // e.g. [halves leader] for a partition
}

// String gives the fault back in --nemesis syntax: "partition" when it uses
// every mode, else "partition:halves+leader".
func (f Fault) String() string {
	if slices.Equal(f.Modes, modes[f.Name]) {
		return f.Name
	}
	return f.Name + ":" + strings.Join(f.Modes, "+")
}

// FormatFaults gives a list of faults back in --nemesis syntax ("none" when empty).
func FormatFaults(fs []Fault) string {
	if len(fs) == 0 {
		return "none"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.String()
	}
	return strings.Join(parts, ",")
}

// validHelp is the list of valid --nemesis words, for error messages.
func validHelp() string {
	return "valid: partition, kill, pause, clock, none, all; a fault may name its modes, " +
		"e.g. partition:leader or kill:one+majority"
}

// ParseFaults parses a --nemesis value: a comma list of partition, kill,
// pause and clock, each optionally followed by ":" and a "+"-separated list
// of its modes (partition:halves+leader); or "none"; or "all" (every fault
// with every mode). A fault named twice gets the union of its modes. The
// result is in canonical order (partition, kill, pause, clock) with modes in
// canonical order; "none" gives an empty list.
func ParseFaults(s string) ([]Fault, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("--nemesis is empty; use none for no faults (%s)", validHelp())
	}
	chosen := map[string]map[string]bool{}
	items := strings.Split(s, ",")
	for _, item := range items {
		item = strings.TrimSpace(item)
		name, modeList, hasModes := strings.Cut(item, ":")
		switch name {
		case "":
			return nil, fmt.Errorf("--nemesis %q has an empty item (%s)", s, validHelp())
		case "none", "all":
			if len(items) > 1 || hasModes {
				return nil, fmt.Errorf("--nemesis: %q must stand alone, got %q (%s)", name, s, validHelp())
			}
			if name == "none" {
				return nil, nil
			}
			out := make([]Fault, 0, len(faultNames))
			for _, n := range faultNames {
				out = append(out, Fault{Name: n, Modes: slices.Clone(modes[n])})
			}
			return out, nil
		}
		valid, ok := modes[name]
		if !ok {
			return nil, fmt.Errorf("--nemesis: unknown fault %q (%s)", name, validHelp())
		}
		if chosen[name] == nil {
			chosen[name] = map[string]bool{}
		}
		if !hasModes {
			for _, m := range valid {
				chosen[name][m] = true
			}
			continue
		}
		for _, m := range strings.Split(modeList, "+") {
			m = strings.TrimSpace(m)
			if !slices.Contains(valid, m) {
				return nil, fmt.Errorf("--nemesis: unknown %s %s %q; valid: %s",
					name, modeWord[name], m, strings.Join(valid, ", "))
			}
			chosen[name][m] = true
		}
	}
	var out []Fault
	for _, n := range faultNames {
		if chosen[n] == nil {
			continue
		}
		f := Fault{Name: n}
		for _, m := range modes[n] {
			if chosen[n][m] {
				f.Modes = append(f.Modes, m)
			}
		}
		out = append(out, f)
	}
	return out, nil
}
