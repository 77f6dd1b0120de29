package nemesis

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestTargetsSizes(t *testing.T) {
	tests := []struct {
		mode     string
		nodes    int
		eligible []string // nil: all nodes
		leader   string
		size     int
	}{
		{TargetOne, 5, nil, "", 1},
		{TargetMinority, 5, nil, "", 2},
		{TargetMinority, 3, nil, "", 1},
		{TargetMinority, 4, nil, "", 2},
		{TargetMajority, 5, nil, "", 3},
		{TargetMajority, 3, nil, "", 2},
		{TargetAll, 5, nil, "", 5},
		{TargetAll, 5, []string{"n2", "n4"}, "", 2},
		{TargetMajority, 5, []string{"n1", "n5"}, "", 2}, // as many as there are
		{TargetLeader, 5, nil, "n3", 1},
	}
	for _, tt := range tests {
		all := nodeIDs(tt.nodes)
		eligible := tt.eligible
		if eligible == nil {
			eligible = all
		}
		for seed := range uint64(20) {
			got, err := Targets(tt.mode, all, eligible, tt.leader, rng(seed))
			if err != nil {
				t.Fatalf("Targets(%s, %d nodes): %v", tt.mode, tt.nodes, err)
			}
			if len(got) != tt.size {
				t.Errorf("Targets(%s, %d nodes) = %v, want %d nodes", tt.mode, tt.nodes, got, tt.size)
			}
			if !slices.IsSortedFunc(got, compareNodeIDs) {
				t.Errorf("Targets(%s) = %v, not in cluster order", tt.mode, got)
			}
			for _, n := range got {
				if !slices.Contains(eligible, n) {
					t.Errorf("Targets(%s) = %v includes %s, which is not eligible", tt.mode, got, n)
				}
			}
			if tt.mode == TargetLeader && !reflect.DeepEqual(got, []string{tt.leader}) {
				t.Errorf("Targets(leader) = %v, want [%s]", got, tt.leader)
			}
		}
	}
}

func TestTargetsRandomAndDeterministic(t *testing.T) {
	all := nodeIDs(5)
	seen := map[string]bool{}
	for seed := range uint64(40) {
		a, _ := Targets(TargetMinority, all, all, "", rng(seed))
		b, _ := Targets(TargetMinority, all, all, "", rng(seed))
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: %v then %v", seed, a, b)
		}
		seen[strings.Join(a, " ")] = true
	}
	if len(seen) < 5 {
		t.Errorf("40 seeds gave only %d different minorities of 5", len(seen))
	}
}

func TestTargetsErrors(t *testing.T) {
	all := nodeIDs(3)
	tests := []struct {
		mode     string
		eligible []string
		leader   string
		mention  string
	}{
		{TargetOne, []string{}, "", "no node is up"},
		{TargetLeader, all, "", "no leader"},
		{TargetLeader, []string{"n1", "n2"}, "n3", "already down or frozen"},
		{"some", all, "", "unknown target"},
	}
	for _, tt := range tests {
		_, err := Targets(tt.mode, all, tt.eligible, tt.leader, rng(1))
		if err == nil || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("Targets(%s, %v, leader %q) error = %v, want one mentioning %q", tt.mode, tt.eligible, tt.leader, err, tt.mention)
		}
	}
	if _, err := Targets(TargetMinority, []string{"n1"}, []string{"n1"}, "", rng(1)); err == nil {
		t.Error("a minority of one node should be no target")
	}
}
