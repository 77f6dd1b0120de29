package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/raftlab/raftlab/linearizability"
)

//go:embed assets/report.css
var reportCSS string

//go:embed assets/report.js
var reportJS string

//go:embed assets/report.html.tmpl
var reportTmpl string

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"secs": secs, "dur": durText, "title": title, "sub": func(a, b int64) int64 { return a - b },
	"faultColor": func(kind string) string { return faultColors[kind] },
}).Parse(reportTmpl))

// Jepsen's colours: fault kinds (the nemesis overlay) and op outcomes.
var faultColors = map[string]string{KindKill: "#E9A4A0", KindPause: "#A0B1E9", KindPartition: "#E9DCA0", KindClock: "#A0E9E3"}

// Limits that keep the page small and quick for runs with many keys.
const (
	maxKeyRows     = 500 // rows in the per-key table (all non-valid keys are always listed)
	maxKeyDetails  = 20  // invalid or unknown keys explained in full
	maxEmbeddedVis = 5   // Porcupine visualisations embedded (others are linked)
	maxOpsExplain  = 12  // ops listed per explanation
)

// Write generates dir/report.html from the results folder dir. It needs
// history.jsonl; spec.json, run.json, results.json and the logs are used
// when present. The page is written atomically.
func Write(dir string) error {
	var buf bytes.Buffer
	if err := Render(&buf, dir); err != nil {
		return err
	}
	tmp := filepath.Join(dir, ReportFile+".tmp")
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ReportFile)); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// Render writes the report of the results folder dir to w. Links in the
// page (visualisations, logs) are relative to dir.
func Render(w io.Writer, dir string) error {
	r, err := Load(dir)
	if err != nil {
		return err
	}
	p, err := build(r)
	if err != nil {
		return err
	}
	return pageTmpl.Execute(w, p)
}

// page is what the template shows.
type page struct {
	Name, Started, RunID   string
	Verdict, Why, Meaning  string
	Summary                []kv
	SpecJSON               string
	Model                  string
	Keys                   []linearizability.KeyResult
	BadKeys                []linearizability.KeyResult
	KeysHidden             int
	Details                []keyDetail
	Set                    *linearizability.SetResult
	Windows                []Window
	Actions                []Action
	Leaders                []LeaderSpan
	LeaderNote             string
	Files                  []fileLink
	Data                   template.JS
	CSS                    template.CSS
	JS                     template.JS
	OpCount, NemesisCount  int
	Interrupted, LabFailed string
}

type kv struct{ K, V string }

type fileLink struct{ Path, Note string }

type keyDetail struct {
	linearizability.KeyResult
	Ops   []explainedOp
	Embed bool
	More  int
}

type explainedOp struct {
	Index int64
	Text  string
	Raw   []string
}

// pageData is embedded in the page as JSON for the charts and the history
// table. Times are milliseconds since the start of the history.
type pageData struct {
	End       float64         `json:"end"`
	Nodes     []string        `json:"nodes"`
	Rows      rowColumns      `json:"rows"`
	Dict      dicts           `json:"dict"`
	Rates     chartRates      `json:"rates"`
	Quantiles chartQuantiles  `json:"quantiles"`
	Windows   []Window        `json:"windows"`
	Segments  []Segment       `json:"segments"`
	Leaders   []LeaderSpan    `json:"leaders"`
	Actions   []chartAction   `json:"actions"`
	Colors    map[string]any  `json:"colors"`
	Invalid   map[string]bool `json:"invalid"`
}

type rowColumns struct {
	T []float64 `json:"t"` // invocation, ms
	L []float64 `json:"l"` // latency, ms
	O []int     `json:"o"` // outcome code
	P []int     `json:"p"` // process, -1 nemesis
	F []int     `json:"f"` // index in dict.f
	K []int     `json:"k"` // index in dict.k, -1 none
	I []int64   `json:"i"` // invocation index
	C []int64   `json:"c"` // completion index, -1 none
	V []string  `json:"v"`
	N []int     `json:"n"` // index in dict.n, -1 none
	E []int     `json:"e"` // index in dict.e, -1 none
}

type dicts struct {
	F []string `json:"f"`
	K []string `json:"k"`
	N []string `json:"n"`
	E []string `json:"e"`
}

type chartRates struct {
	Width float64   `json:"width"`
	OK    []float64 `json:"ok"`
	Info  []float64 `json:"info"`
	Fail  []float64 `json:"fail"`
}

type chartQuantiles struct {
	Width float64               `json:"width"`
	Q     map[string][]*float64 `json:"q"`
}

type chartAction struct {
	T    float64 `json:"t"`
	Text string  `json:"text"`
}

func ms(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }

// dict interns strings.
type dict struct {
	idx  map[string]int
	list []string
}

func (d *dict) id(s string) int {
	if s == "" {
		return -1
	}
	if d.idx == nil {
		d.idx = map[string]int{}
	}
	if i, ok := d.idx[s]; ok {
		return i
	}
	d.idx[s] = len(d.list)
	d.list = append(d.list, s)
	return len(d.list) - 1
}

func build(r *Run) (*page, error) {
	var end int64
	for _, op := range r.Ops {
		end = max(end, op.Time)
	}
	actions := Actions(r.Ops)
	segs := Timeline(actions, end)
	windows := Windows(segs)
	rows := Rows(r.Ops, actions)

	p := &page{Name: r.Spec.Name, CSS: template.CSS(reportCSS), JS: template.JS(reportJS), Windows: windows, Actions: actions}
	p.Verdict, p.Why = r.Verdict()
	p.Meaning = meaning(p.Verdict, r)
	if t, err := time.Parse(timestampStyle, filepath.Base(filepath.Clean(r.Dir))); err == nil {
		p.Started = t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	if r.Info != nil {
		p.RunID = r.Info.RunID
		if !r.Info.Started.IsZero() {
			p.Started = r.Info.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		if r.Info.Interrupted {
			p.Interrupted = "The run was interrupted (Ctrl-C) before its end."
		}
		if r.Info.Error != "" {
			p.LabFailed = r.Info.Error
		}
	}

	// Leaders, from the node logs.
	if len(r.NodeLogs) == 0 {
		p.LeaderNote = "No node logs in this folder, so leader changes are not shown."
	} else if start, ok := HistoryStart(r.Controller); !ok {
		p.LeaderNote = "controller.log does not say when the history started, so leader changes from the node logs cannot be placed on the time axis."
	} else {
		p.Leaders = Leaders(r.NodeLogs, start, end)
	}

	// Summary.
	counts := map[int]int{}
	for _, row := range rows {
		counts[row.Outcome]++
	}
	p.OpCount = len(rows) - counts[outNem]
	p.NemesisCount = counts[outNem]
	s := r.Spec
	add := func(k, v string) {
		if v != "" {
			p.Summary = append(p.Summary, kv{k, v})
		}
	}
	add("Command", s.Command)
	add("Workload", s.Workload)
	if s.ReadMode != "" {
		add("Read mode", s.ReadMode)
	}
	nem := nemesisName(s.Nemesis)
	if s.NemesisInterval > 0 && len(s.Nemesis) > 0 {
		nem += fmt.Sprintf(", a fault about every %s", durText(s.NemesisInterval))
	}
	add("Faults", nem)
	if s.Nodes > 0 {
		add("Nodes", fmt.Sprint(s.Nodes))
	}
	if s.Concurrency > 0 {
		add("Clients", fmt.Sprint(s.Concurrency))
	}
	if s.Rate > 0 {
		add("Target rate", fmt.Sprintf("%g ops/s", s.Rate))
	}
	if s.TimeLimit > 0 {
		add("Time limit", durText(s.TimeLimit))
	}
	add("History", fmt.Sprintf("%s long (from the first op to the last, with recovery and final reads)", durText(end)))
	add("Operations", fmt.Sprintf("%d: %d ok, %d info (outcome unknown), %d fail (certainly not applied), %d never completed",
		p.OpCount, counts[outOK], counts[outInfo], counts[outFail], counts[outOpen]))
	if r.Info != nil && r.Info.Timings.OpsPerSecond > 0 {
		add("Throughput", fmt.Sprintf("%.0f ops/s during the workload", r.Info.Timings.OpsPerSecond))
	}
	add("Nemesis actions", fmt.Sprintf("%d, %d fault windows", p.NemesisCount, len(windows)))
	if s.Seed != 0 {
		add("Seed", fmt.Sprint(s.Seed))
	}
	if r.Result != nil {
		add("Checker", fmt.Sprintf("model %s, %s, took %s", r.Result.Model, pruneText(r.Result.Pruning), durText(r.Result.CheckMS*1e6)))
		p.Model = r.Result.Model
	}
	if p.RunID != "" {
		add("Run id", p.RunID)
	}
	if r.SpecRaw != nil {
		b, _ := json.MarshalIndent(r.SpecRaw, "", "  ")
		p.SpecJSON = string(b)
	}

	// Keys.
	if r.Result != nil {
		p.Set = r.Result.Set
		byIndex := map[int64]int{}
		for i, row := range rows {
			byIndex[row.Inv] = i
		}
		pos := map[int64]int{}
		for i, op := range r.Ops {
			pos[op.Index] = i
		}
		shown := 0
		for _, k := range r.Result.Keys {
			if k.Verdict != linearizability.Valid || shown < maxKeyRows {
				p.Keys = append(p.Keys, k)
				shown++
			} else {
				p.KeysHidden++
			}
			if k.Verdict == linearizability.Valid {
				continue
			}
			p.BadKeys = append(p.BadKeys, k)
			if len(p.Details) >= maxKeyDetails {
				continue
			}
			d := keyDetail{KeyResult: k, Embed: k.Visualization != "" && countEmbeds(p.Details) < maxEmbeddedVis}
			if k.Explanation != nil {
				for i, idx := range k.Explanation.OpIndices {
					if i == maxOpsExplain {
						d.More = len(k.Explanation.OpIndices) - i
						break
					}
					d.Ops = append(d.Ops, explainOp(r, rows, byIndex, pos, idx))
				}
			}
			p.Details = append(p.Details, d)
		}
	}

	// Files.
	for _, f := range r.Files {
		note := ""
		switch {
		case strings.HasPrefix(f, NodeLogsDir+"/"):
			note = "log of node " + strings.TrimSuffix(strings.TrimPrefix(f, NodeLogsDir+"/"), ".log")
		case f == ControllerLog:
			note = "the controller's log"
		case f == HistoryFile:
			note = "the raw history, one op per line"
		case f == ResultsFile:
			note = "the checker's verdict"
		case f == SpecFile:
			note = "the test's parameters"
		case f == RunFile:
			note = "how the run went (timings, schedule)"
		case strings.HasPrefix(f, "linearizability/"):
			note = "Porcupine visualisation"
		}
		p.Files = append(p.Files, fileLink{f, note})
	}

	// Chart and table data.
	data := pageData{End: ms(end), Segments: segs, Windows: windows, Leaders: p.Leaders,
		Colors: map[string]any{"fault": faultColors}, Invalid: map[string]bool{}}
	for _, d := range p.Details {
		data.Invalid[d.Key] = d.Verdict == linearizability.Invalid
	}
	var df, dk, dn, de dict
	nodes := map[string]bool{}
	c := &data.Rows
	for _, row := range rows {
		c.T = append(c.T, ms(row.Start))
		c.L = append(c.L, ms(row.Latency))
		c.O = append(c.O, row.Outcome)
		c.P = append(c.P, int(row.Process))
		c.F = append(c.F, df.id(row.F))
		c.K = append(c.K, dk.id(row.Key))
		c.I = append(c.I, row.Inv)
		c.C = append(c.C, row.Comp)
		c.V = append(c.V, row.Value)
		c.N = append(c.N, dn.id(row.Node))
		c.E = append(c.E, de.id(row.Error))
		if row.Node != "" {
			nodes[row.Node] = true
		}
	}
	data.Dict = dicts{F: nonNil(df.list), K: nonNil(dk.list), N: nonNil(dn.list), E: nonNil(de.list)}
	for n := range r.NodeLogs {
		nodes[n] = true
	}
	for _, s := range segs {
		nodes[s.Node] = true
	}
	for n := range nodes {
		data.Nodes = append(data.Nodes, n)
	}
	sort.Slice(data.Nodes, func(i, j int) bool { return nodeLess(data.Nodes[i], data.Nodes[j]) })
	tp := Throughput(rows, end)
	data.Rates = chartRates{Width: ms(tp.Width), OK: tp.OK, Info: tp.Info, Fail: tp.Fail}
	lq := LatencyQuantiles(rows, end)
	data.Quantiles = chartQuantiles{Width: ms(lq.Width), Q: map[string][]*float64{}}
	for name, vs := range lq.Q {
		out := make([]*float64, len(vs))
		for i, v := range vs {
			if v != nil {
				x := ms(int64(*v))
				out[i] = &x
			}
		}
		data.Quantiles.Q[name] = out
	}
	for _, a := range actions {
		data.Actions = append(data.Actions, chartAction{T: ms(a.Start), Text: a.Text})
	}
	// The script expects lists, never null.
	data.Windows, data.Segments, data.Leaders = orEmpty(data.Windows), orEmpty(data.Segments), orEmpty(data.Leaders)
	data.Actions, data.Nodes = orEmpty(data.Actions), orEmpty(data.Nodes)
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode report data: %w", err)
	}
	p.Data = template.JS(b)
	return p, nil
}

func nonNil(s []string) []string { return orEmpty(s) }

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nodeLess orders n2 before n10.
func nodeLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func countEmbeds(ds []keyDetail) int {
	n := 0
	for _, d := range ds {
		if d.Embed {
			n++
		}
	}
	return n
}

// explainOp describes one op of an explanation and quotes its raw history
// lines (invocation and completion).
func explainOp(r *Run, rows []Row, byIndex map[int64]int, pos map[int64]int, idx int64) explainedOp {
	e := explainedOp{Index: idx, Text: fmt.Sprintf("op %d", idx)}
	if i, ok := byIndex[idx]; ok {
		row := rows[i]
		out := []string{"ok", "info (unknown outcome)", "fail", "never completed", "nemesis"}[row.Outcome]
		val := row.Value
		if row.F == "read" && val != "" {
			val = "→ " + val
		}
		e.Text = fmt.Sprintf("%s %s %s by process %s", row.F, row.Key, val, row.Process)
		if row.Node != "" {
			e.Text += " on " + row.Node
		}
		e.Text += fmt.Sprintf(", %s → %s, %s", secs(row.Start), secs(row.Start+row.Latency), out)
		for _, ix := range []int64{row.Inv, row.Comp} {
			if j, ok := pos[ix]; ok && j < len(r.raw) && (len(e.Raw) == 0 || ix != row.Inv) {
				e.Raw = append(e.Raw, string(r.raw[j]))
			}
		}
	} else if j, ok := pos[idx]; ok && j < len(r.raw) {
		e.Raw = append(e.Raw, string(r.raw[j]))
	}
	return e
}

func meaning(verdict string, r *Run) string {
	set := r.Result != nil && r.Result.Model == linearizability.ModelSet
	switch verdict {
	case Valid:
		if set {
			return "Every acknowledged add was in the final read, and the read held nothing that was never added: no lost or invented elements."
		}
		return "Every result the clients saw can be explained by one order of the operations that respects real time: the cluster behaved like a single, correct copy of each register (it is linearizable)."
	case Invalid:
		if set {
			return "The final read of a set disagrees with the adds: an acknowledged add was lost, or an element appeared that nobody added."
		}
		return "Some results cannot be explained by any order of the operations: the cluster returned something a single correct copy never could (it is not linearizable). The keys below show which operations prove it."
	case Unknown:
		return "The checker could not decide (it ran out of time, a final read was missing, or the run was cut short). No violation was found, but none is ruled out."
	}
	return "This run has no verdict."
}

func pruneText(on bool) string {
	if on {
		return "with pruning of crashed ops"
	}
	return "without pruning"
}

// secs formats a history time (ns) as seconds.
func secs(ns int64) string { return fmt.Sprintf("%.3f s", float64(ns)/1e9) }

// durText formats a duration in ns for people: "20 s", "1.5 s", "350 ms".
func durText(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return fmt.Sprintf("%.3g s", d.Seconds())
	default:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
