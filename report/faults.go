package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/raftlab/raftlab/history"
)

// Action is one nemesis action: the record that began it and the record that
// completed it. The lab's nemesis writes both as info records with the same
// F (as Jepsen does); an invoke record followed by a completion works too.
type Action struct {
	F string `json:"f"`
	// Start is the time of the first record, End of the completion (Start
	// when the action never completed).
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// StartIndex and EndIndex are the op indices of the two records.
	StartIndex int64 `json:"start_index"`
	EndIndex   int64 `json:"end_index"`
	// In is the value of the first record, Out of the completion.
	In  any `json:"-"`
	Out any `json:"-"`
	// Error of the completion, if any.
	Error string `json:"error,omitempty"`
	// Done is false when no completion was recorded.
	Done bool `json:"done"`
	// Text describes what the action did, for people.
	Text string `json:"text"`
}

// Actions pairs the nemesis records of a history into actions. The nemesis
// performs one action at a time, so a record completes the pending action
// when it has the same F and is not an invocation; otherwise it begins a new
// action (and a pending one is left without completion).
func Actions(ops []history.Op) []Action {
	var out []Action
	pending := -1
	for _, op := range ops {
		if !op.IsNemesis() {
			continue
		}
		if pending >= 0 && op.Type != history.Invoke && out[pending].F == op.F {
			a := &out[pending]
			a.End, a.EndIndex, a.Out, a.Error, a.Done = op.Time, op.Index, op.Value, op.Error, true
			a.Text = describeAction(*a)
			pending = -1
			continue
		}
		out = append(out, Action{F: op.F, Start: op.Time, End: op.Time, StartIndex: op.Index,
			EndIndex: op.Index, In: op.Value, Out: op.Value, Error: op.Error})
		pending = len(out) - 1
		out[pending].Text = describeAction(out[pending])
	}
	return out
}

// Fault kinds, as Jepsen colours them.
const (
	KindPartition = "partition"
	KindKill      = "kill"
	KindPause     = "pause"
	KindClock     = "clock"
)

// Segment is a span of time during which one node suffered one fault: cut
// off by a partition, killed, paused or with a skewed clock.
type Segment struct {
	Node  string `json:"node"`
	Kind  string `json:"kind"`
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	// Open is true when nothing ended the fault before the history did.
	Open bool `json:"open,omitempty"`
	// Label says how the node was affected ("cut off from n1 n2", "clock
	// +120 ms").
	Label string `json:"label"`
	// Cause is the text of the action that began the fault.
	Cause string `json:"cause"`
}

// Window is a span during which a fault of one kind was in force on at
// least one node, named after the actions that began it.
type Window struct {
	Kind  string   `json:"kind"`
	Label string   `json:"label"`
	Start int64    `json:"start"`
	End   int64    `json:"end"`
	Open  bool     `json:"open,omitempty"`
	Nodes []string `json:"nodes"`
}

// Timeline follows the nemesis actions node by node: a segment from the
// start of the action that hurt a node to the completion of the action that
// healed it (faults may be in force during both actions). Faults still in
// force at the end of the history run to end. Restarting a killed node also
// ends its clock fault (a fresh process starts on a true clock).
func Timeline(actions []Action, end int64) []Segment {
	var out []Segment
	open := map[[2]string]int{} // (node, kind) -> index in out
	begin := func(a Action, kind, node, label string) {
		if i, ok := open[[2]string{node, kind}]; ok {
			if label != "" && !strings.Contains(out[i].Label, label) {
				out[i].Label += "; " + label
			}
			return
		}
		open[[2]string{node, kind}] = len(out)
		out = append(out, Segment{Node: node, Kind: kind, Start: a.Start, End: end, Open: true, Label: label, Cause: a.Text})
	}
	finish := func(a Action, kind string, nodes []string, all bool) {
		for k, i := range open {
			if k[1] != kind || (!all && !contains(nodes, k[0])) {
				continue
			}
			out[i].End, out[i].Open = max(a.End, out[i].Start), false
			delete(open, k)
		}
	}
	for _, a := range actions {
		out0 := asMap(a.Out)
		switch kind, start := actionKind(a.F); {
		case kind == KindPartition && start:
			for node, from := range grudge(out0["grudge"]) {
				if len(from) > 0 {
					begin(a, KindPartition, node, "cut off from "+strings.Join(from, " "))
				}
			}
		case kind == KindPartition:
			healed, ok := strs(out0["healed"])
			finish(a, KindPartition, healed, !ok)
		case kind == KindKill && start:
			for _, n := range firstStrs(out0, "killed", "nodes") {
				begin(a, KindKill, n, "killed")
			}
		case kind == KindKill:
			started := firstStrs(out0, "started")
			finish(a, KindKill, started, false)
			finish(a, KindClock, started, false)
		case kind == KindPause && start:
			for _, n := range firstStrs(out0, "paused", "nodes") {
				begin(a, KindPause, n, "paused")
			}
		case kind == KindPause:
			finish(a, KindPause, firstStrs(out0, "resumed"), false)
		case kind == KindClock && start:
			for _, n := range firstStrs(out0, "done", "nodes") {
				begin(a, KindClock, n, clockLabel(a.F, out0, n))
			}
		case kind == KindClock:
			finish(a, KindClock, firstStrs(out0, "reset"), false)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Start != out[j].Start {
			return out[i].Start < out[j].Start
		}
		return out[i].Node < out[j].Node
	})
	return out
}

// Windows merges overlapping segments of the same kind into fault windows.
func Windows(segs []Segment) []Window {
	byKind := map[string][]Segment{}
	for _, s := range segs {
		byKind[s.Kind] = append(byKind[s.Kind], s)
	}
	var out []Window
	for kind, ss := range byKind {
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].Start < ss[j].Start })
		var w *Window
		var causes []string
		flush := func() {
			if w != nil {
				sort.Strings(w.Nodes)
				w.Label = strings.Join(causes, "; ")
				out = append(out, *w)
			}
		}
		for _, s := range ss {
			if w == nil || s.Start > w.End {
				flush()
				w = &Window{Kind: kind, Start: s.Start, End: s.End, Open: s.Open}
				causes = nil
			}
			w.End = max(w.End, s.End)
			w.Open = w.Open || s.Open
			if !contains(w.Nodes, s.Node) {
				w.Nodes = append(w.Nodes, s.Node)
			}
			if !contains(causes, s.Cause) {
				causes = append(causes, s.Cause)
			}
		}
		flush()
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Start != out[j].Start {
			return out[i].Start < out[j].Start
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// actionKind maps a nemesis F to its fault kind and whether it begins the
// fault (else it ends it). Unknown Fs have kind "".
func actionKind(f string) (kind string, start bool) {
	switch {
	case f == "start-partition":
		return KindPartition, true
	case f == "stop-partition":
		return KindPartition, false
	case f == "kill":
		return KindKill, true
	case f == "start":
		return KindKill, false
	case f == "pause":
		return KindPause, true
	case f == "resume":
		return KindPause, false
	case f == "reset-clock":
		return KindClock, false
	case strings.HasSuffix(f, "-clock"):
		return KindClock, true
	}
	return "", false
}

// describeAction says what an action did in a few words, e.g. "kill minority:
// n2 n3", "partition one: n3 | n1 n2", "heal partition: n1 n2 n3".
func describeAction(a Action) string {
	in, out := asMap(a.In), asMap(a.Out)
	var s string
	switch a.F {
	case "start-partition":
		s = strings.TrimSpace("partition " + str(firstNonNil(out["shape"], in["shape"])))
		if comps, ok := out["components"].([]any); ok {
			var parts []string
			for _, c := range comps {
				cs, _ := strs(c)
				parts = append(parts, strings.Join(cs, " "))
			}
			s += ": " + strings.Join(parts, " | ")
		} else if g := grudge(out["grudge"]); len(g) > 0 {
			s += ": " + grudgeText(g)
		}
		if b := str(out["bridge"]); b != "" {
			s += " (bridge " + b + ")"
		}
	case "stop-partition":
		s = "heal partition"
		if n := firstStrs(out, "healed"); len(n) > 0 {
			s += ": " + strings.Join(n, " ")
		}
	case "kill", "pause":
		s = strings.TrimSpace(a.F + " " + str(firstNonNil(out["target"], in["target"])))
		if n := firstStrs(out, "killed", "paused", "nodes"); len(n) > 0 {
			s += ": " + strings.Join(n, " ")
		}
	case "start", "resume":
		verb := map[string]string{"start": "restart", "resume": "resume"}[a.F]
		n := firstStrs(out, "started", "resumed")
		if len(n) == 0 {
			s = verb + ": no node needed it"
		} else {
			s = verb + " " + strings.Join(n, " ")
		}
	case "reset-clock":
		s = "reset clocks"
		if n := firstStrs(out, "reset"); len(n) > 0 {
			s += ": " + strings.Join(n, " ")
		}
	default:
		if kind, _ := actionKind(a.F); kind == KindClock {
			s = "clock " + strings.TrimSuffix(a.F, "-clock")
			var parts []string
			for _, n := range firstStrs(out, "done", "nodes") {
				parts = append(parts, n+" "+clockLabel(a.F, out, n))
			}
			if len(parts) > 0 {
				s += ": " + strings.Join(parts, ", ")
			}
		} else {
			s = a.F
			if v := firstNonNil(a.Out, a.In); v != nil {
				s += " " + compact(v)
			}
		}
	}
	if !a.Done {
		s += " (no completion recorded)"
	}
	if a.Error != "" {
		s += " — error: " + a.Error
	}
	return s
}

// clockLabel describes one node's clock fault.
func clockLabel(f string, out map[string]any, node string) string {
	switch f {
	case "bump-clock":
		if v, ok := history.Int(asMap(out["jumps_ms"])[node]); ok {
			return fmt.Sprintf("clock %+d ms", v)
		}
	case "rate-clock":
		if r, ok := asMap(out["rates"])[node]; ok {
			return fmt.Sprintf("clock ×%v", r)
		}
	case "strobe-clock":
		if d, ok := history.Int(out["delta_ms"]); ok {
			return fmt.Sprintf("clock strobing ±%d ms", d)
		}
	}
	return "clock " + strings.TrimSuffix(f, "-clock")
}

func grudge(v any) map[string][]string {
	out := map[string][]string{}
	for k, x := range asMap(v) {
		out[k], _ = strs(x)
	}
	return out
}

func grudgeText(g map[string][]string) string {
	var ks []string
	for k := range g {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		if len(g[k]) > 0 {
			parts = append(parts, k+"✕"+strings.Join(g[k], ","))
		}
	}
	return strings.Join(parts, " ")
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

// strs reads a list of strings; ok is false when v is not a list.
func strs(v any) ([]string, bool) {
	l, ok := v.([]any)
	if !ok {
		if ss, ok := v.([]string); ok {
			return ss, true
		}
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, str(x))
	}
	return out, true
}

// firstStrs is the first of the keys of m that holds a list.
func firstStrs(m map[string]any, keys ...string) []string {
	for _, k := range keys {
		if l, ok := strs(m[k]); ok {
			return l
		}
	}
	return nil
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func firstNonNil(vs ...any) any {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
