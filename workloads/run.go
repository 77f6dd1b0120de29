package workloads

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/raftlab/raftlab/history"
)

// Run drives the workers until ctx is done (the time limit), then stops
// issuing ops and returns once every in-flight op has completed or timed out
// (at most OpTimeout later). It runs once per Workload.
//
// Each worker is one goroutine, like a Jepsen client thread: worker i talks
// to node i mod n under process i. It records the invocation before sending
// and the completion after the answer. When an op ends info (unknown), the
// process is retired with the op left open, and the worker goes on as
// process+Concurrency under a fresh client id, as Jepsen does.
func (w *Workload) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("workload already ran: make a new one with New")
	}
	n := w.cfg.Concurrency
	w.gens = make([]*generator, n)
	w.procs = make([]history.Process, n)
	w.log.Info("workload starting", "workers", n, "nodes", len(w.cfg.Nodes), "rate", w.cfg.Rate,
		"read_mode", w.cfg.ReadMode, "op_timeout", w.cfg.OpTimeout, "seed", w.cfg.Seed)
	var wg sync.WaitGroup
	for i := range n {
		w.gens[i] = newGenerator(w.name, w.cfg, i)
		wg.Go(func() { w.procs[i] = w.worker(ctx, i, w.gens[i]) })
	}
	wg.Wait()
	c := w.Counts()
	w.log.Info("workload stopped", "invoked", c.Invoked, "ok", c.OK, "fail", c.Fail, "info", c.Info)
	return nil
}

// worker runs worker i until ctx is done and returns its last process.
func (w *Workload) worker(ctx context.Context, i int, gen *generator) history.Process {
	node := w.cfg.Nodes[i%len(w.cfg.Nodes)]
	proc := history.Process(i)
	var kv KV // dialed when the process makes its first op
	pace := newPacer(w.cfg, i)
	for pace.wait(ctx) {
		if kv == nil {
			kv = w.cfg.Dial(node.URL, w.clientID(proc))
		}
		if w.execute(ctx, kv, proc, node.ID, gen.next(), w.cfg.ReadMode) == history.Info {
			w.log.Debug("process crashed; replaced", "worker", i, "old", int(proc),
				"new", int(proc)+w.cfg.Concurrency, "node", node.ID)
			proc += history.Process(w.cfg.Concurrency)
			kv = nil
		}
	}
	return proc
}

// execute records op's invocation as proc on node, performs it (reads in
// the given mode) with a fresh OpTimeout (not cut short by ctx, so an op in
// flight at the time limit still gets its real outcome), records the
// completion and returns its type.
//
// Outcomes: no error is ok. A read that fails or times out is recorded fail,
// whatever the error: a read has no effect, so "did not happen" is always a
// sound answer and keeps the checker's search small (Jepsen does the same for
// known-safe read failures). A write, cas or add is fail when IsDefinite says
// it certainly was not applied, and info otherwise (lost connections,
// leadership lost mid-flight). A timeout is info unless IsDefinite vouches for
// it: the node client reports a timeout as definite only when every attempt
// was refused as not applied (e.g. 503 no leader all through a partition),
// and trusting that keeps partitions from filling the history with open ops.
func (w *Workload) execute(ctx context.Context, kv KV, proc history.Process, node string, op history.Op, mode string) history.Type {
	op.Process, op.Type, op.Node = proc, history.Invoke, node
	if op.F == history.FRead {
		op.Value = nil
	}
	w.cfg.Recorder.Record(op)
	w.invoked.Add(1)

	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.OpTimeout)
	done := op
	var err error
	switch op.F {
	case history.FRead:
		if w.name == Set {
			var els []int64
			if els, err = kv.ReadSet(octx, op.Key, mode); err == nil {
				done.Value = els
			}
		} else {
			var v *int64
			if v, err = kv.Read(octx, op.Key, mode); err == nil && v != nil {
				done.Value = *v
			}
		}
	case history.FWrite:
		err = kv.Write(octx, op.Key, op.Value.(int64))
	case history.FCAS:
		ft := op.Value.([]int64)
		var swapped bool
		if swapped, err = kv.CAS(octx, op.Key, ft[0], ft[1]); err == nil {
			done.OK = &swapped
		}
	case history.FAdd:
		err = kv.Add(octx, op.Key, op.Value.(int64))
	}
	timedOut := octx.Err() != nil
	cancel()

	switch {
	case err == nil:
		done.Type = history.OK
		w.ok.Add(1)
	case op.F == history.FRead || w.cfg.IsDefinite(err):
		done.Type = history.Fail
		w.fail.Add(1)
	default:
		done.Type = history.Info
		w.info.Add(1)
	}
	if err != nil {
		done.Error = err.Error()
		if timedOut && !errors.Is(err, context.DeadlineExceeded) {
			done.Error = "timeout: " + done.Error
		}
	}
	w.cfg.Recorder.Record(done)
	return done.Type
}

// pacer spaces one worker's ops so that all workers together make about
// Rate ops/s. Like Jepsen's stagger, each gap is uniform in [0, 2*interval)
// with interval = Concurrency/Rate, and the first op waits uniform in
// [0, interval), so workers do not move in lockstep. A worker that falls
// behind (slow ops) does not burst to catch up.
type pacer struct {
	interval time.Duration // 0: no pacing
	rng      *rand.Rand
	next     time.Time
}

// newPacer returns worker i's pacer; its random gaps are seeded apart from
// the op generator, so pacing never changes the op sequence.
func newPacer(cfg Config, i int) *pacer {
	p := &pacer{rng: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i)|1<<40))}
	if cfg.Rate > 0 {
		p.interval = time.Duration(float64(time.Second) * float64(cfg.Concurrency) / cfg.Rate)
		p.next = time.Now().Add(p.gap(1))
	}
	return p
}

// gap returns a random duration in [0, scale*interval).
func (p *pacer) gap(scale float64) time.Duration {
	return time.Duration(p.rng.Float64() * scale * float64(p.interval))
}

// wait blocks until the next op is due and reports whether to issue it
// (false once ctx is done).
func (p *pacer) wait(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	if p.interval == 0 {
		return true
	}
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	} else {
		t := time.NewTimer(p.next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
	p.next = p.next.Add(p.gap(2))
	return true
}
