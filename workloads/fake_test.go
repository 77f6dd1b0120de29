package workloads

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/raftlab/raftlab/history"
)

// This file holds the test doubles: an in-memory linearizable KV with fault
// knobs, and a recorder that keeps the history in memory.

var (
	errDefinite = errors.New("503: no leader (certainly not applied)")
	errUnknown  = errors.New("504: leadership lost mid-flight")
)

// call describes one request to the fake, for fault decisions.
type call struct {
	node, client, f, key string
}

// fault is what the fake does to one request.
type fault int

const (
	none        fault = iota
	definite          // return errDefinite, do nothing
	unknownDone       // apply, then return errUnknown
	unknownLost       // return errUnknown, do nothing
	hangDone          // apply, then block until the op's deadline
	hangLost          // block until the op's deadline, do nothing
	staleRead         // a bug: a register read returns the value before the last write
	lostWrite         // a bug: a write, cas or add is acknowledged but not applied
)

// fakeStore is a linearizable map (every request takes one mutex), shared by
// all fake clients, with a knob to inject faults.
type fakeStore struct {
	mu    sync.Mutex
	regs  map[string]int64
	prev  map[string]int64 // the value each register held before its last change
	sets  map[string][]int64
	modes map[string]bool     // read modes seen
	dials map[string][]string // node URL -> client ids dialed
	// inject decides the fault for a request (nil: none). It is called with
	// mu held, so it may keep unsynchronised state.
	inject func(call) fault
}

func newFakeStore() *fakeStore {
	return &fakeStore{regs: map[string]int64{}, prev: map[string]int64{}, sets: map[string][]int64{}, modes: map[string]bool{}, dials: map[string][]string{}}
}

// randomFaults injects each kind of fault with probability p, from a seeded
// source, on every kind of request.
func randomFaults(seed uint64, p float64, kinds ...fault) func(call) fault {
	rng := rand.New(rand.NewPCG(seed, 0))
	return func(call) fault {
		if rng.Float64() < p*float64(len(kinds)) {
			return kinds[rng.IntN(len(kinds))]
		}
		return none
	}
}

// dial is a Config.Dial for the fake.
func (s *fakeStore) dial(url, id string) KV {
	s.mu.Lock()
	s.dials[url] = append(s.dials[url], id)
	s.mu.Unlock()
	return &fakeClient{s: s, node: url, id: id}
}

// fakeClient is one process's client of the fake store.
type fakeClient struct {
	s        *fakeStore
	node, id string
}

// do runs apply under the store's lock with the fault the knob chooses.
func (c *fakeClient) do(ctx context.Context, f, key string, apply func()) error {
	_, err := c.doFault(ctx, f, key, apply)
	return err
}

// doFault is do, also returning the fault it injected.
func (c *fakeClient) doFault(ctx context.Context, f, key string, apply func()) (fault, error) {
	c.s.mu.Lock()
	fl := none
	if c.s.inject != nil {
		fl = c.s.inject(call{node: c.node, client: c.id, f: f, key: key})
	}
	if fl == lostWrite && f == "read" {
		fl = none // only writes get lost
	}
	if fl == unknownDone || fl == hangDone || fl == none || fl == staleRead {
		apply()
	}
	c.s.mu.Unlock()
	switch fl {
	case definite:
		return fl, errDefinite
	case unknownDone, unknownLost:
		return fl, errUnknown
	case hangDone, hangLost:
		<-ctx.Done()
		return fl, fmt.Errorf("request: %w", ctx.Err())
	}
	return fl, nil
}

// set changes a register, remembering its previous value. Call with mu held.
func (s *fakeStore) set(key string, v int64) {
	if old, ok := s.regs[key]; ok {
		s.prev[key] = old
	}
	s.regs[key] = v
}

func (c *fakeClient) Read(ctx context.Context, key, mode string) (*int64, error) {
	var out, prev *int64
	fl, err := c.doFault(ctx, "read", key, func() {
		c.s.modes[mode] = true
		if v, ok := c.s.regs[key]; ok {
			out = &v
		}
		if v, ok := c.s.prev[key]; ok {
			prev = &v
		}
	})
	if err != nil {
		return nil, err
	}
	if fl == staleRead && prev != nil {
		return prev, nil
	}
	return out, nil
}

func (c *fakeClient) Write(ctx context.Context, key string, v int64) error {
	return c.do(ctx, "write", key, func() { c.s.set(key, v) })
}

func (c *fakeClient) CAS(ctx context.Context, key string, from, to int64) (bool, error) {
	var swapped bool
	err := c.do(ctx, "cas", key, func() {
		if v, ok := c.s.regs[key]; ok && v == from {
			c.s.set(key, to)
			swapped = true
		}
	})
	return swapped && err == nil, err
}

func (c *fakeClient) Add(ctx context.Context, key string, e int64) error {
	return c.do(ctx, "add", key, func() { c.s.sets[key] = append(c.s.sets[key], e) })
}

func (c *fakeClient) ReadSet(ctx context.Context, key, mode string) ([]int64, error) {
	var out []int64
	err := c.do(ctx, "read", key, func() {
		c.s.modes[mode] = true
		out = slices.Sorted(slices.Values(c.s.sets[key]))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// memRecorder keeps the history in memory and cancels the run after
// limit invocations (0: never), or once stop returns true for an op.
type memRecorder struct {
	mu      sync.Mutex
	ops     []history.Op
	start   time.Time
	invokes int
	limit   int
	stop    func(history.Op) bool
	cancel  context.CancelFunc
}

func newMemRecorder(limit int, cancel context.CancelFunc) *memRecorder {
	return &memRecorder{start: time.Now(), limit: limit, cancel: cancel}
}

// Record stamps op with its index and time and keeps it.
func (r *memRecorder) Record(op history.Op) history.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Index = int64(len(r.ops))
	op.Time = time.Since(r.start).Nanoseconds()
	r.ops = append(r.ops, op)
	if op.Type == history.Invoke {
		r.invokes++
		if r.limit > 0 && r.invokes == r.limit {
			r.cancel()
		}
	}
	if r.stop != nil && r.stop(op) {
		r.cancel()
	}
	return op
}

// history returns a copy of the ops so far.
func (r *memRecorder) history() []history.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops)
}

// testNodes returns n endpoints n1..nn with fake URLs.
func testNodes(n int) []Endpoint {
	var out []Endpoint
	for i := 1; i <= n; i++ {
		out = append(out, Endpoint{ID: fmt.Sprintf("n%d", i), URL: fmt.Sprintf("http://fake-n%d", i)})
	}
	return out
}

// testRun runs workload name against store until limit invocations were
// recorded (or stop, if given, returns true), and returns the workload and
// the recorder.
func testRun(t testing.TB, name string, store *fakeStore, cfg Config, limit int, stop ...func(history.Op) bool) (*Workload, *memRecorder) {
	t.Helper()
	// The deadline only guards against a broken stop condition hanging the
	// test; runs normally end at the limit long before it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := newMemRecorder(limit, cancel)
	if len(stop) > 0 {
		rec.stop = stop[0]
	}
	cfg.Recorder = rec
	cfg.Dial = store.dial
	cfg.IsDefinite = func(err error) bool { return errors.Is(err, errDefinite) }
	if cfg.Nodes == nil {
		cfg.Nodes = testNodes(3)
	}
	w, err := New(name, cfg)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	if err := w.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return w, rec
}
