package nemesis

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// nodeIDs returns n1..nk.
func nodeIDs(k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i+1)
	}
	return out
}

// rng is a seeded source for tests.
func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

func TestMakeCutFixedShapes(t *testing.T) {
	tests := []struct {
		shape  string
		nodes  int
		leader string
		want   Grudge
		str    string
	}{
		{ShapeHalves, 5, "", Grudge{
			"n1": {"n3", "n4", "n5"}, "n2": {"n3", "n4", "n5"},
			"n3": {"n1", "n2"}, "n4": {"n1", "n2"}, "n5": {"n1", "n2"},
		}, "halves [n1 n2 | n3 n4 n5]"},
		{ShapeHalves, 3, "", Grudge{"n1": {"n2", "n3"}, "n2": {"n1"}, "n3": {"n1"}}, "halves [n1 | n2 n3]"},
		{ShapeBridge, 5, "", Grudge{
			"n1": {"n4", "n5"}, "n2": {"n4", "n5"}, "n4": {"n1", "n2"}, "n5": {"n1", "n2"},
		}, "bridge [n1 n2 | n3 n4 n5] via n3"},
		{ShapeBridge, 3, "", Grudge{"n1": {"n3"}, "n3": {"n1"}}, "bridge [n1 | n2 n3] via n2"},
		{ShapeLeader, 5, "n4", Grudge{
			"n4": {"n1", "n2", "n3", "n5"}, "n1": {"n4"}, "n2": {"n4"}, "n3": {"n4"}, "n5": {"n4"},
		}, "leader [n4 | n1 n2 n3 n5]"},
		{ShapeLeader, 3, "n1", Grudge{"n1": {"n2", "n3"}, "n2": {"n1"}, "n3": {"n1"}}, "leader [n1 | n2 n3]"},
	}
	for _, tt := range tests {
		c, err := MakeCut(tt.shape, nodeIDs(tt.nodes), tt.leader, rng(1))
		if err != nil {
			t.Errorf("%s of %d: %v", tt.shape, tt.nodes, err)
			continue
		}
		if !reflect.DeepEqual(c.Grudge, tt.want) {
			t.Errorf("%s of %d: grudge %v, want %v", tt.shape, tt.nodes, c.Grudge, tt.want)
		}
		if c.String() != tt.str {
			t.Errorf("%s of %d: String() = %q, want %q", tt.shape, tt.nodes, c, tt.str)
		}
	}
}

// checkComponents asserts that g is a complete grudge over comps: nobody
// talks across components, everybody talks within its own.
func checkComponents(t *testing.T, g Grudge, comps [][]string) {
	t.Helper()
	for i, comp := range comps {
		for _, a := range comp {
			for j, other := range comps {
				for _, b := range other {
					drops := slices.Contains(g[a], b)
					if drops != (i != j) {
						t.Errorf("%s drops %s = %v, components %v", a, b, drops, comps)
					}
				}
			}
		}
	}
}

func TestMakeCutRandomShapes(t *testing.T) {
	for _, k := range []int{3, 5} {
		nodes := nodeIDs(k)
		seenHalves, seenLoners := map[string]bool{}, map[string]bool{}
		for seed := range uint64(50) {
			c, err := MakeCut(ShapeRandomHalves, nodes, "", rng(seed))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Components) != 2 || len(c.Components[0]) != k/2 || len(c.Components[1]) != k-k/2 {
				t.Fatalf("random-halves of %d: components %v", k, c.Components)
			}
			checkComponents(t, c.Grudge, c.Components)
			seenHalves[fmt.Sprint(c.Components)] = true

			c, err = MakeCut(ShapeOne, nodes, "", rng(seed))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Components) != 2 || len(c.Components[0]) != 1 || len(c.Components[1]) != k-1 {
				t.Fatalf("one of %d: components %v", k, c.Components)
			}
			checkComponents(t, c.Grudge, c.Components)
			seenLoners[c.Components[0][0]] = true

			again, _ := MakeCut(ShapeOne, nodes, "", rng(seed))
			if !reflect.DeepEqual(c, again) {
				t.Fatalf("one of %d, seed %d: not deterministic: %v vs %v", k, seed, c, again)
			}
		}
		if len(seenHalves) < 2 || len(seenLoners) != k {
			t.Errorf("%d nodes, 50 seeds: %d different random halves, %d different loners; want variety",
				k, len(seenHalves), len(seenLoners))
		}
	}
}

// sees returns what each node of a grudge sees, itself included.
func sees(g Grudge, nodes []string) map[string][]string {
	out := map[string][]string{}
	for _, n := range nodes {
		for _, m := range nodes {
			if !slices.Contains(g[n], m) {
				out[n] = append(out[n], m)
			}
		}
	}
	return out
}

func TestMajoritiesRing(t *testing.T) {
	for _, k := range []int{3, 4, 5, 7, 9} {
		nodes := nodeIDs(k)
		for seed := range uint64(30) {
			c, err := MakeCut(ShapeMajoritiesRing, nodes, "", rng(seed))
			if err != nil {
				t.Fatal(err)
			}
			view := sees(c.Grudge, nodes)
			distinct := map[string]bool{}
			for _, n := range nodes {
				if !slices.Contains(view[n], n) {
					t.Errorf("%d nodes: %s drops itself: %v", k, n, c.Grudge)
				}
				if len(view[n]) < majority(k) {
					t.Errorf("%d nodes, seed %d: %s sees %v, not a majority", k, seed, n, view[n])
				}
				if len(view[n]) == k {
					t.Errorf("%d nodes, seed %d: %s sees everyone", k, seed, n)
				}
				distinct[strings.Join(view[n], " ")] = true
			}
			if k <= 5 && len(distinct) != k {
				t.Errorf("%d nodes, seed %d: two nodes see the same set: %v", k, seed, view)
			}
			if k >= 4 { // odd majorities and the stochastic variant are symmetric
				for a, drops := range c.Grudge {
					for _, b := range drops {
						if !slices.Contains(c.Grudge[b], a) {
							t.Errorf("%d nodes, seed %d: %s drops %s but not the reverse", k, seed, a, b)
						}
					}
				}
			}
		}
	}
}

func TestMakeCutErrors(t *testing.T) {
	tests := []struct {
		shape, leader string
		nodes         int
		mention       string
	}{
		{ShapeLeader, "", 3, "no leader"},
		{ShapeLeader, "n9", 3, "not one of the nodes"},
		{ShapeHalves, "", 1, "at least 2 nodes"},
		{ShapeBridge, "", 2, "at least 3 nodes"},
		{"square", "", 3, "unknown partition shape"},
	}
	for _, tt := range tests {
		_, err := MakeCut(tt.shape, nodeIDs(tt.nodes), tt.leader, rng(1))
		if err == nil || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("MakeCut(%s, %d nodes, leader %q) error = %v, want one mentioning %q", tt.shape, tt.nodes, tt.leader, err, tt.mention)
		}
	}
}

func TestCutStringRing(t *testing.T) {
	c := Cut{Shape: ShapeMajoritiesRing, Grudge: Grudge{"n1": {"n2"}, "n2": {"n3"}, "n3": {"n1"}}}
	if got, want := c.String(), "majorities-ring n1:{n1 n3} n2:{n1 n2} n3:{n2 n3}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
