package nemesis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Targets picks the nodes a kill or pause acts on, from the eligible nodes
// (the cluster's order): TargetOne (one at random), TargetLeader (leader,
// which must be eligible), TargetMinority (majority(n)-1 at random),
// TargetMajority (majority(n) at random) or TargetAll, where n counts all
// nodes of the cluster (Jepsen's sizes), not only the eligible ones. The
// result keeps the cluster's order. It fails when nothing can be targeted
// (Jepsen's :no-target).
func Targets(mode string, all, eligible []string, leader string, r *rand.Rand) ([]string, error) {
	if len(eligible) == 0 {
		return nil, fmt.Errorf("no target: no node is up and unfrozen")
	}
	var picked []string
	switch mode {
	case TargetOne:
		picked = []string{eligible[r.IntN(len(eligible))]}
	case TargetLeader:
		if leader == "" {
			return nil, fmt.Errorf("no target: there is no leader")
		}
		if !slices.Contains(eligible, leader) {
			return nil, fmt.Errorf("no target: leader %s is already down or frozen", leader)
		}
		picked = []string{leader}
	case TargetMinority, TargetMajority:
		k := majority(len(all))
		if mode == TargetMinority {
			k--
		}
		if k == 0 {
			return nil, fmt.Errorf("no target: a minority of %d nodes is empty", len(all))
		}
		k = min(k, len(eligible))
		shuffled := slices.Clone(eligible)
		shuffle(r, shuffled)
		picked = shuffled[:k]
	case TargetAll:
		picked = slices.Clone(eligible)
	default:
		return nil, fmt.Errorf("unknown target %q; valid: %s", mode, strings.Join(modes[Kill], ", "))
	}
	return inOrder(all, picked), nil
}

// inOrder returns the members of subset in the order of all.
func inOrder(all, subset []string) []string {
	out := make([]string, 0, len(subset))
	for _, n := range all {
		if slices.Contains(subset, n) {
			out = append(out, n)
		}
	}
	return out
}
