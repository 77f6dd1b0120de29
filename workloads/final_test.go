package workloads

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raftlab/raftlab/history"
)

// finalOps returns the ops of processes at or above first.
func finalOps(ops []history.Op, first history.Process) []history.Op {
	var out []history.Op
	for _, op := range ops {
		if op.Process >= first {
			out = append(out, op)
		}
	}
	return out
}

func TestFinalSetReadsEveryNode(t *testing.T) {
	store := newFakeStore()
	store.inject = randomFaults(5, 0.02, definite, unknownDone, unknownLost)
	const conc = 5
	w, rec := testRun(t, Set, store, Config{Concurrency: conc, ReadMode: ReadStale}, 1000)
	runOps := rec.history()
	first := processes(runOps)[len(processes(runOps))-1] + 1

	// Heal: n2 fails its first two reads, then recovers.
	n2fails := 2
	store.mu.Lock()
	store.inject = func(c call) fault {
		if c.node == "http://fake-n2" && n2fails > 0 {
			n2fails--
			return definite
		}
		return none
	}
	store.modes = map[string]bool{}
	store.mu.Unlock()
	if err := w.Final(context.Background()); err != nil {
		t.Fatalf("Final: %v", err)
	}

	ops := rec.history()
	for _, e := range checkWellFormed(ops, conc, w.Config().Nodes, first) {
		t.Error(e)
	}
	acked := map[int64]bool{}
	for _, op := range runOps {
		if op.Type == history.OK {
			acked[op.Value.(int64)] = true
		}
	}
	okByNode := map[string][]int64{}
	procByNode := map[string]history.Process{}
	fails := 0
	for _, op := range finalOps(ops, first) {
		if op.F != history.FRead || op.Key != "set" {
			t.Errorf("final op %+v: want a read of key set", op)
		}
		if p, ok := procByNode[op.Node]; ok && p != op.Process {
			t.Errorf("node %s read by processes %d and %d, want one", op.Node, p, op.Process)
		}
		procByNode[op.Node] = op.Process
		switch op.Type {
		case history.OK:
			okByNode[op.Node] = op.Value.([]int64)
		case history.Fail:
			fails++
		}
	}
	if got := slices.Sorted(maps.Keys(okByNode)); !slices.Equal(got, []string{"n1", "n2", "n3"}) {
		t.Fatalf("final reads succeeded on %v, want every node n1 n2 n3", got)
	}
	if fails != 2 {
		t.Errorf("%d failed final reads recorded, want the 2 injected on n2", fails)
	}
	for node, els := range okByNode {
		for v := range acked {
			if !slices.Contains(els, v) {
				t.Errorf("final read on %s lacks acknowledged element %d", node, v)
			}
		}
	}
	if !store.modes[ReadStale] || len(store.modes) != 1 {
		t.Errorf("final set reads used modes %v, want the run's mode stale", store.modes)
	}
}

func TestFinalReportsNodeThatNeverAnswers(t *testing.T) {
	store := newFakeStore()
	w, rec := testRun(t, Set, store, Config{Concurrency: 3}, 100)
	store.mu.Lock()
	store.inject = func(c call) fault {
		if c.node == "http://fake-n3" {
			return definite
		}
		return none
	}
	store.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	err := w.Final(ctx)
	if err == nil || !strings.Contains(err.Error(), "node n3") || strings.Contains(err.Error(), "node n1") {
		t.Fatalf("Final error %v, want one naming node n3 only", err)
	}
	// The failed attempts are in the history.
	n3 := 0
	for _, op := range rec.history() {
		if op.Node == "n3" && op.F == history.FRead && op.Type == history.Fail {
			n3++
		}
	}
	if n3 < 2 {
		t.Errorf("%d failed final reads on n3 recorded, want several retries", n3)
	}
}

func TestFinalRegistersReadsEveryKeyLinearizably(t *testing.T) {
	store := newFakeStore()
	const conc = 6
	w, rec := testRun(t, Registers, store, Config{Concurrency: conc, OpsPerKey: 20, ReadMode: ReadLease}, 600)
	runOps := rec.history()
	first := processes(runOps)[len(processes(runOps))-1] + 1
	store.mu.Lock()
	store.modes = map[string]bool{}
	store.mu.Unlock()
	if err := w.Final(context.Background()); err != nil {
		t.Fatalf("Final: %v", err)
	}
	touched := map[string]bool{}
	for _, op := range runOps {
		touched[op.Key] = true
	}
	read := map[string]int{}
	nodes := map[string]bool{}
	for _, op := range finalOps(rec.history(), first) {
		if op.Type == history.OK {
			read[op.Key]++
			nodes[op.Node] = true
			want, written := store.regs[op.Key]
			if written && op.Value != want || !written && op.Value != nil {
				t.Errorf("final read of %s = %v, store holds %v", op.Key, op.Value, want)
			}
		}
	}
	for k := range touched {
		if read[k] != 1 {
			t.Errorf("key %s read %d times at the end, want once", k, read[k])
		}
	}
	if len(read) != len(touched) || len(nodes) != 3 {
		t.Errorf("final reads covered %d keys on %d nodes, want %d keys spread over 3 nodes", len(read), len(nodes), len(touched))
	}
	if !store.modes[ReadLinearizable] || len(store.modes) != 1 {
		t.Errorf("final register reads used modes %v, want linearizable only", store.modes)
	}
}
