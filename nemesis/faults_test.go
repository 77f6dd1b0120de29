package nemesis

import (
	"strings"
	"testing"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		in   string
		want string // FormatFaults of the result
	}{
		{"none", "none"},
		{" none ", "none"},
		{"partition", "partition"},
		{"partition,kill", "partition,kill"},
		{"kill, partition", "partition,kill"}, // canonical order
		{"all", "partition,kill,pause,clock"},
		{"partition:leader", "partition:leader"},
		{"partition:leader+halves", "partition:halves+leader"},
		{"partition:leader,partition:bridge", "partition:leader+bridge"},
		{"partition:leader,partition", "partition"},
		{"kill:one+majority,pause:all,clock:strobe", "kill:one+majority,pause:all,clock:strobe"},
		{"clock", "clock"},
	}
	for _, tt := range tests {
		got, err := ParseFaults(tt.in)
		if err != nil {
			t.Errorf("ParseFaults(%q): %v", tt.in, err)
			continue
		}
		if s := FormatFaults(got); s != tt.want {
			t.Errorf("ParseFaults(%q) = %s, want %s", tt.in, s, tt.want)
		}
		// The canonical form parses back to itself.
		again, err := ParseFaults(FormatFaults(got))
		if err != nil || FormatFaults(again) != tt.want {
			t.Errorf("ParseFaults(%q) does not round-trip: %v, %v", FormatFaults(got), again, err)
		}
	}
}

func TestParseFaultsErrors(t *testing.T) {
	tests := []struct {
		in      string
		mention []string // the error must contain each
	}{
		{"", []string{"empty", "none", "partition, kill, pause, clock"}},
		{"partion", []string{`"partion"`, "partition, kill, pause, clock, none, all"}},
		{"partition,,kill", []string{"empty item"}},
		{"none,kill", []string{`"none" must stand alone`}},
		{"all,kill", []string{`"all" must stand alone`}},
		{"all:one", []string{`"all" must stand alone`}},
		{"partition:square", []string{"partition shape", `"square"`, "halves, random-halves, one, leader, bridge, majorities-ring"}},
		{"kill:some", []string{"kill target", `"some"`, "one, leader, minority, majority, all"}},
		{"clock:warp", []string{"clock mode", `"warp"`, "bump, strobe, rate"}},
		{"partition:", []string{"partition shape", `""`}},
	}
	for _, tt := range tests {
		_, err := ParseFaults(tt.in)
		if err == nil {
			t.Errorf("ParseFaults(%q) = nil error, want one", tt.in)
			continue
		}
		for _, m := range tt.mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("ParseFaults(%q) error %q does not mention %q", tt.in, err, m)
			}
		}
	}
}
