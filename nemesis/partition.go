package nemesis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Grudge maps a node to the sorted list of nodes it drops traffic from, as
// in Jepsen. A node absent from the map (or with an empty list) drops nothing.
type Grudge map[string][]string

// Cut is one network partition: its shape, the grudge and, for shapes made
// of components, the components.
type Cut struct {
	Shape      string     `json:"shape"`
	Components [][]string `json:"components,omitempty"` // nil for majorities-ring
	Bridge     string     `json:"bridge,omitempty"`     // the bridge node of ShapeBridge
	Grudge     Grudge     `json:"grudge"`
}

// String describes the cut for a progress line: "halves [n1 n2 | n3 n4 n5]",
// "bridge [n1 n2 | n3 n4 n5] via n3", or, for a ring, what each node sees:
// "majorities-ring n1:{n1 n2 n5} n2:{...} ...".
func (c Cut) String() string {
	if c.Components != nil {
		parts := make([]string, len(c.Components))
		for i, comp := range c.Components {
			parts[i] = strings.Join(comp, " ")
		}
		s := c.Shape + " [" + strings.Join(parts, " | ") + "]"
		if c.Bridge != "" {
			s += " via " + c.Bridge
		}
		return s
	}
	var b strings.Builder
	b.WriteString(c.Shape)
	nodes := make([]string, 0, len(c.Grudge))
	for n := range c.Grudge {
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, compareNodeIDs)
	universe := c.universe()
	for _, n := range nodes {
		var sees []string
		for _, m := range universe {
			if !slices.Contains(c.Grudge[n], m) {
				sees = append(sees, m)
			}
		}
		fmt.Fprintf(&b, " %s:{%s}", n, strings.Join(sees, " "))
	}
	return b.String()
}

// universe is every node named in the grudge, sorted.
func (c Cut) universe() []string {
	set := map[string]bool{}
	for n, drops := range c.Grudge {
		set[n] = true
		for _, m := range drops {
			set[m] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.SortFunc(out, compareNodeIDs)
	return out
}

// compareNodeIDs orders ids naturally: n2 before n10.
func compareNodeIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// MakeCut computes the cut of a shape over nodes (in the cluster's order).
// leader is needed by ShapeLeader only; r drives the random choices of
// ShapeRandomHalves, ShapeOne and ShapeMajoritiesRing. It needs at least two
// nodes (three for a bridge) and fails on an unknown shape.
func MakeCut(shape string, nodes []string, leader string, r *rand.Rand) (Cut, error) {
	min := 2
	if shape == ShapeBridge {
		min = 3
	}
	if len(nodes) < min {
		return Cut{}, fmt.Errorf("partition %s needs at least %d nodes, the cluster has %d", shape, min, len(nodes))
	}
	nodes = slices.Clone(nodes)
	switch shape {
	case ShapeHalves:
		return componentsCut(shape, bisect(nodes)), nil
	case ShapeRandomHalves:
		shuffle(r, nodes)
		return componentsCut(shape, bisect(nodes)), nil
	case ShapeOne:
		return componentsCut(shape, splitOne(nodes[r.IntN(len(nodes))], nodes)), nil
	case ShapeLeader:
		if leader == "" {
			return Cut{}, fmt.Errorf("partition leader: no leader to isolate")
		}
		if !slices.Contains(nodes, leader) {
			return Cut{}, fmt.Errorf("partition leader: leader %q is not one of the nodes %v", leader, nodes)
		}
		return componentsCut(shape, splitOne(leader, nodes)), nil
	case ShapeBridge:
		return bridge(nodes), nil
	case ShapeMajoritiesRing:
		if len(nodes) <= 5 {
			return Cut{Shape: shape, Grudge: majoritiesRingPerfect(nodes, r)}, nil
		}
		return Cut{Shape: shape, Grudge: majoritiesRingStochastic(nodes, r)}, nil
	}
	return Cut{}, fmt.Errorf("unknown partition shape %q; valid: %s", shape, strings.Join(modes[Partition], ", "))
}

// bisect cuts nodes in two, the smaller half first (Jepsen's bisect).
func bisect(nodes []string) [][]string {
	h := len(nodes) / 2
	return [][]string{nodes[:h:h], nodes[h:]}
}

// splitOne isolates loner from the rest (Jepsen's split-one).
func splitOne(loner string, nodes []string) [][]string {
	rest := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == loner })
	return [][]string{{loner}, rest}
}

// componentsCut builds a cut where no node talks to any node outside its
// component (Jepsen's complete-grudge).
func componentsCut(shape string, comps [][]string) Cut {
	g := Grudge{}
	for i, comp := range comps {
		var others []string
		for j, other := range comps {
			if j != i {
				others = append(others, other...)
			}
		}
		slices.SortFunc(others, compareNodeIDs)
		for _, n := range comp {
			g[n] = slices.Clone(others)
		}
	}
	return Cut{Shape: shape, Components: comps, Grudge: g}
}

// bridge cuts the nodes in halves, but the first node of the second (larger)
// half keeps talking to everyone: it drops nothing and nobody drops it.
func bridge(nodes []string) Cut {
	comps := bisect(nodes)
	b := comps[1][0]
	c := componentsCut(ShapeBridge, comps)
	delete(c.Grudge, b)
	for n, drops := range c.Grudge {
		c.Grudge[n] = slices.DeleteFunc(drops, func(m string) bool { return m == b })
	}
	c.Bridge = b
	return c
}

// majority is the size of a majority of n nodes.
func majority(n int) int { return n/2 + 1 }

// majoritiesRingPerfect is Jepsen's exact majorities ring (for up to five
// nodes): shuffle the nodes into a ring, take every window of majority(n)
// consecutive nodes, and let the node in the middle of each window see
// exactly that window. Every node sees a majority and no two see the same
// one. On three nodes the majority (2) is even, so the grudge is one-way: a
// sees b while b drops a. Over TCP a one-way drop breaks the link both ways,
// so on three nodes the ring isolates every node in practice.
func majoritiesRingPerfect(nodes []string, r *rand.Rand) Grudge {
	n, m := len(nodes), majority(len(nodes))
	ring := slices.Clone(nodes)
	shuffle(r, ring)
	g := Grudge{}
	for i := range n {
		window := make([]string, m)
		for j := range m {
			window[j] = ring[(i+j)%n]
		}
		g[window[m/2]] = others(nodes, window)
	}
	return g
}

// majoritiesRingStochastic builds a ring-like grudge for more than five
// nodes, in the spirit of Jepsen's stochastic variant: start with every node
// alone, then repeatedly link a node that sees the fewest nodes to a random
// node it does not see yet (preferring nodes that also lack a majority),
// both ways, until every node sees a majority. Links are symmetric; sets
// seen are usually, but not provably, all different.
func majoritiesRingStochastic(nodes []string, r *rand.Rand) Grudge {
	m := majority(len(nodes))
	sees := map[string]map[string]bool{}
	for _, n := range nodes {
		sees[n] = map[string]bool{n: true}
	}
	for {
		var needy []string
		fewest := len(nodes) + 1
		for _, n := range nodes {
			c := len(sees[n])
			if c >= m {
				continue
			}
			if c < fewest {
				needy, fewest = nil, c
			}
			if c == fewest {
				needy = append(needy, n)
			}
		}
		if len(needy) == 0 {
			break
		}
		a := needy[r.IntN(len(needy))]
		var cands, needyCands []string
		for _, b := range nodes {
			if !sees[a][b] {
				cands = append(cands, b)
				if len(sees[b]) < m {
					needyCands = append(needyCands, b)
				}
			}
		}
		if len(needyCands) > 0 {
			cands = needyCands
		}
		b := cands[r.IntN(len(cands))]
		sees[a][b], sees[b][a] = true, true
	}
	g := Grudge{}
	for _, n := range nodes {
		var seen []string
		for s := range sees[n] {
			seen = append(seen, s)
		}
		g[n] = others(nodes, seen)
	}
	return g
}

// others is the sorted list of nodes not in seen.
func others(nodes, seen []string) []string {
	out := []string{}
	for _, n := range nodes {
		if !slices.Contains(seen, n) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, compareNodeIDs)
	return out
}

// shuffle permutes s with r.
func shuffle(r *rand.Rand, s []string) {
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
}
