package workloads

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/raftlab/raftlab/history"
)

// finalRetryGap is the pause between failed final read attempts.
const finalRetryGap = 250 * time.Millisecond

// Final performs the final reads, after Run has returned and the cluster has
// been healed. Each read is recorded like any other op, under fresh process
// numbers (one per node) above every process the run used.
//
//   - set: the set is read on every node, in the run's read mode, so every
//     node's view is checked against the acknowledged adds.
//   - register: the key is read on every node, linearizably.
//   - registers: every key the run touched is read once, linearizably, the
//     keys spread round-robin over the nodes. A final read catches writes
//     that were acknowledged and then lost.
//
// A read that fails is retried every 250 ms until it succeeds or ctx ends
// (default deadline 30 s when ctx has none); the returned error names the
// reads that never succeeded. Final is not safe to call concurrently with Run.
func (w *Workload) Final(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultFinalTimeout)
		defer cancel()
	}
	mode := ReadLinearizable
	if w.name == Set {
		mode = w.cfg.ReadMode
	}
	plan := w.finalPlan()
	base := w.nextProcess()
	w.log.Info("final reads", "nodes", len(plan), "keys", len(w.keys()), "mode", mode)

	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for j, keys := range plan {
		node := w.cfg.Nodes[j]
		proc := base + history.Process(j)
		wg.Go(func() {
			kv := w.cfg.Dial(node.URL, w.clientID(proc))
			for _, key := range keys {
				if err := w.finalRead(ctx, kv, proc, node.ID, key, mode); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// finalRead reads key on node until a read succeeds or ctx ends.
func (w *Workload) finalRead(ctx context.Context, kv KV, proc history.Process, node, key, mode string) error {
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return fmt.Errorf("final read of %q on node %s did not succeed in %d attempts before the deadline: check the node's log and whether it rejoined the cluster",
				key, node, attempt-1)
		}
		if w.execute(ctx, kv, proc, node, history.Op{F: history.FRead, Key: key}, mode) == history.OK {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(finalRetryGap):
		}
	}
}

// finalPlan lists, per node (by index in Config.Nodes), the keys to read.
func (w *Workload) finalPlan() [][]string {
	n := len(w.cfg.Nodes)
	plan := make([][]string, n)
	keys := w.keys()
	if w.name != Registers {
		for j := range plan {
			plan[j] = keys
		}
		return plan
	}
	for i, k := range keys {
		plan[i%n] = append(plan[i%n], k)
	}
	return plan
}

// keys lists every key the run touched, sorted, without repeats.
func (w *Workload) keys() []string {
	if w.name != Registers {
		return newGenerator(w.name, w.cfg, 0).keys()
	}
	var out []string
	for _, g := range w.gens {
		out = append(out, g.keys()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// nextProcess returns a process number above every one used so far, and
// reserves one per node for the caller.
func (w *Workload) nextProcess() history.Process {
	w.finalMu.Lock()
	defer w.finalMu.Unlock()
	next := history.Process(w.cfg.Concurrency)
	for _, p := range w.procs {
		next = max(next, p+1)
	}
	next = max(next, w.finalNext)
	w.finalNext = next + history.Process(len(w.cfg.Nodes))
	return next
}
