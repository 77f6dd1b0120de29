package linearizability

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/raftlab/raftlab/history"
)

// Explanation says why a key is not linearizable.
type Explanation struct {
	// Text is the violation in words.
	Text string `json:"text"`
	// OpIndices are the history indices of the invocations of the ops
	// involved: the op whose completion made the history unexplainable
	// first, then the ops that prove it (or the ops concurrent with it).
	OpIndices []int64 `json:"op_indices"`
	// Until is the time (ns) at which the smallest failing prefix ends: the
	// completion of the first op that no linearization can accommodate.
	Until int64 `json:"until"`
}

// prefix is the part of a key's history that had happened by time t: ops
// invoked at or before t; those completed by t keep their results, the rest
// are treated as crashed (reads dropped, writes and cas with unknown
// output). If the whole history is linearizable so is every prefix (take a
// linearization and move the ops still running at t, now crashed, to the
// end in the same order; every op invoked after t comes after every op
// completed by t), so the prefixes that fail form a suffix of time and the
// earliest failing one can be found by binary search.
func prefix(ops []regOp, t int64) []porcupine.Operation {
	var out []porcupine.Operation
	for i := range ops {
		o := ops[i]
		if o.call > t {
			continue
		}
		if o.ret > t {
			if o.kind == kRead {
				continue
			}
			o.crashed, o.ret = true, never
		}
		out = append(out, o.operation(i))
	}
	return out
}

// explain finds the earliest time t at which the key's history stops being
// linearizable and describes the op completing there.
func explain(ctx context.Context, kh *keyHistory, model porcupine.Model) *Explanation {
	var rets []int64
	for _, o := range kh.ops {
		if o.ret != never {
			rets = append(rets, o.ret)
		}
	}
	sort.Slice(rets, func(i, j int) bool { return rets[i] < rets[j] })
	// rets[hi] is known to fail (the last return: the whole history); search
	// the first failing one.
	lo, hi := 0, len(rets)-1
	exact := true
	for lo < hi {
		mid := (lo + hi) / 2
		switch runPorcupine(ctx, model, prefix(kh.ops, rets[mid])) {
		case porcupine.Illegal:
			hi = mid
		case porcupine.Ok:
			lo = mid + 1
		default:
			exact = false
			lo = hi // out of time: keep the smallest failing prefix found
		}
	}
	if len(rets) == 0 {
		return &Explanation{Text: "no linearization exists (no operation completed)"}
	}
	until := rets[hi]
	var culprits []*regOp
	for i := range kh.ops {
		if o := &kh.ops[i]; o.ret == until && !o.bounded {
			culprits = append(culprits, o)
		}
	}
	for _, c := range culprits {
		if e := explainOp(kh, c, until); e != nil {
			if !exact {
				e.Text += " (search for the earliest violation ran out of time; there may be an earlier one)"
			}
			return e
		}
	}
	// Generic: the ops concurrent with the culprit.
	e := &Explanation{Until: until}
	var c *regOp
	if len(culprits) > 0 {
		c = culprits[0]
		e.OpIndices = append(e.OpIndices, c.inv)
	}
	var conc []string
	for i := range kh.ops {
		o := &kh.ops[i]
		if c != nil && o != c && o.call <= c.ret && o.ret >= c.call && len(e.OpIndices) < 20 {
			e.OpIndices = append(e.OpIndices, o.inv)
			conc = append(conc, opText(o))
		}
	}
	if c != nil {
		e.Text = fmt.Sprintf("no order of the operations up to t=%s explains %s; operations concurrent with it: %s",
			secs(until), opText(c), strings.Join(conc, ", "))
	} else {
		e.Text = fmt.Sprintf("no order of the operations up to t=%s explains them", secs(until))
	}
	if len(conc) == 0 && c != nil {
		e.Text = fmt.Sprintf("no order of the operations up to t=%s explains %s", secs(until), opText(c))
	}
	if !exact {
		e.Text += " (search for the earliest violation ran out of time; there may be an earlier one)"
	}
	return e
}

// explainOp tries the classic register anomalies for the op c that
// completes the smallest failing prefix. It returns nil when none applies.
func explainOp(kh *keyHistory, c *regOp, until int64) *Explanation {
	v, observes := c.observes()
	what := ""
	switch {
	case c.kind == kRead && c.readNil:
		// Read nil although a write had certainly happened.
		for i := range kh.ops {
			x := &kh.ops[i]
			if _, w := x.writes(); w && !x.crashed && x.ret < c.call {
				return &Explanation{Until: until, OpIndices: []int64{c.inv, x.inv},
					Text: fmt.Sprintf("%s read nil (never written), but %s had completed before the read began",
						opText(c), opText(x))}
			}
		}
		return nil
	case !observes:
		return nil
	case c.kind == kRead:
		what = fmt.Sprintf("%s returned %d", opText(c), v)
	default:
		what = fmt.Sprintf("%s succeeded, so it saw %d", opText(c), v)
	}
	var writers []*regOp
	var failed []*regOp
	for i := range kh.all {
		x := &kh.all[i]
		if wv, ok := x.writes(); ok && wv == v {
			if kh.failed[i] {
				failed = append(failed, x)
			} else {
				writers = append(writers, x)
			}
		}
	}
	switch {
	case len(writers) == 0 && len(failed) == 0:
		return &Explanation{Until: until, OpIndices: []int64{c.inv},
			Text: fmt.Sprintf("%s, but no operation ever wrote %d", what, v)}
	case len(writers) == 0:
		return &Explanation{Until: until, OpIndices: []int64{c.inv, failed[0].inv},
			Text: fmt.Sprintf("%s, but the only write of %d, %s, failed (certainly not applied)", what, v, opText(failed[0]))}
	case len(writers) > 1:
		return nil // not a unique value: no simple story
	}
	w := writers[0]
	if w.call > c.ret {
		return &Explanation{Until: until, OpIndices: []int64{c.inv, w.inv},
			Text: fmt.Sprintf("%s, but the only write of %d, %s, began after that completed (a read from the future)", what, v, opText(w))}
	}
	if w.crashed {
		return nil
	}
	// Overwritten: x began after w completed and completed before c began.
	for i := range kh.ops {
		x := &kh.ops[i]
		xv, ok := x.writes()
		if !ok || x.crashed || xv == v || x == c {
			continue
		}
		if x.call > w.ret && x.ret < c.call {
			return &Explanation{Until: until, OpIndices: []int64{c.inv, w.inv, x.inv},
				Text: fmt.Sprintf("%s, but the only write of %d, %s, was overwritten by %s, which completed before it began (stale read)",
					what, v, opText(w), opText(x))}
		}
	}
	return nil
}

// opText describes an op with its index, process and time.
func opText(o *regOp) string {
	s := o.describe()
	if o.kind == kCAS && !o.crashed {
		if o.casOK {
			s += " (ok)"
		} else {
			s += " (compare failed)"
		}
	}
	t := fmt.Sprintf("t=%s", secs(o.call))
	if o.ret != never && !o.bounded {
		t += "–" + secs(o.ret)
	} else {
		t += ", crashed"
	}
	return fmt.Sprintf("%s (op %d, %s)", s, o.inv, t)
}

// secs formats nanoseconds as seconds with millisecond precision, or as a
// Duration below a millisecond.
func secs(ns int64) string {
	if ns < 1_000_000 && ns > -1_000_000 {
		return time.Duration(ns).String()
	}
	return fmt.Sprintf("%.3fs", float64(ns)/1e9)
}

const maxPrunedAnnotations = 100

// annotations are the nemesis's fault windows, and the crashed ops pruning
// removed, as Porcupine annotations.
func annotations(kh *keyHistory, faults []history.Window) []porcupine.Annotation {
	colors := map[string]string{"partition": "#f8d7da", "kill": "#fde2c4", "pause": "#d6e4f0", "clock": "#e2d9f3"}
	var out []porcupine.Annotation
	for _, w := range faults {
		bg := colors[w.Kind]
		if bg == "" {
			bg = "#e9ecef"
		}
		desc := w.Kind
		if w.Open {
			desc += " (not healed)"
		}
		out = append(out, porcupine.Annotation{Tag: "nemesis " + w.Kind, Start: w.Start, End: w.End,
			Description: desc, Details: w.Description, BackgroundColor: bg})
	}
	for i, o := range kh.prunedOps {
		if i == maxPrunedAnnotations {
			out = append(out, porcupine.Annotation{Tag: "pruned", Start: o.call,
				Description: fmt.Sprintf("… %d more", len(kh.prunedOps)-i)})
			break
		}
		out = append(out, porcupine.Annotation{Tag: "pruned", Start: o.call, Description: o.describe(),
			Details:         fmt.Sprintf("op %d crashed and nothing observed its value: dropped (rule P1)", o.inv),
			BackgroundColor: "#eeeeee"})
	}
	return out
}
