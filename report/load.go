// Package report turns a results folder of a lab run into report.html: one
// self-contained page (no network, opens from file://) that says what the
// verdict is and why, shows throughput, latency, fault windows, a nemesis
// timeline and leader changes on one time axis, explains invalid keys next to
// their Porcupine visualisations and lists the whole history in a filterable
// table.
//
// Write(dir) is the entry point; Summarize(dir) reads just enough of a folder
// to list it (labctl serve).
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/raftlab/raftlab/history"
	"github.com/raftlab/raftlab/linearizability"
)

// Names of the files of a results folder (as lab writes them).
const (
	SpecFile       = "spec.json"
	RunFile        = "run.json"
	HistoryFile    = "history.jsonl"
	ResultsFile    = "results.json"
	ControllerLog  = "controller.log"
	NodeLogsDir    = "nodes"
	ReportFile     = "report.html"
	timestampStyle = "20060102T150405.000-0700"
)

// Verdict words of a run; Incomplete is a run without results.json (it
// crashed, or was never checked).
const (
	Valid      = "valid"
	Invalid    = "invalid"
	Unknown    = "unknown"
	Incomplete = "incomplete"
)

// Spec is the part of spec.json the report uses (the whole file is shown
// too). Durations are nanoseconds, as lab.Spec stores them.
type Spec struct {
	Name            string   `json:"name"`
	Workload        string   `json:"workload"`
	Nemesis         []string `json:"nemesis"`
	NemesisInterval int64    `json:"nemesis_interval"`
	Nodes           int      `json:"nodes"`
	Concurrency     int      `json:"concurrency"`
	Rate            float64  `json:"rate"`
	TimeLimit       int64    `json:"time_limit"`
	ReadMode        string   `json:"read_mode"`
	Seed            int64    `json:"seed"`
	Command         string   `json:"command"`
}

// RunInfo is the part of run.json the report uses.
type RunInfo struct {
	RunID   string    `json:"run_id"`
	Started time.Time `json:"started"`
	Timings struct {
		Workload     int64   `json:"workload_ns"`
		OpsPerSecond float64 `json:"ops_per_second"`
		Check        int64   `json:"check_ns"`
	} `json:"timings"`
	Counts struct {
		Invoked, OK, Fail, Info int64
	} `json:"Counts"`
	Interrupted bool   `json:"interrupted"`
	Error       string `json:"error"`
}

// Summary is what a list of runs shows about one run.
type Summary struct {
	// Dir is the run folder.
	Dir string `json:"dir"`
	// Name is the test name (spec.json, else the parent folder's name).
	Name string `json:"name"`
	// Started is when the run began (run.json, else the folder's timestamp).
	Started time.Time `json:"started"`
	// Workload and Nemesis as in spec.json ("none" when no faults).
	Workload string `json:"workload"`
	Nemesis  string `json:"nemesis"`
	Nodes    int    `json:"nodes"`
	// Verdict is valid, invalid, unknown or incomplete; Reason says why.
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	// Ops is the number of client invocations (0 when unknown).
	Ops int64 `json:"ops"`
	// HasReport is true when report.html exists.
	HasReport bool `json:"has_report"`
}

// Run is a results folder, read.
type Run struct {
	Dir     string
	Spec    Spec
	SpecRaw map[string]any
	// Info is nil when run.json is missing.
	Info *RunInfo
	// Result is nil when results.json is missing.
	Result *linearizability.Result
	Ops    []history.Op
	// raw holds the JSON line of each op, in the order of Ops.
	raw [][]byte
	// Files lists the files of the folder, relative, with slashes, sorted.
	Files []string
	// NodeLogs maps node names to their log contents.
	NodeLogs map[string][]byte
	// Controller is controller.log.
	Controller []byte
}

// Summarize reads spec.json, run.json and results.json of a run folder. It
// fails only when dir is not a readable folder or holds none of spec.json,
// run.json, results.json and history.jsonl.
func Summarize(dir string) (Summary, error) {
	s := Summary{Dir: dir, Name: filepath.Base(filepath.Dir(dir)), Verdict: Incomplete}
	st, err := os.Stat(dir)
	if err != nil {
		return s, fmt.Errorf("cannot read results folder: %w", err)
	}
	if !st.IsDir() {
		return s, fmt.Errorf("%s is not a folder", dir)
	}
	found := false
	var spec Spec
	if ok, err := readJSON(filepath.Join(dir, SpecFile), &spec); err != nil {
		return s, err
	} else if ok {
		found = true
		if spec.Name != "" {
			s.Name = spec.Name
		}
		s.Workload, s.Nodes = spec.Workload, spec.Nodes
		s.Nemesis = nemesisName(spec.Nemesis)
	}
	if t, err := time.Parse(timestampStyle, filepath.Base(dir)); err == nil {
		s.Started = t
	}
	var info RunInfo
	infoOK, err := readJSON(filepath.Join(dir, RunFile), &info)
	if err != nil {
		return s, err
	}
	if infoOK {
		found = true
		if !info.Started.IsZero() {
			s.Started = info.Started
		}
		s.Ops = info.Counts.Invoked
	}
	var res linearizability.Result
	resOK, err := readJSON(filepath.Join(dir, ResultsFile), &res)
	if err != nil {
		return s, err
	}
	if resOK {
		found = true
		var ip *RunInfo
		if infoOK {
			ip = &info
		}
		s.Verdict, s.Reason = verdictOf(&res, ip)
		if s.Ops == 0 {
			s.Ops = int64(res.Ops.Invoke)
		}
	} else {
		s.Reason = "no results.json: the run did not reach its check (still running, crashed, or stopped)"
		if infoOK && info.Error != "" {
			s.Reason = "the lab failed: " + firstLine(info.Error)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, HistoryFile)); err == nil {
		found = true
	}
	if !found {
		return s, fmt.Errorf("%s is not a results folder: it has none of %s, %s, %s, %s", dir, SpecFile, RunFile, ResultsFile, HistoryFile)
	}
	_, err = os.Stat(filepath.Join(dir, ReportFile))
	s.HasReport = err == nil
	return s, nil
}

// verdictOf is the run's verdict: the checker's, except that an interrupted
// run is at best unknown (as lab.Run decides).
func verdictOf(res *linearizability.Result, info *RunInfo) (string, string) {
	v, why := string(res.Verdict), res.Reason
	if v == "" {
		v = Unknown
	}
	if info != nil && info.Interrupted && v != Invalid {
		return Unknown, "interrupted before the end: " + why
	}
	return v, why
}

// Load reads a whole results folder. The history is required; spec.json,
// run.json, results.json and the logs are read when present.
func Load(dir string) (*Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read results folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder (want a results folder written by labctl test)", dir)
	}
	r := &Run{Dir: dir, NodeLogs: map[string][]byte{}}
	hist := filepath.Join(dir, HistoryFile)
	b, err := os.ReadFile(hist)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a results folder: it has no %s", dir, HistoryFile)
		}
		return nil, fmt.Errorf("cannot read the history: %w", err)
	}
	if r.Ops, err = history.Read(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", hist, err)
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) > 0 && len(r.raw) < len(r.Ops) {
			r.raw = append(r.raw, line)
		}
	}
	if ok, err := readJSON(filepath.Join(dir, SpecFile), &r.Spec); err != nil {
		return nil, err
	} else if ok {
		_, _ = readJSON(filepath.Join(dir, SpecFile), &r.SpecRaw)
	}
	var info RunInfo
	if ok, err := readJSON(filepath.Join(dir, RunFile), &info); err != nil {
		return nil, err
	} else if ok {
		r.Info = &info
	}
	var res linearizability.Result
	if ok, err := readJSON(filepath.Join(dir, ResultsFile), &res); err != nil {
		return nil, err
	} else if ok {
		r.Result = &res
	}
	if r.Spec.Name == "" {
		r.Spec.Name = filepath.Base(filepath.Dir(filepath.Clean(dir)))
	}
	r.Controller, _ = os.ReadFile(filepath.Join(dir, ControllerLog))
	logs, _ := filepath.Glob(filepath.Join(dir, NodeLogsDir, "*.log"))
	for _, p := range logs {
		if b, err := os.ReadFile(p); err == nil {
			r.NodeLogs[strings.TrimSuffix(filepath.Base(p), ".log")] = b
		}
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err == nil && rel != ReportFile && !strings.HasSuffix(rel, ".tmp") {
			r.Files = append(r.Files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(r.Files)
	return r, nil
}

// Verdict is the run's verdict word and why.
func (r *Run) Verdict() (string, string) {
	if r.Result == nil {
		why := "there is no results.json: the run did not reach its check (it may still be running, or it crashed). Run `labctl check` on this folder to judge the history."
		if r.Info != nil && r.Info.Error != "" {
			why = "the lab failed before checking: " + firstLine(r.Info.Error)
		}
		return Incomplete, why
	}
	return verdictOf(r.Result, r.Info)
}

// readJSON decodes path into v; a missing file is (false, nil).
func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s is not valid: %w", path, err)
	}
	return true, nil
}

func nemesisName(n []string) string {
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ",")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
