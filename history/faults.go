package history

import (
	"fmt"
	"strings"
)

// Edge says whether a nemesis op begins a fault, ends one, or neither.
type Edge int

const (
	// Instant is a nemesis op that neither begins nor ends a fault window.
	Instant Edge = iota
	// Begin starts a fault window.
	Begin
	// End closes the open window of the same kind.
	End
)

// FaultEdge maps a nemesis op's F to the kind of fault it concerns and whether
// it begins or ends a window. The mapping, in order:
//
//	"start" (exactly)             -> ("kill", End)      Jepsen restarts killed nodes with :start
//	"start-X" / "stop-X"          -> (X, Begin) / (X, End)   e.g. start-partition, stop-partition
//	"kill..." / "start"           -> ("kill", Begin) / ("kill", End)
//	"pause..." / "resume..."      -> ("pause", Begin) / ("pause", End)
//	"bump..." / "strobe..." / "rate..." -> ("clock", Begin)   bump-clock, strobe-clock, rate-clock
//	"reset..."                    -> ("clock", End)     reset-clock
//	anything else                 -> (f, Instant)
func FaultEdge(f string) (kind string, edge Edge) {
	switch {
	case f == "start":
		return "kill", End
	case strings.HasPrefix(f, "start-"):
		return strings.TrimPrefix(f, "start-"), Begin
	case strings.HasPrefix(f, "stop-"):
		return strings.TrimPrefix(f, "stop-"), End
	case strings.HasPrefix(f, "kill"):
		return "kill", Begin
	case strings.HasPrefix(f, "pause"):
		return "pause", Begin
	case strings.HasPrefix(f, "resume"):
		return "pause", End
	case strings.HasPrefix(f, "bump"), strings.HasPrefix(f, "strobe"), strings.HasPrefix(f, "rate"):
		return "clock", Begin
	case strings.HasPrefix(f, "reset"):
		return "clock", End
	}
	return f, Instant
}

// Window is a span of the history during which a fault may have been in
// force, or (Start == End, Edge Instant) a one-off nemesis action.
type Window struct {
	// Kind is the fault: "partition", "kill", "pause", "clock", or the F of
	// an instant action.
	Kind string `json:"kind"`
	// Start is the time of the first record of the op that began the fault
	// (its invocation when recorded), End the time of the last record of the
	// op that ended it, so the window covers every moment the fault may have
	// been in force. An unclosed window ends at the last op of the history.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Open is true when no op ended the window.
	Open bool `json:"open,omitempty"`
	// Instant is true for nemesis actions that neither begin nor end a fault.
	Instant bool `json:"instant,omitempty"`
	// StartIndex and EndIndex are the op indices of the first record of the
	// beginning op and the last record of the ending op.
	StartIndex int64 `json:"start_index"`
	EndIndex   int64 `json:"end_index"`
	// Description says what was done: the F and value of each nemesis op in
	// the window, joined by "; ".
	Description string `json:"description"`
}

// FaultWindows pairs the nemesis ops of a history into fault windows, using
// FaultEdge. An invocation (type invoke, or info as Jepsen and our nemesis
// record it) and the following info record of the same F count as one
// action spanning both times. A second Begin of a kind
// already open (two kills in a row) extends the open window; an End with no
// open window becomes an instant. Windows are ordered by Start.
func FaultWindows(ops []Op) []Window {
	var out []Window
	open := map[string]int{} // kind -> index in out
	var last, lastIndex int64
	for _, op := range ops {
		last = max(last, op.Time)
		lastIndex = max(lastIndex, op.Index)
	}
	for i := 0; i < len(ops); i++ {
		op := ops[i]
		if !op.IsNemesis() {
			continue
		}
		// An action: this record, plus the next nemesis record when it
		// completes this invocation.
		// Jepsen (and our nemesis) record both halves of an action as info,
		// so an info record followed by an info record of the same F is one
		// action too.
		first, lastRec := op, op
		if op.Type == Invoke || op.Type == Info {
			for j := i + 1; j < len(ops); j++ {
				if ops[j].IsNemesis() {
					if ops[j].Type != Invoke && ops[j].F == op.F {
						lastRec = ops[j]
						i = j
					}
					break
				}
			}
		}
		desc := describeNemesis(first, lastRec)
		kind, edge := FaultEdge(op.F)
		switch edge {
		case Begin:
			if k, ok := open[kind]; ok {
				out[k].Description += "; " + desc
				continue
			}
			open[kind] = len(out)
			out = append(out, Window{Kind: kind, Start: first.Time, End: last, Open: true,
				StartIndex: first.Index, EndIndex: lastIndex, Description: desc})
		case End:
			if k, ok := open[kind]; ok {
				w := &out[k]
				w.End, w.EndIndex, w.Open = lastRec.Time, lastRec.Index, false
				w.Description += "; " + desc
				delete(open, kind)
				continue
			}
			fallthrough
		default:
			out = append(out, Window{Kind: kind, Start: first.Time, End: lastRec.Time, Instant: true,
				StartIndex: first.Index, EndIndex: lastRec.Index, Description: desc})
		}
	}
	// Already ordered by Start: windows are created in history order.
	return out
}

func describeNemesis(inv, done Op) string {
	v := done.Value
	if v == nil {
		v = inv.Value
	}
	s := inv.F
	if v != nil {
		s += " " + fmt.Sprint(v)
	}
	if done.Error != "" {
		s += " (error: " + done.Error + ")"
	}
	return s
}
