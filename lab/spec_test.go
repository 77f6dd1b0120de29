package lab

import (
	"testing"
	"time"
)

func TestParseConcurrency(t *testing.T) {
	cases := []struct {
		in    string
		nodes int
		want  int
		err   bool
	}{
		{"10", 5, 10, false},
		{"2n", 5, 10, false},
		{"n", 3, 3, false},
		{"1n", 3, 3, false},
		{" 4 ", 3, 4, false},
		{"0", 3, 0, true},
		{"-2", 3, 0, true},
		{"xn", 3, 0, true},
		{"", 3, 0, true},
		{"2.5n", 3, 0, true},
	}
	for _, c := range cases {
		got, err := ParseConcurrency(c.in, c.nodes)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseConcurrency(%q, %d) = %d, %v; want %d, err=%v", c.in, c.nodes, got, err, c.want, c.err)
		}
	}
}

func validSpec() Spec {
	return Spec{Name: "t", Workload: "registers", Nemesis: []string{"partition"}, NemesisInterval: time.Second,
		Nodes: 3, Concurrency: 3, TimeLimit: time.Second, ReadMode: "linearizable", OpTimeout: time.Second}
}

func TestValidate(t *testing.T) {
	if err := validSpec().Validate(); err != nil {
		t.Fatalf("valid spec rejected: %v", err)
	}
	bad := map[string]func(*Spec){
		"workload":  func(s *Spec) { s.Workload = "queue" },
		"read mode": func(s *Spec) { s.ReadMode = "fast" },
		"nodes":     func(s *Spec) { s.Nodes = 0 },
		"many":      func(s *Spec) { s.Nodes = 10 },
		"time":      func(s *Spec) { s.TimeLimit = 0 },
		"rate":      func(s *Spec) { s.Rate = -1 },
		"name":      func(s *Spec) { s.Name = "a/b" },
		"interval":  func(s *Spec) { s.NemesisInterval = 0 },
	}
	for name, mut := range bad {
		s := validSpec()
		mut(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: invalid spec accepted: %+v", name, s)
		}
	}
}

func TestDefaultName(t *testing.T) {
	if got := DefaultName("set", nil); got != "set-none" {
		t.Errorf("got %q", got)
	}
	if got := DefaultName("registers", []string{"partition", "kill"}); got != "registers-partition-kill" {
		t.Errorf("got %q", got)
	}
}
