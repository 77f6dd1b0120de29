package report

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/raftlab/raftlab/history"
	"github.com/raftlab/raftlab/linearizability"
	"github.com/raftlab/raftlab/report/browsertest"
)

// bigRun writes a synthetic results folder of n client ops (2n records) by
// 10 processes on 100 keys over about n/333 seconds, with a partition, a kill
// and a clock fault every 30 s, and a valid results.json.
func bigRun(tb testing.TB, n int) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "big", "20260101T000000.000+0000")
	if err := os.MkdirAll(filepath.Join(dir, "nodes"), 0o755); err != nil {
		tb.Fatal(err)
	}
	w, err := history.NewWriter(filepath.Join(dir, HistoryFile))
	if err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var idx int64
	rec := func(op history.Op) {
		op.Index = idx
		idx++
		if err := w.Write(op); err != nil {
			tb.Fatal(err)
		}
	}
	const procs = 10
	t := int64(0)
	step := int64(3e6) // 333 ops/s
	nextProc := procs
	proc := make([]int, procs)
	for i := range proc {
		proc[i] = i
	}
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	for i := 0; i < n; i++ {
		if i%10000 == 0 && i > 0 {
			kinds := [][2]string{{"start-partition", "stop-partition"}, {"kill", "start"}, {"bump-clock", "reset-clock"}}
			k := kinds[(i/10000)%3]
			on := map[string]any{"grudge": map[string]any{"n1": []any{"n2", "n3"}, "n2": []any{"n1"}, "n3": []any{"n1"}},
				"killed": []any{"n2"}, "done": []any{"n4"}, "jumps_ms": map[string]any{"n4": int64(250)}}
			rec(history.Op{Process: history.Nemesis, Type: history.Info, F: k[0], Time: t})
			rec(history.Op{Process: history.Nemesis, Type: history.Info, F: k[0], Value: on, Time: t + 5e6})
			off := map[string]any{"healed": []any{"n1", "n2", "n3"}, "started": []any{"n2"}, "reset": []any{"n4"}}
			rec(history.Op{Process: history.Nemesis, Type: history.Info, F: k[1], Time: t + 15e9})
			rec(history.Op{Process: history.Nemesis, Type: history.Info, F: k[1], Value: off, Time: t + 15e9 + 5e6})
		}
		p := i % procs
		key := "k" + strconv.Itoa(r.IntN(100))
		f := []string{"read", "write", "cas"}[r.IntN(3)]
		var inv any
		switch f {
		case "write":
			inv = int64(i)
		case "cas":
			inv = []int64{int64(r.IntN(100)), int64(i)}
		}
		node := nodes[p%len(nodes)]
		rec(history.Op{Process: history.Process(proc[p]), Type: history.Invoke, F: f, Key: key, Value: inv, Time: t, Node: node})
		lat := int64(r.ExpFloat64()*2e6) + 3e5
		done := history.Op{Process: history.Process(proc[p]), Type: history.OK, F: f, Key: key, Value: inv, Time: t + lat, Node: node}
		switch x := r.IntN(100); {
		case x < 2:
			done.Type, done.Error, done.Time = history.Info, "timeout", t+1e9
			proc[p] = nextProc
			nextProc++
		case x < 5:
			done.Type, done.Error = history.Fail, "no leader"
		}
		if f == "read" && done.Type == history.OK {
			done.Value = int64(r.IntN(n))
		}
		if f == "cas" && done.Type == history.OK {
			ok := r.IntN(2) == 0
			done.OK = &ok
		}
		rec(done)
		t += step
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	res := linearizability.Result{Verdict: linearizability.Valid, Reason: "all 100 keys linearizable", Model: "registers"}
	for k := 0; k < 100; k++ {
		res.Keys = append(res.Keys, linearizability.KeyResult{Key: "k" + strconv.Itoa(k), Verdict: linearizability.Valid, Ops: n / 100})
	}
	b, _ := json.Marshal(res)
	os.WriteFile(filepath.Join(dir, ResultsFile), b, 0o644)
	spec := Spec{Name: "big", Workload: "registers", Nemesis: []string{"partition", "kill", "clock"}, Nodes: 5, Concurrency: procs, Command: "synthetic"}
	b, _ = json.Marshal(spec)
	os.WriteFile(filepath.Join(dir, SpecFile), b, 0o644)
	return dir
}

// BenchmarkWrite100k measures generating the report of a 100,000-op run.
func BenchmarkWrite100k(b *testing.B) {
	dir := bigRun(b, 100_000)
	b.ResetTimer()
	for range b.N {
		if err := Write(dir); err != nil {
			b.Fatal(err)
		}
	}
	st, _ := os.Stat(filepath.Join(dir, ReportFile))
	b.ReportMetric(float64(st.Size())/1e6, "MB")
}

// BenchmarkBrowserRender100k measures how long Chromium takes to show the
// report of a 100,000-op run: from navigation start to the first frame drawn
// after the charts and the history table are built (ms/render), and the
// wall time of the whole navigation as seen from Go (ms/wall).
//
//	go test -run '^$' -bench BrowserRender100k ./report/
func BenchmarkBrowserRender100k(b *testing.B) {
	dir := bigRun(b, 100_000)
	if err := Write(dir); err != nil {
		b.Fatal(err)
	}
	br := browsertest.New(b)
	url := fileURL(filepath.Join(dir, ReportFile))
	var render, wall float64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		br.Do("open", chromedp.Navigate("about:blank"))
		br.Do("open", chromedp.Navigate(url))
		br.WaitFor(`document.documentElement.dataset.painted`, 30*time.Second)
		wall += float64(time.Since(start).Milliseconds())
		v, _ := strconv.ParseFloat(browsertest.Eval[string](br, `document.documentElement.dataset.painted`), 64)
		render += v
	}
	b.StopTimer()
	b.ReportMetric(render/float64(b.N), "ms/render")
	b.ReportMetric(wall/float64(b.N), "ms/wall")
	b.ReportMetric(0, "ns/op")
	if n := browsertest.Eval[int](br, `Number(document.getElementById('chart').dataset.points)`); n != 100_000 {
		b.Errorf("drew %d points, want 100000", n)
	}
	br.Screenshot("report-100k")
	br.NoErrors()
	fmt.Fprint(os.Stderr)
}
