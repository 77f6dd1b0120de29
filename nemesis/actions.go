package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// startPartition cuts the network in the given shape ("start-partition").
// Paused nodes cannot run commands: they get their rules when resumed.
func (n *Nemesis) startPartition(ctx context.Context, shape string, r *rand.Rand) error {
	n.setDoing("start-partition " + shape)
	defer n.setDoing("")
	return n.record("start-partition", map[string]any{"shape": shape}, func() (any, error) {
		n.mu.Lock()
		already := n.cut
		n.mu.Unlock()
		if already != nil {
			return nil, fmt.Errorf("already partitioned: %s", already)
		}
		leader := ""
		if shape == ShapeLeader {
			l, err := n.leader(ctx)
			if err != nil {
				return nil, err
			}
			leader = l
		}
		cut, err := MakeCut(shape, n.ids(), leader, r)
		if err != nil {
			return nil, err
		}
		cmds, err := GrudgeCommands(cut.Grudge, n.c.Nodes())
		if err != nil {
			return nil, err
		}
		n.mu.Lock()
		n.cut = &cut // in force from now on, even if applying fails half way
		n.mu.Unlock()
		up, deferred := n.splitPaused(n.ids())
		applied, err := n.each(ctx, up, func(ctx context.Context, node string) error {
			return applyCommands(ctx, n.c, node, cmds[node])
		})
		v := map[string]any{"shape": shape, "grudge": cut.Grudge, "applied": applied}
		if cut.Components != nil {
			v["components"] = cut.Components
		}
		if cut.Bridge != "" {
			v["bridge"] = cut.Bridge
		}
		if leader != "" {
			v["leader"] = leader
		}
		if len(deferred) > 0 {
			v["deferred"] = deferred
		}
		return v, err
	})
}

// stopPartition heals the partition: flush our chain on every node that is
// not paused ("stop-partition"); paused ones are flushed when resumed.
func (n *Nemesis) stopPartition(ctx context.Context) error {
	n.setDoing("stop-partition")
	defer n.setDoing("")
	return n.record("stop-partition", nil, func() (any, error) {
		n.mu.Lock()
		n.cut = nil
		n.mu.Unlock()
		up, deferred := n.splitPaused(n.ids())
		healed, err := n.each(ctx, up, n.syncPartition)
		v := map[string]any{"healed": healed}
		if len(deferred) > 0 {
			v["deferred"] = deferred
		}
		return v, err
	})
}

// syncPartition makes the node's chain match the partition in force: its
// rules of the grudge, or none. It is idempotent.
func (n *Nemesis) syncPartition(ctx context.Context, node string) error {
	n.mu.Lock()
	var g Grudge
	if n.cut != nil {
		g = n.cut.Grudge
	}
	n.mu.Unlock()
	cmds, err := GrudgeCommands(g, n.c.Nodes())
	if err != nil {
		return err
	}
	if _, ok := cmds[node]; !ok {
		return fmt.Errorf("node %q is not in the cluster", node)
	}
	return applyCommands(ctx, n.c, node, cmds[node])
}

// splitPaused splits nodes into those that can run commands and those we paused.
func (n *Nemesis) splitPaused(nodes []string) (up, paused []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range nodes {
		if n.paused[id] {
			paused = append(paused, id)
		} else {
			up = append(up, id)
		}
	}
	return up, paused
}

// kill SIGKILLs the target nodes ("kill"). Targets are chosen among nodes
// neither killed nor paused, and marked killed before acting, so that a
// later start tries them all.
func (n *Nemesis) kill(ctx context.Context, target string, r *rand.Rand) error {
	n.setDoing("kill " + target)
	defer n.setDoing("")
	return n.record("kill", map[string]any{"target": target}, func() (any, error) {
		nodes, err := n.targets(ctx, target, r)
		if err != nil {
			return nil, err
		}
		n.mark(n.killed, nodes)
		done, err := n.each(ctx, nodes, n.c.Kill)
		return map[string]any{"target": target, "nodes": nodes, "killed": done}, err
	})
}

// startKilled starts every killed node again and puts the partition in
// force back on it ("start").
func (n *Nemesis) startKilled(ctx context.Context) error {
	n.setDoing("start")
	defer n.setDoing("")
	return n.record("start", nil, func() (any, error) {
		nodes := n.members(n.killed)
		started, err := n.each(ctx, nodes, func(ctx context.Context, node string) error {
			if err := n.c.Start(ctx, node); err != nil {
				return err
			}
			n.forget(n.killed, []string{node})
			n.mu.Lock()
			delete(n.skew, node) // a new process starts on a true clock
			n.mu.Unlock()
			if err := n.syncPartition(ctx, node); err != nil {
				return fmt.Errorf("started, but re-applying the partition failed: %w", err)
			}
			return nil
		})
		return map[string]any{"started": started, "partition": n.cutString()}, err
	})
}

// pause freezes the target nodes ("pause"), chosen like kill's.
func (n *Nemesis) pause(ctx context.Context, target string, r *rand.Rand) error {
	n.setDoing("pause " + target)
	defer n.setDoing("")
	return n.record("pause", map[string]any{"target": target}, func() (any, error) {
		nodes, err := n.targets(ctx, target, r)
		if err != nil {
			return nil, err
		}
		n.mark(n.paused, nodes)
		done, err := n.each(ctx, nodes, n.c.Pause)
		return map[string]any{"target": target, "nodes": nodes, "paused": done}, err
	})
}

// resumePaused resumes every paused node ("resume"), then brings it up to
// date: the partition in force (or none), and a clock reset if the clock
// fault ended while it was frozen.
func (n *Nemesis) resumePaused(ctx context.Context) error {
	n.setDoing("resume")
	defer n.setDoing("")
	return n.record("resume", nil, func() (any, error) {
		nodes := n.members(n.paused)
		resumed, err := n.each(ctx, nodes, func(ctx context.Context, node string) error {
			if err := n.c.Resume(ctx, node); err != nil {
				return err
			}
			n.forget(n.paused, []string{node})
			if err := n.syncPartition(ctx, node); err != nil {
				return fmt.Errorf("resumed, but syncing the partition failed: %w", err)
			}
			n.mu.Lock()
			_, skewed := n.skew[node]
			stale := skewed && !n.clockOn
			n.mu.Unlock()
			if stale {
				if err := n.resetClock(ctx, node); err != nil {
					return fmt.Errorf("resumed, but resetting its clock failed: %w", err)
				}
			}
			return nil
		})
		return map[string]any{"resumed": resumed, "partition": n.cutString()}, err
	})
}

// targets resolves a kill or pause target against the live cluster.
func (n *Nemesis) targets(ctx context.Context, target string, r *rand.Rand) ([]string, error) {
	leader := ""
	if target == TargetLeader {
		l, err := n.leader(ctx)
		if err != nil {
			return nil, err
		}
		leader = l
	}
	return Targets(target, n.ids(), n.eligible(), leader, r)
}

// cutString describes the partition in force ("none" if none).
func (n *Nemesis) cutString() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cut == nil {
		return "none"
	}
	return n.cut.String()
}

// skewClocks applies a clock fault ("bump-clock", "strobe-clock" or
// "rate-clock") on random nodes that are up and unfrozen.
func (n *Nemesis) skewClocks(ctx context.Context, mode string, r *rand.Rand) error {
	f := mode + "-clock"
	n.setDoing(f)
	defer n.setDoing("")
	return n.record(f, map[string]any{"mode": mode}, func() (any, error) {
		eligible := n.eligible()
		if mode == ClockModeRateLeader {
			l, err := n.leader(ctx)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(eligible, l) {
				return map[string]any{"mode": mode, "leader": l}, fmt.Errorf("no target: no leader that is up and unfrozen (leader %q)", l)
			}
			eligible = []string{l}
		}
		p, err := PlanClock(mode, eligible, r)
		if err != nil {
			return nil, err
		}
		n.mu.Lock()
		n.clockOn = true
		for _, node := range p.Nodes {
			s := n.skew[node]
			s.strobe = s.strobe || mode == ClockModeStrobe
			n.skew[node] = s // marked before acting: reset will cover it
		}
		n.mu.Unlock()
		switch mode {
		case ClockModeBump:
			done, err := n.each(ctx, p.Nodes, func(ctx context.Context, node string) error {
				if err := n.c.Clock(ctx, node, ClockJump, p.Jumps[node], 0); err != nil {
					return err
				}
				n.mu.Lock()
				s := n.skew[node]
				s.offset += p.Jumps[node]
				n.skew[node] = s
				n.mu.Unlock()
				return nil
			})
			return map[string]any{"mode": mode, "nodes": p.Nodes, "done": done,
				"jumps_ms": millis(p.Jumps), "offsets_ms": n.offsetsMillis(p.Nodes)}, err
		case ClockModeRate, ClockModeRateLeader:
			done, err := n.each(ctx, p.Nodes, func(ctx context.Context, node string) error {
				if err := n.c.Clock(ctx, node, ClockRate, 0, p.Rates[node]); err != nil {
					return err
				}
				n.mu.Lock()
				s := n.skew[node]
				s.rate = p.Rates[node]
				n.skew[node] = s
				n.mu.Unlock()
				return nil
			})
			return map[string]any{"mode": mode, "nodes": p.Nodes, "done": done, "rates": p.Rates}, err
		default: // ClockModeStrobe
			flips, err := n.strobe(ctx, p)
			n.mu.Lock()
			for _, node := range p.Nodes {
				s := n.skew[node]
				s.strobe = false
				n.skew[node] = s
			}
			n.mu.Unlock()
			return map[string]any{"mode": mode, "nodes": p.Nodes, "delta_ms": p.Delta.Milliseconds(),
				"period_ms": p.Period.Milliseconds(), "duration_ms": p.Duration.Milliseconds(), "flips": flips}, err
		}
	})
}

// strobe jumps each node's clock by +Delta then -Delta every Period for
// Duration, nodes in parallel, and returns how many jumps each node took.
// When ctx ends, a node that has just jumped forward still jumps back, so the
// offsets end where they started unless a jump fails.
func (n *Nemesis) strobe(ctx context.Context, p ClockPlan) (map[string]int, error) {
	end := time.Now().Add(p.Duration)
	counts := make([]int, len(p.Nodes))
	errs := make([]error, len(p.Nodes))
	var wg sync.WaitGroup
	for i, node := range p.Nodes {
		wg.Go(func() {
			for k := 0; ; k++ {
				forward := k%2 == 0
				if forward && (ctx.Err() != nil || time.Now().After(end)) {
					return
				}
				d := p.Delta
				if !forward {
					d = -d
				}
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.timeout())
				err := n.c.Clock(cctx, node, ClockJump, d, 0)
				cancel()
				if err != nil {
					errs[i] = fmt.Errorf("jump %v after %d jumps: %w", d, k, err)
					return
				}
				counts[i]++
				t := time.NewTimer(p.Period)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
		})
	}
	wg.Wait()
	flips := map[string]int{}
	for i, node := range p.Nodes {
		flips[node] = counts[i]
	}
	_, err := nodeErrors(p.Nodes, errs)
	return flips, err
}

// resetClocks stops the clock fault ("reset-clock"): every clock we moved is
// reset, except on frozen nodes, which are reset when resumed.
func (n *Nemesis) resetClocks(ctx context.Context) error {
	n.setDoing("reset-clock")
	defer n.setDoing("")
	return n.record("reset-clock", nil, func() (any, error) {
		n.mu.Lock()
		n.clockOn = false
		var skewed []string
		for _, id := range n.idsLocked() {
			if _, ok := n.skew[id]; ok {
				skewed = append(skewed, id)
			}
		}
		n.mu.Unlock()
		up, deferred := n.splitPaused(skewed)
		reset, err := n.each(ctx, up, n.resetClock)
		v := map[string]any{"reset": reset}
		if len(deferred) > 0 {
			v["deferred"] = deferred
		}
		return v, err
	})
}

// resetClock puts one node's clock back to true time and speed.
func (n *Nemesis) resetClock(ctx context.Context, node string) error {
	if err := n.c.Clock(ctx, node, ClockReset, 0, 0); err != nil {
		return err
	}
	n.mu.Lock()
	delete(n.skew, node)
	n.mu.Unlock()
	return nil
}

// offsetsMillis is the offset we believe each node's clock has, in ms.
func (n *Nemesis) offsetsMillis(nodes []string) map[string]int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]int64{}
	for _, id := range nodes {
		out[id] = n.skew[id].offset.Milliseconds()
	}
	return out
}

// millis converts durations to milliseconds.
func millis(m map[string]time.Duration) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		out[k] = v.Milliseconds()
	}
	return out
}
