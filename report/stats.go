package report

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/raftlab/raftlab/history"
)

// Outcome codes of a row in the page data.
const (
	outOK   = 0
	outInfo = 1
	outFail = 2
	outOpen = 3 // invoked, never completed
	outNem  = 4 // a nemesis action
)

// Row is one operation: an invocation and its completion (or a nemesis
// action), as the history table shows it.
type Row struct {
	Inv, Comp int64 // op indices; Comp is -1 when never completed
	Process   history.Process
	F, Key    string
	Outcome   int
	Start     int64 // invocation time, ns
	Latency   int64 // ns; to the end of the history when never completed
	Value     string
	Node      string
	Error     string
}

// Rows pairs invocations with completions, process by process, and adds one
// row per nemesis action. Rows are in invocation order.
func Rows(ops []history.Op, actions []Action) []Row {
	var end int64
	for _, op := range ops {
		end = max(end, op.Time)
	}
	rows := make([]Row, 0, len(ops)/2+len(actions))
	pending := map[history.Process]int{}
	for _, op := range ops {
		if op.IsNemesis() {
			continue
		}
		if op.Type == history.Invoke {
			pending[op.Process] = len(rows)
			rows = append(rows, Row{Inv: op.Index, Comp: -1, Process: op.Process, F: op.F, Key: op.Key,
				Outcome: outOpen, Start: op.Time, Latency: end - op.Time, Value: invokeValue(op), Node: op.Node})
			continue
		}
		i, ok := pending[op.Process]
		if !ok { // a completion without invocation: show it alone
			rows = append(rows, Row{Inv: op.Index, Comp: op.Index, Process: op.Process, F: op.F, Key: op.Key,
				Outcome: outcomeCode(op.Type), Start: op.Time, Value: compact(op.Value), Node: op.Node, Error: op.Error})
			continue
		}
		delete(pending, op.Process)
		r := &rows[i]
		r.Comp, r.Outcome, r.Latency, r.Error = op.Index, outcomeCode(op.Type), op.Time-r.Start, op.Error
		if op.Node != "" {
			r.Node = op.Node
		}
		r.Value = resultValue(r.F, r.Value, op)
	}
	for _, a := range actions {
		rows = append(rows, Row{Inv: a.StartIndex, Comp: a.EndIndex, Process: history.Nemesis, F: a.F,
			Outcome: outNem, Start: a.Start, Latency: a.End - a.Start, Value: a.Text, Error: a.Error})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Inv < rows[j].Inv })
	return rows
}

func outcomeCode(t history.Type) int {
	switch t {
	case history.OK:
		return outOK
	case history.Fail:
		return outFail
	}
	return outInfo
}

func invokeValue(op history.Op) string {
	if op.Value == nil {
		return ""
	}
	if op.F == history.FCAS {
		if v, ok := history.Ints(op.Value); ok && len(v) == 2 {
			return fmt.Sprintf("%d→%d", v[0], v[1])
		}
	}
	return compact(op.Value)
}

// resultValue shows what an op did: "5" for a write, "read → 7", "1→2 ✓".
func resultValue(f, inv string, op history.Op) string {
	switch {
	case f == history.FRead && op.Type == history.OK:
		if op.Value == nil {
			return "nil"
		}
		return compact(op.Value)
	case f == history.FCAS && op.OK != nil:
		if *op.OK {
			return inv + " ✓"
		}
		return inv + " ✗ (compare failed)"
	}
	return inv
}

// compact is v as short JSON.
func compact(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Rates is throughput over time: completions per second in buckets of
// Width, by outcome.
type Rates struct {
	Width int64 `json:"width"` // ns
	// OK, Info and Fail hold ops per second per bucket; bucket i covers
	// [i*Width, (i+1)*Width).
	OK   []float64 `json:"ok"`
	Info []float64 `json:"info"`
	Fail []float64 `json:"fail"`
}

// Throughput buckets client completions by completion time.
func Throughput(rows []Row, end int64) Rates {
	r := Rates{Width: niceWidth(end, 60, 250e6)}
	n := int(end/r.Width) + 1
	r.OK, r.Info, r.Fail = make([]float64, n), make([]float64, n), make([]float64, n)
	per := 1e9 / float64(r.Width)
	for _, row := range rows {
		if row.Outcome > outFail {
			continue
		}
		b := int((row.Start + row.Latency) / r.Width)
		if b < 0 || b >= n {
			continue
		}
		switch row.Outcome {
		case outOK:
			r.OK[b] += per
		case outInfo:
			r.Info[b] += per
		case outFail:
			r.Fail[b] += per
		}
	}
	return r
}

// Quantiles are latency quantiles of ok ops over windows of Width, by
// invocation time. A window without ops has NaN, written as null.
type Quantiles struct {
	Width int64 `json:"width"`
	// Q maps a quantile name ("0.5", "0.95", "0.99", "1") to one latency
	// (ns) per window.
	Q map[string][]*float64 `json:"q"`
}

// LatencyQuantiles computes the quantile lines of the latency plot.
func LatencyQuantiles(rows []Row, end int64) Quantiles {
	q := Quantiles{Width: niceWidth(end, 30, 500e6), Q: map[string][]*float64{}}
	n := int(end/q.Width) + 1
	buckets := make([][]int64, n)
	for _, r := range rows {
		if r.Outcome != outOK {
			continue
		}
		if b := int(r.Start / q.Width); b >= 0 && b < n {
			buckets[b] = append(buckets[b], r.Latency)
		}
	}
	names := []string{"0.5", "0.95", "0.99", "1"}
	ps := []float64{0.5, 0.95, 0.99, 1}
	for _, name := range names {
		q.Q[name] = make([]*float64, n)
	}
	for i, b := range buckets {
		if len(b) == 0 {
			continue
		}
		sort.Slice(b, func(x, y int) bool { return b[x] < b[y] })
		for k, p := range ps {
			idx := int(math.Ceil(p*float64(len(b)))) - 1
			v := float64(b[max(idx, 0)])
			q.Q[names[k]][i] = &v
		}
	}
	return q
}

// niceWidth picks a bucket width giving about n buckets over end, at least
// floor, from 1-2-5 steps.
func niceWidth(end int64, n int, floor int64) int64 {
	want := max(end/int64(n), floor)
	for _, w := range []int64{100e6, 250e6, 500e6, 1e9, 2e9, 5e9, 10e9, 15e9, 30e9, 60e9, 120e9, 300e9, 600e9} {
		if w >= want {
			return w
		}
	}
	return 600e9
}
