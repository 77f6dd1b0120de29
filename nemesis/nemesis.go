package nemesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/raftlab/raftlab/history"
)

// DefaultTimeout bounds each fault action on one node (a kill, the iptables
// commands of one node, one clock call) and each Leader call.
const DefaultTimeout = 10 * time.Second

// Nemesis applies faults to a cluster, records each action in the history,
// and remembers what is in force so that it can re-apply a partition after a
// restart and heal everything at the end. Its methods are safe to call from
// several goroutines; actions run one at a time.
type Nemesis struct {
	// Timeout bounds each action on one node and each Leader call
	// (DefaultTimeout when zero). Set it before the first action.
	Timeout time.Duration

	c   Cluster
	rec Recorder

	act sync.Mutex // held for the whole of each action

	mu      sync.Mutex // guards the fields below
	cut     *Cut       // the partition in force, nil if none
	killed  map[string]bool
	paused  map[string]bool
	skew    map[string]clockSkew // nodes whose clock we moved
	clockOn bool                 // a clock fault is in force
	doing   string               // the action in flight, for State
}

// clockSkew is what we did to one node's clock.
type clockSkew struct {
	offset time.Duration
	rate   float64 // 0: true speed
	strobe bool
}

// New returns a nemesis acting on c and recording to rec. Nothing is faulty yet.
func New(c Cluster, rec Recorder) *Nemesis {
	return &Nemesis{c: c, rec: rec, killed: map[string]bool{}, paused: map[string]bool{}, skew: map[string]clockSkew{}}
}

// Run executes the steps at their times (Step.At from the call to Run; a
// step that is late runs at once) and returns nil when they are done, or
// ctx.Err() as soon as ctx ends. A step that fails is recorded with its error
// and the run goes on. Run does not heal: cancel Run, wait for it to return,
// then call HealAll.
func (n *Nemesis) Run(ctx context.Context, steps []Step) error {
	start := time.Now()
	for _, s := range steps {
		if wait := time.Until(start.Add(s.At)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		_ = n.Do(ctx, s) // recorded in the history
	}
	return nil
}

// Do performs one step now, records it (an invocation and a completion op)
// and returns the error it recorded, if any.
func (n *Nemesis) Do(ctx context.Context, s Step) error {
	n.act.Lock()
	defer n.act.Unlock()
	r := stepRand(s.Seed)
	switch {
	case s.Fault == Partition && s.Start:
		return n.startPartition(ctx, s.Mode, r)
	case s.Fault == Partition:
		return n.stopPartition(ctx)
	case s.Fault == Kill && s.Start:
		return n.kill(ctx, s.Mode, r)
	case s.Fault == Kill:
		return n.startKilled(ctx)
	case s.Fault == Pause && s.Start:
		return n.pause(ctx, s.Mode, r)
	case s.Fault == Pause:
		return n.resumePaused(ctx)
	case s.Fault == Clock && s.Start:
		return n.skewClocks(ctx, s.Mode, r)
	case s.Fault == Clock:
		return n.resetClocks(ctx)
	}
	err := fmt.Errorf("unknown fault %q; valid: %s", s.Fault, strings.Join(faultNames, ", "))
	return n.record("unknown-fault", map[string]any{"step": s.String()}, func() (any, error) { return nil, err })
}

// stepRand is the random source of a step's choices against the live cluster.
func stepRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// HealAll leaves nothing faulty, whatever happened before: it resumes every
// node we paused, flushes our chain on every node, starts every node we
// killed and resets the clock of every node it did not just start. Each of
// the four is recorded (resume, stop-partition, start, reset-clock), even
// when there is nothing to do, and each action on a node has its own
// timeout. It ignores ctx's cancellation, so it heals even when given the
// run's cancelled context. It is idempotent; a second call retries what the
// first could not do. The errors are returned joined.
func (n *Nemesis) HealAll(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	n.act.Lock()
	defer n.act.Unlock()
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, n.doingNow()+": "+err.Error())
		}
	}
	ids := n.ids()

	n.setDoing("resume")
	paused := n.members(n.paused)
	note(n.record("resume", map[string]any{"nodes": paused}, func() (any, error) {
		ok, err := n.each(ctx, paused, n.c.Resume)
		n.forget(n.paused, ok)
		return map[string]any{"resumed": ok}, err
	}))

	n.setDoing("stop-partition")
	n.mu.Lock()
	n.cut = nil
	n.mu.Unlock()
	note(n.record("stop-partition", map[string]any{"nodes": ids}, func() (any, error) {
		ok, err := n.each(ctx, ids, func(ctx context.Context, node string) error {
			return applyCommands(ctx, n.c, node, [][]string{ipt("-F", Chain)})
		})
		return map[string]any{"healed": ok}, err
	}))

	n.setDoing("start")
	killed := n.members(n.killed)
	note(n.record("start", map[string]any{"nodes": killed}, func() (any, error) {
		ok, err := n.each(ctx, killed, n.c.Start)
		n.forget(n.killed, ok)
		n.mu.Lock()
		for _, node := range killed {
			delete(n.skew, node) // a fresh process, or one that is down: either way no skew to reset
		}
		n.mu.Unlock()
		return map[string]any{"started": ok}, err
	}))

	n.setDoing("reset-clock")
	n.mu.Lock()
	n.clockOn = false
	var reset []string
	for _, id := range ids {
		if !slices.Contains(killed, id) && !n.paused[id] {
			reset = append(reset, id)
		}
	}
	n.mu.Unlock()
	note(n.record("reset-clock", map[string]any{"nodes": reset}, func() (any, error) {
		ok, err := n.each(ctx, reset, n.resetClock)
		return map[string]any{"reset": ok}, err
	}))

	n.setDoing("")
	if len(errs) > 0 {
		return fmt.Errorf("heal: %s", strings.Join(errs, "; "))
	}
	return nil
}

// State describes what is in force, for a live progress line:
// "healthy", or e.g. "partition halves [n1 n2 | n3 n4 n5]; killed n3;
// paused n2; clock n1+1.234s n4×1.5", prefixed by the action in flight.
func (n *Nemesis) State() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var parts []string
	if n.doing != "" {
		parts = append(parts, n.doing+"…")
	}
	if n.cut != nil {
		parts = append(parts, "partition "+n.cut.String())
	}
	if k := n.membersLocked(n.killed); len(k) > 0 {
		parts = append(parts, "killed "+strings.Join(k, " "))
	}
	if p := n.membersLocked(n.paused); len(p) > 0 {
		parts = append(parts, "paused "+strings.Join(p, " "))
	}
	var clocks []string
	for _, id := range n.idsLocked() {
		s, ok := n.skew[id]
		if !ok {
			continue
		}
		d := id
		if s.strobe {
			d += " strobing"
		}
		if s.offset != 0 {
			d += fmt.Sprintf("%+v", s.offset)
		}
		if s.rate != 0 {
			d += fmt.Sprintf("×%g", s.rate)
		}
		clocks = append(clocks, d)
	}
	if len(clocks) > 0 {
		parts = append(parts, "clock "+strings.Join(clocks, " "))
	}
	if len(parts) == 0 {
		return "healthy"
	}
	return strings.Join(parts, "; ")
}

// record writes the invocation of f with value in, runs act, and writes the
// completion with act's value and error; both are info ops of the nemesis
// process, as in Jepsen. It returns act's error. A failure to store an op is
// the recorder's to report (the history writer's error); the fault goes on.
func (n *Nemesis) record(f string, in any, act func() (any, error)) error {
	_, _ = n.rec.Record(history.Op{Process: history.Nemesis, Type: history.Info, F: f, Value: in})
	out, err := act()
	op := history.Op{Process: history.Nemesis, Type: history.Info, F: f, Value: out}
	if err != nil {
		op.Error = err.Error()
	}
	_, _ = n.rec.Record(op)
	return err
}

// each runs fn on the nodes in parallel, each call with its own timeout. It
// returns the nodes where fn succeeded (in the given order) and an error
// naming every node where it failed.
func (n *Nemesis) each(ctx context.Context, nodes []string, fn func(context.Context, string) error) ([]string, error) {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, n.timeout())
			defer cancel()
			errs[i] = fn(ctx, node)
		})
	}
	wg.Wait()
	return nodeErrors(nodes, errs)
}

// nodeErrors returns the nodes whose error is nil, and an error naming
// each node whose error is not ("n2: ...; n4: ...").
func nodeErrors(nodes []string, errs []error) ([]string, error) {
	ok := []string{}
	var msgs []string
	for i, err := range errs {
		if err != nil {
			msgs = append(msgs, nodes[i]+": "+err.Error())
		} else {
			ok = append(ok, nodes[i])
		}
	}
	if len(msgs) > 0 {
		return ok, errors.New(strings.Join(msgs, "; "))
	}
	return ok, nil
}

// timeout is the per-action timeout.
func (n *Nemesis) timeout() time.Duration {
	if n.Timeout > 0 {
		return n.Timeout
	}
	return DefaultTimeout
}

// leader asks the cluster for its leader, within the timeout.
func (n *Nemesis) leader(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	l, err := n.c.Leader(ctx)
	if err != nil {
		return "", fmt.Errorf("find the leader: %w", err)
	}
	return l, nil
}

// ids lists the cluster's node ids in order.
func (n *Nemesis) ids() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.idsLocked()
}

// idsLocked is ids with n.mu held.
func (n *Nemesis) idsLocked() []string {
	nodes := n.c.Nodes()
	ids := make([]string, len(nodes))
	for i, nd := range nodes {
		ids[i] = nd.ID
	}
	return ids
}

// members lists the nodes in set, in cluster order.
func (n *Nemesis) members(set map[string]bool) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.membersLocked(set)
}

// membersLocked is members with n.mu held.
func (n *Nemesis) membersLocked(set map[string]bool) []string {
	var out []string
	for _, id := range n.idsLocked() {
		if set[id] {
			out = append(out, id)
		}
	}
	// Nodes the cluster no longer lists still count.
	for id := range set {
		if set[id] && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// eligible lists the nodes neither killed nor paused, in cluster order.
func (n *Nemesis) eligible() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, id := range n.idsLocked() {
		if !n.killed[id] && !n.paused[id] {
			out = append(out, id)
		}
	}
	return out
}

// mark adds nodes to set.
func (n *Nemesis) mark(set map[string]bool, nodes []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range nodes {
		set[id] = true
	}
}

// forget removes nodes from set.
func (n *Nemesis) forget(set map[string]bool, nodes []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range nodes {
		delete(set, id)
	}
}

// doingNow is the action in flight.
func (n *Nemesis) doingNow() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.doing
}

// setDoing names the action in flight ("" when none).
func (n *Nemesis) setDoing(s string) {
	n.mu.Lock()
	n.doing = s
	n.mu.Unlock()
}
