package linearizability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/raftlab/raftlab/history"
)

// Model names accepted by Check.
const (
	// ModelRegister checks the whole history as one register; every op must
	// be on the same key (or have none).
	ModelRegister = "register"
	// ModelRegisters checks independent registers, one per Op.Key, separately
	// and in parallel.
	ModelRegisters = "registers"
	// ModelSet checks unique adds against a final read per key (SetChecker).
	ModelSet = "set"
)

// Options configure Check.
type Options struct {
	// Model is "register", "registers" or "set"; empty picks one from the
	// history: "set" if any client op is an add, else "registers".
	Model string
	// TimeLimit bounds the whole check (0: none). Keys not decided by then
	// are Unknown. A deadline of ctx applies too.
	TimeLimit time.Duration
	// VisualizeDir, when set, receives Porcupine's HTML visualisation of each
	// invalid key as <key>.html (the directory is created). The path recorded
	// in KeyResult.Visualization is relative to VisualizeDir's parent, the
	// results folder: "linearizability/<key>.html" when VisualizeDir is
	// <results>/linearizability.
	VisualizeDir string
	// NoPrune turns off pruning of crashed ops (for comparison and debugging).
	NoPrune bool
	// Workers is how many keys are checked at once (0: GOMAXPROCS).
	Workers int
}

// Result is the outcome of Check and the content of results.json:
//
//	{
//	  "verdict": "valid"|"invalid"|"unknown",   // merged: invalid > unknown > valid
//	  "reason": "…",                            // one line for humans
//	  "model": "register"|"registers"|"set",
//	  "checked_at": "2026-…Z", "check_ms": 12, "time_limit_ms": 0, "pruning": true,
//	  "ops": {"total","invoke","ok","fail","info","nemesis"},   // record counts
//	  "keys": [KeyResult…],                     // register models, sorted by key
//	  "set": {"keys": [SetKeyResult…]},         // set model
//	  "faults": [history.Window…]               // nemesis fault windows
//	}
//
// Field names are stable: the report generator reads them.
type Result struct {
	Verdict     Verdict          `json:"verdict"`
	Reason      string           `json:"reason"`
	Model       string           `json:"model"`
	CheckedAt   time.Time        `json:"checked_at"`
	CheckMS     int64            `json:"check_ms"`
	TimeLimitMS int64            `json:"time_limit_ms"`
	Pruning     bool             `json:"pruning"`
	Ops         OpCounts         `json:"ops"`
	Keys        []KeyResult      `json:"keys,omitempty"`
	Set         *SetResult       `json:"set,omitempty"`
	Faults      []history.Window `json:"faults"`
}

// KeyResult is the verdict on one register (one key).
type KeyResult struct {
	Key     string  `json:"key"`
	Verdict Verdict `json:"verdict"`
	// Reason says why the key is invalid or unknown; empty when valid.
	Reason string `json:"reason,omitempty"`
	// Ops is the number of client invocations on the key.
	Ops int `json:"ops"`
	// Checked is how many operations went to Porcupine after dropping and
	// pruning.
	Checked int `json:"checked"`
	// Crashed ops have an unknown outcome (info, or never completed).
	Crashed int `json:"crashed"`
	// Dropped: failed ops, and reads that failed or crashed.
	Dropped int `json:"dropped"`
	// Pruned crashed ops were removed (rule P1); Bounded ones got the return
	// of their first observer (rule P2). See the package's pruning notes.
	Pruned  int   `json:"pruned"`
	Bounded int   `json:"bounded"`
	CheckMS int64 `json:"check_ms"`
	// Explanation of a violation: the smallest failing prefix and why.
	Explanation *Explanation `json:"explanation,omitempty"`
	// Visualization is the HTML file of an invalid key, relative to the
	// results folder (see Options.VisualizeDir).
	Visualization string `json:"visualization,omitempty"`
}

// Check judges a history with the chosen model. It returns an error for a
// history the model cannot read (unknown f, malformed values, a completion
// without invocation); running out of time gives an Unknown verdict, not an
// error.
func Check(ctx context.Context, ops []history.Op, opts Options) (Result, error) {
	start := time.Now()
	res := Result{Model: opts.Model, CheckedAt: start.UTC(), TimeLimitMS: opts.TimeLimit.Milliseconds(),
		Pruning: !opts.NoPrune, Ops: countOps(ops), Faults: history.FaultWindows(ops)}
	if res.Model == "" {
		res.Model = detectModel(ops)
	}
	if opts.TimeLimit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.TimeLimit)
		defer cancel()
	}
	switch res.Model {
	case ModelSet:
		set, err := CheckSet(ops)
		if err != nil {
			return res, err
		}
		res.Set = &set
		res.Verdict, res.Reason = set.Verdict, set.Reason
	case ModelRegister, ModelRegisters:
		khs, err := registerHistories(ops, res.Model == ModelRegister)
		if err != nil {
			return res, err
		}
		res.Keys = checkKeys(ctx, khs, opts, res.Faults)
		res.Verdict, res.Reason = summarize(res.Keys)
	default:
		return res, fmt.Errorf("unknown model %q (want register, registers or set)", res.Model)
	}
	res.CheckMS = time.Since(start).Milliseconds()
	return res, nil
}

func detectModel(ops []history.Op) string {
	for _, op := range ops {
		if !op.IsNemesis() && op.F == history.FAdd {
			return ModelSet
		}
	}
	return ModelRegisters
}

func checkKeys(ctx context.Context, khs []*keyHistory, opts Options, faults []history.Window) []KeyResult {
	out := make([]KeyResult, len(khs))
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(khs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = checkKey(ctx, khs[i], opts, faults)
			}
		}()
	}
	for i := range khs {
		next <- i
	}
	close(next)
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i].Key, out[j].Key) })
	return out
}

// keyLess orders keys numerically when both are integers.
func keyLess(a, b string) bool {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA == nil && errB == nil {
		return x < y
	}
	if (errA == nil) != (errB == nil) {
		return errA == nil
	}
	return a < b
}

// remaining is the time left before ctx's deadline: 0 means no limit, a
// negative value that the deadline passed.
func remaining(ctx context.Context) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	if r := time.Until(d); r > 0 {
		return r
	}
	return -1
}

// runPorcupine checks ops as one register, within ctx's deadline.
func runPorcupine(ctx context.Context, model porcupine.Model, ops []porcupine.Operation) porcupine.CheckResult {
	t := remaining(ctx)
	if t < 0 || ctx.Err() != nil {
		return porcupine.Unknown
	}
	return porcupine.CheckOperationsTimeout(model, ops, t)
}

func operations(ops []regOp) []porcupine.Operation {
	out := make([]porcupine.Operation, len(ops))
	for i := range ops {
		out[i] = ops[i].operation(i)
	}
	return out
}

func checkKey(ctx context.Context, kh *keyHistory, opts Options, faults []history.Window) KeyResult {
	start := time.Now()
	if !opts.NoPrune {
		prune(kh)
	}
	r := KeyResult{Key: kh.key, Ops: kh.total, Checked: len(kh.ops), Crashed: kh.crashed,
		Dropped: kh.dropped, Pruned: kh.pruned, Bounded: kh.bounded}
	model := registerModel(kh.ops)
	pops := operations(kh.ops)
	switch runPorcupine(ctx, model, pops) {
	case porcupine.Ok:
		r.Verdict = Valid
	case porcupine.Illegal:
		r.Verdict = Invalid
		r.Explanation = explain(ctx, kh, model)
		r.Reason = r.Explanation.Text
		if opts.VisualizeDir != "" {
			path, err := visualize(ctx, kh, model, pops, faults, opts.VisualizeDir)
			if err != nil {
				r.Reason += fmt.Sprintf(" (visualisation not written: %v)", err)
			} else {
				r.Visualization = path
			}
		}
	default:
		r.Verdict = Unknown
		r.Reason = fmt.Sprintf("time limit reached before the check finished (%d ops checked, %d of them crashed and open); raise --time-limit, or keep fewer clients and crashed ops per key",
			len(kh.ops), openCrashed(kh.ops))
	}
	r.CheckMS = time.Since(start).Milliseconds()
	return r
}

func openCrashed(ops []regOp) int {
	n := 0
	for _, o := range ops {
		if o.crashed && !o.bounded {
			n++
		}
	}
	return n
}

func summarize(keys []KeyResult) (Verdict, string) {
	var vs []Verdict
	var bad []string
	counts := map[Verdict]int{}
	for _, k := range keys {
		vs = append(vs, k.Verdict)
		counts[k.Verdict]++
	}
	v := Merge(vs...)
	if len(keys) == 0 {
		return Valid, "no client operations to check"
	}
	for _, k := range keys {
		if k.Verdict == v && v != Valid && len(bad) < 3 {
			bad = append(bad, fmt.Sprintf("key %q: %s", k.Key, k.Reason))
		}
	}
	switch v {
	case Valid:
		return v, fmt.Sprintf("all %d keys linearizable", len(keys))
	case Invalid:
		return v, fmt.Sprintf("%d of %d keys not linearizable; %s", counts[Invalid], len(keys), strings.Join(bad, "; "))
	}
	return v, fmt.Sprintf("%d of %d keys undecided, none invalid; %s", counts[Unknown], len(keys), strings.Join(bad, "; "))
}

// fileName turns a key into a safe file name: letters, digits, '-', '_' and
// '.' are kept, anything else becomes '_' followed by its hex code.
func fileName(key string) string {
	if key == "" {
		return "register"
	}
	var b strings.Builder
	for _, c := range []byte(key) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && b.Len() > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return "key-" + b.String()
}

func visualize(ctx context.Context, kh *keyHistory, model porcupine.Model, pops []porcupine.Operation, faults []history.Window, dir string) (string, error) {
	t := remaining(ctx)
	if t < 0 {
		return "", fmt.Errorf("no time left")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	_, info := porcupine.CheckOperationsVerbose(model, pops, t)
	info.AddAnnotations(annotations(kh, faults))
	name := fileName(kh.key) + ".html"
	if err := porcupine.VisualizePath(model, info, filepath.Join(dir, name)); err != nil {
		return "", err
	}
	return filepath.ToSlash(filepath.Join(filepath.Base(filepath.Clean(dir)), name)), nil
}
