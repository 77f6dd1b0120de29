package linearizability

import (
	"fmt"
	"sort"
	"strings"

	"github.com/raftlab/raftlab/history"
)

// SetResult is the set checker's outcome, per key.
type SetResult struct {
	Verdict Verdict        `json:"verdict"`
	Reason  string         `json:"reason"`
	Keys    []SetKeyResult `json:"keys"`
}

// SetKeyResult judges one set (one key) by every ok read of it (the final
// read on each node, and any read during the run), like Jepsen's set-full in
// its simplest form. Element lists are sorted and cut to
// MaxListed elements; the counts are complete.
type SetKeyResult struct {
	Key     string  `json:"key"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason,omitempty"`
	// Attempted adds (invocations), Acknowledged ones (ok).
	Attempted    int `json:"attempted"`
	Acknowledged int `json:"acknowledged"`
	// FinalRead is the history index of the final read's invocation (the ok
	// read completing last), -1 if there was none; ReadSize its element count.
	FinalRead int64 `json:"final_read"`
	ReadSize  int   `json:"read_size"`
	// Lost: acknowledged adds that completed before some read began but are
	// missing from that read.
	Lost      []int64 `json:"lost"`
	LostCount int     `json:"lost_count"`
	// Unexpected: elements of any read never attempted, or whose add failed (a
	// failed add certainly did not happen).
	Unexpected      []int64 `json:"unexpected"`
	UnexpectedCount int     `json:"unexpected_count"`
	// Duplicated: elements some read returned more than once.
	Duplicated      []int64 `json:"duplicated"`
	DuplicatedCount int     `json:"duplicated_count"`
	// Recovered: read elements whose add crashed (info): fine, but worth
	// knowing.
	Recovered      []int64 `json:"recovered"`
	RecoveredCount int     `json:"recovered_count"`
}

// MaxListed caps the element lists of a SetKeyResult.
const MaxListed = 100

// CheckSet checks a set history: adds of (unique) integers, then a final ok
// read per key returning the elements. A key is invalid when an
// acknowledged add is lost, the read has an element nobody (successfully
// or uncertainly) added, or an element twice; unknown when it has no ok read.
func CheckSet(ops []history.Op) (SetResult, error) {
	pairs, err := pairOps(ops)
	if err != nil {
		return SetResult{}, err
	}
	type keyState struct {
		key       string
		outcome   map[int64]history.Type // element -> best outcome of its adds
		ackAt     map[int64]int64        // element -> earliest ok completion time
		attempted int
		acked     int
		read      *pair   // the ok read completing last
		reads     []*pair // every ok read, in history order
	}
	keys := map[string]*keyState{}
	var order []string
	get := func(k string) *keyState {
		ks := keys[k]
		if ks == nil {
			ks = &keyState{key: k, outcome: map[int64]history.Type{}, ackAt: map[int64]int64{}}
			keys[k] = ks
			order = append(order, k)
		}
		return ks
	}
	rank := map[history.Type]int{history.Fail: 0, history.Info: 1, history.OK: 2}
	for i := range pairs {
		p := &pairs[i]
		ks := get(p.inv.Key)
		switch p.inv.F {
		case history.FAdd:
			e, ok := history.Int(p.inv.Value)
			if !ok {
				return SetResult{}, fmt.Errorf("op %d: add value must be an integer, got %v", p.inv.Index, p.inv.Value)
			}
			ks.attempted++
			t := history.Info
			if p.done != nil {
				t = p.done.Type
			}
			if t == history.OK {
				ks.acked++
				if at, seen := ks.ackAt[e]; !seen || p.done.Time < at {
					ks.ackAt[e] = p.done.Time
				}
			}
			if prev, seen := ks.outcome[e]; !seen || rank[t] > rank[prev] {
				ks.outcome[e] = t
			}
		case history.FRead:
			if p.done == nil || p.done.Type != history.OK {
				continue
			}
			if p.done.Value != nil {
				if _, ok := history.Ints(p.done.Value); !ok {
					return SetResult{}, fmt.Errorf("op %d: set read must return a list of integers, got %v", p.done.Index, p.done.Value)
				}
			}
			ks.reads = append(ks.reads, p)
			if ks.read == nil || p.done.Time >= ks.read.done.Time {
				ks.read = p
			}
		default:
			return SetResult{}, fmt.Errorf("op %d: f %q is not part of the set model (add, read)", p.inv.Index, p.inv.F)
		}
	}
	sort.Slice(order, func(i, j int) bool { return keyLess(order[i], order[j]) })
	var res SetResult
	var vs []Verdict
	var bad []string
	for _, k := range order {
		ks := keys[k]
		r := SetKeyResult{Key: k, Attempted: ks.attempted, Acknowledged: ks.acked, FinalRead: -1}
		if ks.read == nil {
			r.Verdict = Unknown
			r.Reason = "no successful read of the set, so nothing can be said about its adds"
		} else {
			r.FinalRead = ks.read.inv.Index
			elems, _ := history.Ints(ks.read.done.Value)
			r.ReadSize = len(elems)
			// Every ok read is judged (the final read on each node, and any
			// read during the run): none may miss an add acknowledged before
			// it began, hold an element nobody could have added, or hold one
			// twice. Recovered elements are those of the last read.
			lostSet, unexpectedSet, dupSet := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
			var badReads []int64
			var recovered []int64
			for _, rd := range ks.reads {
				elems, _ := history.Ints(rd.done.Value)
				seen := map[int64]int{}
				for _, e := range elems {
					seen[e]++
				}
				bad := false
				for e, n := range seen {
					if n > 1 {
						dupSet[e], bad = true, true
					}
					switch t, ok := ks.outcome[e]; {
					case !ok || t == history.Fail:
						unexpectedSet[e], bad = true, true
					case t == history.Info && rd == ks.read:
						recovered = append(recovered, e)
					}
				}
				for e, at := range ks.ackAt {
					if seen[e] == 0 && at < rd.inv.Time {
						lostSet[e], bad = true, true
					}
				}
				if bad {
					badReads = append(badReads, rd.inv.Index)
				}
			}
			lost, unexpected, dup := keysOf(lostSet), keysOf(unexpectedSet), keysOf(dupSet)
			r.Lost, r.LostCount = listed(lost)
			r.Unexpected, r.UnexpectedCount = listed(unexpected)
			r.Duplicated, r.DuplicatedCount = listed(dup)
			r.Recovered, r.RecoveredCount = listed(recovered)
			var why []string
			if r.LostCount > 0 {
				why = append(why, fmt.Sprintf("%d acknowledged adds lost (e.g. %v)", r.LostCount, r.Lost[:min(5, len(r.Lost))]))
			}
			if r.UnexpectedCount > 0 {
				why = append(why, fmt.Sprintf("%d elements read that no add could have put there (e.g. %v)", r.UnexpectedCount, r.Unexpected[:min(5, len(r.Unexpected))]))
			}
			if r.DuplicatedCount > 0 {
				why = append(why, fmt.Sprintf("%d elements read more than once (e.g. %v)", r.DuplicatedCount, r.Duplicated[:min(5, len(r.Duplicated))]))
			}
			r.Verdict = Valid
			if len(why) > 0 {
				r.Verdict = Invalid
				r.Reason = fmt.Sprintf("%d of %d reads wrong (first: op %d): %s", len(badReads), len(ks.reads), badReads[0], strings.Join(why, "; "))
			}
		}
		vs = append(vs, r.Verdict)
		if r.Verdict != Valid {
			bad = append(bad, fmt.Sprintf("key %q: %s", k, r.Reason))
		}
		res.Keys = append(res.Keys, r)
	}
	res.Verdict = Merge(vs...)
	switch {
	case len(order) == 0:
		res.Reason = "no client operations to check"
	case res.Verdict == Valid:
		res.Reason = fmt.Sprintf("all %d sets kept every acknowledged add and nothing else", len(order))
	default:
		if len(bad) > 3 {
			bad = append(bad[:3], fmt.Sprintf("and %d more", len(bad)-3))
		}
		res.Reason = strings.Join(bad, "; ")
	}
	return res, nil
}

func listed(xs []int64) ([]int64, int) {
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	if xs == nil {
		xs = []int64{}
	}
	return xs[:min(len(xs), MaxListed)], len(xs)
}

func keysOf(m map[int64]bool) []int64 {
	var out []int64
	for k := range m {
		out = append(out, k)
	}
	return out
}
