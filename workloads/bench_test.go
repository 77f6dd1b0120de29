package workloads

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raftlab/raftlab/history"
)

// countRecorder stamps ops like a real recorder (an atomic index and a
// monotonic time) without keeping them, and cancels the run after limit
// invocations, so the benchmark measures the workload's own path.
type countRecorder struct {
	start   time.Time
	index   atomic.Int64
	invokes atomic.Int64
	limit   int64
	cancel  context.CancelFunc
}

func (r *countRecorder) Record(op history.Op) history.Op {
	op.Index = r.index.Add(1) - 1
	op.Time = time.Since(r.start).Nanoseconds()
	if op.Type == history.Invoke && r.invokes.Add(1) == r.limit {
		r.cancel()
	}
	return op
}

// benchRun drives b.N ops of workload name against nodes (the fake store
// when nodes is nil) and reports ops/s.
func benchRun(b *testing.B, name string, conc int, nodes []Endpoint) {
	store := newFakeStore()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &countRecorder{start: time.Now(), limit: int64(b.N), cancel: cancel}
	cfg := Config{Nodes: nodes, Concurrency: conc, Recorder: rec}
	if nodes == nil {
		cfg.Nodes, cfg.Dial = testNodes(3), store.dial
	}
	w, err := New(name, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if err := w.Run(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(w.Counts().Invoked)/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkRunFake measures the op path (generate, record invoke, call,
// classify, record completion) against the in-memory KV.
func BenchmarkRunFake(b *testing.B) {
	for _, name := range Names() {
		for _, conc := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/c%d", name, conc), func(b *testing.B) { benchRun(b, name, conc, nil) })
		}
	}
}

// BenchmarkRunNodes measures the same path through the node client, HTTP and
// an in-process three-node Raft cluster (in-memory transport and stores).
func BenchmarkRunNodes(b *testing.B) {
	eps := startCluster(b, 3)
	for _, conc := range []int{3, 10} {
		b.Run(fmt.Sprintf("registers/c%d", conc), func(b *testing.B) { benchRun(b, Registers, conc, eps) })
	}
}
