package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/raftlab/raftlab/history"
	"github.com/raftlab/raftlab/lab/cluster"
	"github.com/raftlab/raftlab/linearizability"
	"github.com/raftlab/raftlab/nemesis"
	"github.com/raftlab/raftlab/node/client"
	"github.com/raftlab/raftlab/report"
	"github.com/raftlab/raftlab/workloads"
)

// Outcome is what a run ended with.
type Outcome struct {
	// Verdict of the history ("" when the lab failed before checking).
	Verdict linearizability.Verdict
	// Reason explains the verdict in one line.
	Reason string
	// Dir is the run's results folder.
	Dir string
	// RunID labels the run's containers and network (raftlab.run).
	RunID string
	// Interrupted is true when the run was cancelled (Ctrl-C) before its end.
	Interrupted bool
	// Timings measured during the run.
	Timings Timings
	// Counts are the client ops by outcome.
	Counts workloads.Counts
}

// Timings are the run's measured phases; they are stored in run.json.
type Timings struct {
	// Image is the time to build or confirm the node image.
	Image time.Duration `json:"image_ns"`
	// ToFirstOp is from the start of Run to the first client op.
	ToFirstOp time.Duration `json:"to_first_op_ns"`
	// Workload is how long clients ran.
	Workload time.Duration `json:"workload_ns"`
	// OpsPerSecond is client invocations per second during the workload.
	OpsPerSecond float64 `json:"ops_per_second"`
	// ToVerdict is from the end of the workload to the verdict.
	ToVerdict time.Duration `json:"to_verdict_ns"`
	// Check is the linearizability check alone.
	Check time.Duration `json:"check_ns"`
	// Teardown is log collection plus container and network removal.
	Teardown time.Duration `json:"teardown_ns"`
}

// RunInfo is stored as run.json: how the run went, beside spec.json.
type RunInfo struct {
	RunID       string    `json:"run_id"`
	Started     time.Time `json:"started"`
	Subnet      string    `json:"subnet,omitempty"`
	Image       string    `json:"image,omitempty"`
	Timings     Timings   `json:"timings"`
	Counts      workloads.Counts
	Interrupted bool   `json:"interrupted"`
	Error       string `json:"error,omitempty"`
	LeftRunning bool   `json:"left_running"`
	Schedule    []nemesis.Step
}

// RunInfoFile is the name of run.json in a results folder.
const RunInfoFile = "run.json"

// Run performs one test: cluster up, workload and nemesis for the time limit,
// heal and recover, final reads, check, store. However it ends (success, an
// error, ctx cancelled by Ctrl-C, a panic), faults are healed, node logs are
// collected, the history and results are written and the containers and
// network are removed (unless spec.LeaveRunning). Progress goes to out.
func Run(ctx context.Context, spec Spec, out io.Writer) (oc Outcome, err error) {
	begin := time.Now()
	if err := spec.Validate(); err != nil {
		return oc, err
	}
	store, err := NewStore(spec.Results, spec.Name, begin)
	if err != nil {
		return oc, err
	}
	oc.Dir = store.Dir
	logFile, err := os.Create(store.Path(ControllerLog))
	if err != nil {
		return oc, err
	}
	defer logFile.Close()
	log := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prog := NewProgress(out)
	runID := fmt.Sprintf("%s-%d", begin.Format("150405"), os.Getpid()%10000)
	info := RunInfo{RunID: runID, Started: begin}
	oc.RunID = runID
	log.Info("test starting", "spec", spec, "run_id", runID, "dir", store.Dir)
	if err := store.WriteJSON(SpecFile, spec); err != nil {
		return oc, err
	}
	fmt.Fprintf(out, "raftlab: %s, %d nodes, %s, nemesis %s, seed %d\n", spec.Workload, spec.Nodes, spec.TimeLimit, nemesisName(spec.Nemesis), spec.Seed)
	fmt.Fprintf(out, "results: %s\n", store.Dir)

	// Whatever happens below, run.json says how the run went.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lab panic: %v\n%s", r, debug.Stack())
		}
		info.Timings, info.Counts, info.Interrupted = oc.Timings, oc.Counts, oc.Interrupted
		if err != nil {
			info.Error = err.Error()
			log.Error("test failed", "err", err)
		}
		if werr := store.WriteJSON(RunInfoFile, info); werr != nil && err == nil {
			err = werr
		}
		// The report comes last: it reads everything above, node logs included.
		if _, serr := os.Stat(store.Path(ResultsFile)); serr == nil {
			if rerr := report.Write(store.Dir); rerr != nil {
				log.Warn("report", "err", rerr)
				fmt.Fprintf(out, "warning: writing the report: %v (retry with `labctl report %s`)\n", rerr, store.Dir)
			} else {
				fmt.Fprintf(out, "report: %s\n", store.Path(ReportFile))
			}
		}
	}()

	faults, err := nemesis.ParseFaults(nemesisName(spec.Nemesis))
	if err != nil {
		return oc, err
	}
	cli, err := cluster.Connect(ctx)
	if err != nil {
		return oc, err
	}
	defer cli.Close()

	image := spec.Image
	if image == "" {
		prog.Phase("node image")
		t := time.Now()
		root, err := FindSourceRoot(".")
		if err != nil {
			return oc, err
		}
		if image, err = EnsureImage(ctx, root, out); err != nil {
			return oc, err
		}
		oc.Timings.Image = time.Since(t)
	}
	info.Image = image

	prog.Phase("starting %d nodes", spec.Nodes)
	cl, err := cluster.Start(ctx, cli, cluster.Spec{RunID: runID, Nodes: spec.Nodes, Image: image, NodeArgs: nodeArgs(spec), Logger: log, Kept: spec.LeaveRunning})
	if err != nil {
		return oc, err
	}
	info.Subnet = cl.Subnet().String()
	// Teardown runs on every path from here on, even after ctx is cancelled.
	defer func() {
		t := time.Now()
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
		defer cancel()
		if lerr := cl.SaveLogs(tctx, store.Path(NodeLogsDir)); lerr != nil {
			log.Warn("collecting node logs", "err", lerr)
			fmt.Fprintf(out, "warning: collecting node logs: %v\n", lerr)
		}
		if spec.LeaveRunning {
			info.LeftRunning = true
			fmt.Fprintf(out, "cluster left running on %s (network %s); remove it with `labctl down` or `labctl clean`\n", cl.Subnet(), cl.Network())
			for _, n := range cl.Nodes() {
				fmt.Fprintf(out, "  %s %s\n", n.ID, n.URL())
			}
		} else if rerr := cl.Remove(tctx); rerr != nil {
			fmt.Fprintf(out, "warning: removing the cluster: %v; run `labctl clean`\n", rerr)
			if err == nil {
				err = rerr
			}
		}
		oc.Timings.Teardown = time.Since(t)
		log.Info("teardown done", "took", oc.Timings.Teardown)
	}()

	leader, err := waitForLeader(ctx, cl.Nodes(), 60*time.Second)
	if err != nil {
		return oc, fmt.Errorf("cluster did not come up: %w", err)
	}
	log.Info("leader elected", "leader", leader)

	w, err := history.NewWriter(store.Path(HistoryFile))
	if err != nil {
		return oc, err
	}
	defer w.Close()
	rec := history.NewRecorder(w, false)
	// Op times count from here; the report places node-log events with it.
	log.Info("history started", "start", rec.Start())
	var recErr errOnce
	wrec := recorderFunc(func(op history.Op) history.Op {
		op, err := rec.Record(op)
		recErr.set(err)
		return op
	})
	var endpoints []workloads.Endpoint
	for _, n := range cl.Nodes() {
		endpoints = append(endpoints, workloads.Endpoint{ID: n.ID, URL: n.URL()})
	}
	wl, err := workloads.New(spec.Workload, workloads.Config{
		Nodes: endpoints, Concurrency: spec.Concurrency, Rate: spec.Rate, Seed: spec.Seed,
		ReadMode: spec.ReadMode, OpTimeout: spec.OpTimeout, Recorder: wrec, RunID: runID,
		Dial: func(url, id string) workloads.KV {
			c := client.New(url, id)
			c.Cluster = runID
			return c
		},
		IsDefinite: client.IsDefinite, Logger: log,
	})
	if err != nil {
		return oc, err
	}
	nem := nemesis.New(nemesisCluster{cl}, nemesisRecorder{wrec})
	steps := spec.Schedule
	if steps == nil {
		steps = nemesis.Schedule(spec.Seed, faults, spec.NemesisInterval, spec.TimeLimit)
	}
	info.Schedule = steps
	healed := false
	defer func() {
		if !healed { // an error or panic skipped the heal below
			nem.HealAll(ctx)
		}
	}()

	// Run clients and faults for the time limit.
	prog.Phase("running for %s (Ctrl-C stops early and still cleans up)", spec.TimeLimit)
	oc.Timings.ToFirstOp = time.Since(begin)
	runCtx, cancelRun := context.WithTimeout(ctx, spec.TimeLimit)
	defer cancelRun()
	wlStart := time.Now()
	var wg sync.WaitGroup
	var goErr errOnce
	wg.Go(func() {
		defer recoverInto(&goErr, cancelRun)
		goErr.set(wl.Run(runCtx))
	})
	wg.Go(func() {
		defer recoverInto(&goErr, cancelRun)
		if err := nem.Run(runCtx, steps); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			goErr.set(err)
		}
	})
	prog.Start(spec.TimeLimit, func() string {
		c := wl.Counts()
		return fmt.Sprintf("ops %d (ok %d, fail %d, info %d) | nemesis: %s", c.Invoked, c.OK, c.Fail, c.Info, nem.State())
	})
	if err := waitOrDump(&wg, spec.TimeLimit+spec.OpTimeout+time.Minute, store.Path(StuckDumpFile), cancelRun, out); err != nil {
		return oc, err
	}
	prog.Stop()
	oc.Timings.Workload = time.Since(wlStart)
	wlEnd := time.Now()
	oc.Counts = wl.Counts()
	oc.Timings.OpsPerSecond = float64(oc.Counts.Invoked) / oc.Timings.Workload.Seconds()
	oc.Interrupted = ctx.Err() != nil

	// Heal, always, even when interrupted.
	prog.Phase("healing: %s", nem.State())
	healed = true
	if herr := nem.HealAll(ctx); herr != nil {
		log.Warn("heal", "err", herr)
		fmt.Fprintf(out, "warning: %v\n", herr)
	}
	if gone, merr := cl.Missing(context.WithoutCancel(ctx)); merr != nil || len(gone) > 0 {
		// Their addresses may now serve another run: nothing read is trustworthy.
		return oc, fmt.Errorf("the containers of %v disappeared during the run (was `labctl clean` run meanwhile?); the history in %s is not judged: %v", gone, store.Dir, merr)
	}
	if !oc.Interrupted {
		prog.Phase("recovering for %s, then final reads", spec.Recovery)
		sleepCtx(ctx, spec.Recovery)
		if _, lerr := waitForLeader(ctx, cl.Nodes(), 30*time.Second); lerr != nil {
			fmt.Fprintf(out, "warning: %v\n", lerr)
		}
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if ferr := wl.Final(fctx); ferr != nil {
			log.Warn("final reads", "err", ferr)
			fmt.Fprintf(out, "warning: final reads: %v\n", ferr)
		}
		cancel()
		oc.Interrupted = ctx.Err() != nil
	}
	if err := w.Close(); err != nil {
		return oc, fmt.Errorf("writing the history: %w", err)
	}
	if err := errors.Join(recErr.get(), goErr.get()); err != nil {
		return oc, err
	}

	// Check the history as stored on disk: what a later `labctl check` sees.
	prog.Phase("checking %d ops", oc.Counts.Invoked)
	t := time.Now()
	res, err := CheckDir(context.WithoutCancel(ctx), store.Dir, spec.Workload, spec.CheckTimeLimit)
	if err != nil {
		return oc, err
	}
	oc.Timings.Check = time.Since(t)
	oc.Timings.ToVerdict = time.Since(wlEnd)
	oc.Verdict, oc.Reason = res.Verdict, res.Reason
	if oc.Interrupted && oc.Verdict != linearizability.Invalid {
		oc.Verdict = linearizability.Unknown
		oc.Reason = "interrupted before the end: " + oc.Reason
	}
	return oc, nil
}

// StuckDumpFile receives the goroutines of a run whose clients or nemesis did
// not stop in time, so the hang can be diagnosed.
const StuckDumpFile = "stuck-goroutines.txt"

// waitOrDump waits for wg. If it takes longer than limit, it writes every
// goroutine's stack to dumpPath, cancels the run and waits 30 s more before
// giving up with an error.
func waitOrDump(wg *sync.WaitGroup, limit time.Duration, dumpPath string, cancel context.CancelFunc, out io.Writer) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(limit):
	}
	if f, err := os.Create(dumpPath); err == nil {
		pprof.Lookup("goroutine").WriteTo(f, 2)
		f.Close()
	}
	fmt.Fprintf(out, "warning: clients or nemesis still running %s after the start; stacks in %s\n", limit, dumpPath)
	cancel()
	select {
	case <-done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("the run's clients or nemesis are stuck (stacks in %s); healing and cleaning up anyway", dumpPath)
	}
}

// CheckDir checks the history of a results folder with model (empty: the
// one spec.json names, else detected) and writes results.json and the
// visualisations of invalid keys into the folder.
func CheckDir(ctx context.Context, dir, model string, limit time.Duration) (linearizability.Result, error) {
	ops, err := history.ReadFile(filepath.Join(dir, HistoryFile))
	if err != nil {
		return linearizability.Result{}, err
	}
	res, err := linearizability.Check(ctx, ops, linearizability.Options{
		Model: model, TimeLimit: limit, VisualizeDir: filepath.Join(dir, "linearizability"),
	})
	if err != nil {
		return res, fmt.Errorf("checking %s: %w", dir, err)
	}
	st := &Store{Dir: dir}
	return res, st.WriteJSON(ResultsFile, res)
}

// nodeArgs are the raftnode flags of a run: the read mode under test and
// timeouts short enough that faults cause elections within seconds.
func nodeArgs(spec Spec) []string {
	return []string{
		"--read-mode", spec.ReadMode,
		"--heartbeat-timeout", "500ms", "--election-timeout", "500ms", "--leader-lease-timeout", "250ms",
		"--snapshot-threshold", "1024", "--trailing-logs", "256", "--snapshot-interval", "5s",
		"--request-timeout", "3s",
	}
}

func nemesisName(n []string) string {
	if len(n) == 0 {
		return "none"
	}
	s := n[0]
	for _, x := range n[1:] {
		s += "," + x
	}
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// recorderFunc adapts a function to the workloads' recorder.
type recorderFunc func(history.Op) history.Op

func (f recorderFunc) Record(op history.Op) history.Op { return f(op) }

// nemesisRecorder adapts it to the nemesis' recorder.
type nemesisRecorder struct{ f recorderFunc }

func (r nemesisRecorder) Record(op history.Op) (history.Op, error) { return r.f(op), nil }

// errOnce keeps the first non-nil error set from any goroutine.
type errOnce struct {
	mu  sync.Mutex
	err error
}

func (e *errOnce) set(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		e.err = err
	}
}

func (e *errOnce) get() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// recoverInto turns a panic in a run goroutine into an error and stops the run.
func recoverInto(e *errOnce, cancel context.CancelFunc) {
	if r := recover(); r != nil {
		e.set(fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		cancel()
	}
}
