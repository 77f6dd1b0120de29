package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raftlab/raftlab/history"
	"github.com/raftlab/raftlab/linearizability"
)

// Fixtures: two real runs of `labctl test` (3 nodes), copied from results/.
var (
	invalidRun = "testdata/results/stale-reads/20261125T224233.726+0000"              // --read-mode stale, partition:one,clock
	validRun   = "testdata/results/registers-partition-kill/20261125T224125.986+0000" // partition,kill
)

// copyDir copies a results folder into a temp dir (tests write report.html).
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(filepath.Dir(src)), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeReport(t testing.TB, dir string) string {
	t.Helper()
	if err := Write(dir); err != nil {
		t.Fatalf("Write(%s): %v", dir, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustContain(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("report lacks %q", w)
		}
	}
}

func TestReportInvalidRun(t *testing.T) {
	dir := copyDir(t, invalidRun)
	page := writeReport(t, dir)
	mustContain(t, page,
		`data-verdict="invalid"`, "<h1>Invalid</h1>", "not linearizable",
		"labctl test --nodes 3",              // the command line
		"Key “k0”: invalid", `href="#op-74"`, // the explanation links to the ops involved
		`{&#34;index&#34;:74,`,                                     // and quotes the raw history line
		`src="linearizability/key-k0.html"`, `href="nodes/n1.log"`, // visualisation and logs
		"partition one: n3 | n1 n2", "clock strobe", // fault windows named
	)
	for _, bad := range []string{"http://", "https://"} {
		// Self-contained: nothing to fetch (URLs inside the data are fine
		// only as text, and the fixture's history has none in links).
		if strings.Contains(page, `src="`+bad) || strings.Contains(page, `href="`+bad) {
			t.Errorf("report links to %s…: it must be self-contained", bad)
		}
	}
}

func TestReportValidRun(t *testing.T) {
	dir := copyDir(t, validRun)
	page := writeReport(t, dir)
	mustContain(t, page, `data-verdict="valid"`, "<h1>Valid</h1>", "it is linearizable", "kill all")
	if strings.Contains(page, `class="keydetail`) {
		t.Error("a valid run has no key explanations")
	}
}

func TestReportUnknownAndIncomplete(t *testing.T) {
	dir := copyDir(t, validRun)
	var res linearizability.Result
	b, _ := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	res.Verdict, res.Reason = linearizability.Unknown, "1 of 12 keys undecided: checker time limit"
	res.Keys[0].Verdict, res.Keys[0].Reason = linearizability.Unknown, "checker time limit"
	b, _ = json.Marshal(res)
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	page := writeReport(t, dir)
	mustContain(t, page, `data-verdict="unknown"`, "<h1>Unknown</h1>", "could not decide", "checker time limit")

	if err := os.Remove(filepath.Join(dir, ResultsFile)); err != nil {
		t.Fatal(err)
	}
	page = writeReport(t, dir)
	mustContain(t, page, `data-verdict="incomplete"`, "No verdict", "labctl check")
	s, err := Summarize(dir)
	if err != nil || s.Verdict != Incomplete || s.Name != "registers-partition-kill" || s.Workload != "registers" {
		t.Errorf("Summarize = %+v, %v; want an incomplete registers-partition-kill run", s, err)
	}
}

func TestWriteErrors(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("missing folder: %v", err)
	}
	if err := Write(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a results folder") {
		t.Errorf("empty folder: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, HistoryFile), []byte("{not json}\n{}\n"), 0o644)
	if err := Write(dir); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad history: %v", err)
	}
}

func nem(i, t int64, f string, v any) history.Op {
	return history.Op{Index: i, Time: t, Process: history.Nemesis, Type: history.Info, F: f, Value: v}
}

// The lab's nemesis records an action as two info records with the same f;
// windows must run from the first record of the fault to the completion of
// the heal, and heals that did nothing must not show up as faults.
func TestTimelinePairsInfoRecords(t *testing.T) {
	m := func(kv ...any) map[string]any {
		out := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	l := func(s ...string) []any {
		out := []any{}
		for _, x := range s {
			out = append(out, x)
		}
		return out
	}
	ops := []history.Op{
		nem(0, 100, "start-partition", m("shape", "one")),
		{Index: 1, Time: 150, Process: 0, Type: history.Invoke, F: "read", Key: "a"},
		nem(2, 200, "start-partition", m("shape", "one", "grudge", m("n1", l("n3"), "n2", l("n3"), "n3", l("n1", "n2")),
			"components", []any{l("n3"), l("n1", "n2")})),
		{Index: 3, Time: 250, Process: 0, Type: history.OK, F: "read", Key: "a"},
		nem(4, 300, "kill", m("target", "one")),
		nem(5, 310, "kill", m("target", "one", "nodes", l("n2"), "killed", l("n2"))),
		nem(6, 400, "stop-partition", nil),
		nem(7, 450, "stop-partition", m("healed", l("n1", "n2", "n3"))),
		nem(8, 500, "rate-clock", m("mode", "rate")),
		nem(9, 510, "rate-clock", m("mode", "rate", "nodes", l("n1"), "done", l("n1"), "rates", m("n1", 1.5))),
		nem(10, 600, "resume", m("nodes", nil)),
		nem(11, 601, "resume", m("resumed", l())),
		nem(12, 700, "start", m("nodes", l("n2"))),
		nem(13, 720, "start", m("started", l("n2"))),
	}
	acts := Actions(ops)
	if len(acts) != 6 {
		t.Fatalf("got %d actions, want 6: %+v", len(acts), acts)
	}
	if a := acts[0]; a.F != "start-partition" || a.Start != 100 || a.End != 200 || !a.Done {
		t.Errorf("first action = %+v", a)
	}
	segs := Timeline(acts, 800)
	ws := Windows(segs)
	want := []Window{
		{Kind: KindPartition, Start: 100, End: 450, Nodes: []string{"n1", "n2", "n3"}},
		{Kind: KindKill, Start: 300, End: 720, Nodes: []string{"n2"}},
		{Kind: KindClock, Start: 500, End: 800, Open: true, Nodes: []string{"n1"}},
	}
	if len(ws) != len(want) {
		t.Fatalf("windows = %+v, want %d", ws, len(want))
	}
	for i, w := range want {
		g := ws[i]
		if g.Kind != w.Kind || g.Start != w.Start || g.End != w.End || g.Open != w.Open || strings.Join(g.Nodes, " ") != strings.Join(w.Nodes, " ") {
			t.Errorf("window %d = %+v, want %+v", i, g, w)
		}
	}
	if !strings.Contains(ws[0].Label, "partition one: n3 | n1 n2") || !strings.Contains(ws[2].Label, "n1 clock ×1.5") {
		t.Errorf("labels: %q, %q", ws[0].Label, ws[2].Label)
	}
	for _, s := range segs {
		if s.Node == "n3" && s.Kind == KindPartition && s.Label != "cut off from n1 n2" {
			t.Errorf("n3's segment label %q", s.Label)
		}
	}
}

func TestLeadersFromLogs(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	ctl := []byte(`{"time":"2026-01-01T00:00:09Z","msg":"leader elected"}
{"time":"2026-01-01T00:00:10Z","msg":"workload starting"}
`)
	got, ok := HistoryStart(ctl)
	if !ok || !got.Equal(start) {
		t.Fatalf("HistoryStart = %v, %v; want %v", got, ok, start)
	}
	logs := map[string][]byte{
		"n1": []byte(`{"time":"2026-01-01T00:00:09Z","msg":"leadership","state":"Leader","term":2}
not json
{"time":"2026-01-01T00:00:12Z","msg":"supervisor: raftnode pid 10 exited (status 137)"}
`),
		"n2": []byte(`{"time":"2026-01-01T00:00:13Z","msg":"leadership","state":"Candidate","term":3}
{"time":"2026-01-01T00:00:13.5Z","msg":"leadership","state":"Leader","term":3}
{"time":"2026-01-01T00:00:13.6Z","msg":"leadership","event":"leader-changed","leader_id":"n2","state":"Leader"}
`),
	}
	spans := Leaders(logs, start, 10e9)
	want := []LeaderSpan{{Node: "n1", Term: 2, Start: 0, End: 2e9}, {Node: "n2", Term: 3, Start: 3.5e9, End: 10e9, Open: true}}
	if len(spans) != 2 || spans[0] != want[0] || spans[1] != want[1] {
		t.Errorf("Leaders = %+v, want %+v", spans, want)
	}
}

func TestRowsAndStats(t *testing.T) {
	ok := true
	ops := []history.Op{
		{Index: 0, Time: 0, Process: 0, Type: history.Invoke, F: "write", Key: "a", Value: int64(1)},
		{Index: 1, Time: 1e6, Process: 1, Type: history.Invoke, F: "cas", Key: "a", Value: []int64{1, 2}},
		{Index: 2, Time: 2e6, Process: 0, Type: history.OK, F: "write", Key: "a", Value: int64(1)},
		{Index: 3, Time: 5e6, Process: 1, Type: history.OK, F: "cas", Key: "a", Value: []int64{1, 2}, OK: &ok},
		{Index: 4, Time: 6e6, Process: 2, Type: history.Invoke, F: "read", Key: "a"},
		{Index: 5, Time: 7e6, Process: 2, Type: history.Info, F: "read", Key: "a", Error: "timeout"},
		{Index: 6, Time: 8e6, Process: 3, Type: history.Invoke, F: "read", Key: "a"},
	}
	rows := Rows(ops, nil)
	if len(rows) != 4 {
		t.Fatalf("rows = %+v", rows)
	}
	if r := rows[1]; r.Value != "1→2 ✓" || r.Latency != 4e6 || r.Comp != 3 || r.Outcome != outOK {
		t.Errorf("cas row = %+v", r)
	}
	if r := rows[2]; r.Outcome != outInfo || r.Error != "timeout" {
		t.Errorf("info row = %+v", r)
	}
	if r := rows[3]; r.Outcome != outOpen || r.Comp != -1 {
		t.Errorf("open row = %+v", r)
	}
	q := LatencyQuantiles(rows, 8e6)
	if v := q.Q["1"][0]; v == nil || *v != 4e6 {
		t.Errorf("max latency of the first window = %v, want 4ms", v)
	}
	tp := Throughput(rows, 8e6)
	if tp.OK[0] != 2*1e9/float64(tp.Width) || tp.Info[0] == 0 {
		t.Errorf("throughput = %+v", tp)
	}
}
