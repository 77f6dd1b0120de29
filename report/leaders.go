package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// LeaderSpan is a time during which a node believed it was the Raft leader,
// from its own log. Two spans may overlap: a paused or cut-off leader keeps
// believing while the others elect a new one.
type LeaderSpan struct {
	Node  string `json:"node"`
	Term  int64  `json:"term"`
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	// Open: the node still led when the history (or its log) ended.
	Open bool `json:"open,omitempty"`
}

// logLine is the part of a node's JSON log line we read. The node logs
// msg "leadership" with state (Leader, Follower, Candidate, Shutdown) on
// each state change; the supervisor logs "supervisor: raftnode pid N exited"
// when the process dies.
type logLine struct {
	Time  time.Time `json:"time"`
	Msg   string    `json:"msg"`
	State string    `json:"state"`
	Event string    `json:"event"`
	Term  int64     `json:"term"`
}

// HistoryStart finds, in controller.log, the wall-clock instant history
// times count from: the "history started" line (its "start" field, else its
// time), else the "workload starting" or "leader elected" line, which the lab
// logs within a millisecond of creating the history recorder. ok is false
// when none is found.
func HistoryStart(controllerLog []byte) (t time.Time, ok bool) {
	var fallback time.Time
	sc := bufio.NewScanner(bytes.NewReader(controllerLog))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l struct {
			logLine
			Start time.Time `json:"start"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		switch l.Msg {
		case "history started":
			if !l.Start.IsZero() {
				return l.Start, true
			}
			return l.Time, true
		case "workload starting", "leader elected":
			if fallback.IsZero() || l.Msg == "workload starting" {
				fallback = l.Time
			}
		}
	}
	return fallback, !fallback.IsZero()
}

// Leaders reads when each node led, from the node logs, as history times
// (nanoseconds since start). Spans are clipped to [0, end]; a span that began
// before the history is shown from 0.
func Leaders(logs map[string][]byte, start time.Time, end int64) []LeaderSpan {
	var out []LeaderSpan
	nodes := make([]string, 0, len(logs))
	for n := range logs {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, node := range nodes {
		cur := -1
		stop := func(t int64) {
			if cur >= 0 {
				out[cur].End, out[cur].Open = max(t, out[cur].Start), false
				cur = -1
			}
		}
		sc := bufio.NewScanner(bytes.NewReader(logs[node]))
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			b := sc.Bytes()
			if !bytes.Contains(b, []byte(`"leadership"`)) && !bytes.Contains(b, []byte("supervisor: raftnode")) {
				continue
			}
			var l logLine
			if json.Unmarshal(b, &l) != nil || l.Time.IsZero() {
				continue
			}
			t := min(max(l.Time.Sub(start).Nanoseconds(), 0), end)
			switch {
			case l.Msg == "leadership" && l.Event == "" && l.State == "Leader":
				if cur < 0 {
					cur = len(out)
					out = append(out, LeaderSpan{Node: node, Term: l.Term, Start: t, End: end, Open: true})
				}
			case l.Msg == "leadership" && l.Event == "" && l.State != "":
				stop(t)
			case strings.HasPrefix(l.Msg, "supervisor: raftnode") && strings.Contains(l.Msg, "exited"):
				stop(t)
			}
		}
	}
	// Drop spans wholly outside the history (clipped to a point at an edge).
	kept := out[:0]
	for _, s := range out {
		if s.End > s.Start || (s.Start > 0 && s.Start < end) {
			kept = append(kept, s)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Start < kept[j].Start })
	return kept
}
