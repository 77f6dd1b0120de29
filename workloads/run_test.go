package workloads

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raftlab/raftlab/history"
)

// checkWellFormed reports what is wrong with a run's history: every invoke
// has exactly one completion by the same process with the same f and key; a
// process whose op ended info never appears again; worker i uses processes i,
// i+c, i+2c, ... in that order, talks to node i mod n, and moves on only
// after an info. Processes at or above limit (final reads) are skipped.
func checkWellFormed(ops []history.Op, conc int, nodes []Endpoint, limit history.Process) []string {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	pending := map[history.Process]history.Op{}
	retired := map[history.Process]bool{}
	current := map[int]history.Process{} // worker -> process in use
	for _, op := range ops {
		p := op.Process
		if p >= limit {
			continue
		}
		if retired[p] {
			bad("op %d: process %d used after its info", op.Index, p)
		}
		worker := int(p) % conc
		if want := nodes[worker%len(nodes)].ID; op.Node != want {
			bad("op %d: process %d (worker %d) talked to %s, want %s", op.Index, p, worker, op.Node, want)
		}
		if cur, ok := current[worker]; !ok && p != history.Process(worker) {
			bad("op %d: worker %d started as process %d, want %d", op.Index, worker, p, worker)
		} else if ok && p != cur && (p != cur+history.Process(conc) || !retired[cur]) {
			bad("op %d: worker %d moved from process %d to %d (retired: %v)", op.Index, worker, cur, p, retired[cur])
		}
		current[worker] = p
		inv, open := pending[p]
		switch {
		case op.Type == history.Invoke && open:
			bad("op %d: process %d invoked while op %d was open", op.Index, p, inv.Index)
		case op.Type == history.Invoke:
			pending[p] = op
		case !open:
			bad("op %d: %s completion of process %d without an invocation", op.Index, op.Type, p)
		default:
			delete(pending, p)
			if op.F != inv.F || op.Key != inv.Key {
				bad("op %d: completion %s %q does not match invocation %s %q", op.Index, op.F, op.Key, inv.F, inv.Key)
			}
			if op.Type == history.Info {
				retired[p] = true
			}
			if op.F == history.FCAS && (op.Type == history.OK) != (op.OK != nil) {
				bad("op %d: cas %s with OK=%v: only ok cas completions carry OK", op.Index, op.Type, op.OK)
			}
			if op.F == history.FRead && op.Type == history.Info {
				bad("op %d: a read ended info; reads must end ok or fail", op.Index)
			}
			if op.Type != history.OK && op.Error == "" {
				bad("op %d: %s without an error text", op.Index, op.Type)
			}
		}
	}
	for p, op := range pending {
		bad("process %d: op %d never completed", p, op.Index)
	}
	return errs
}

// count tallies ops by type.
func count(ops []history.Op) map[history.Type]int {
	m := map[history.Type]int{}
	for _, op := range ops {
		m[op.Type]++
	}
	return m
}

func TestRunHistoryWellFormed(t *testing.T) {
	all := []fault{definite, unknownDone, unknownLost, hangDone, hangLost}
	for _, name := range Names() {
		for _, tc := range []struct {
			label  string
			inject func(call) fault
		}{
			{"healthy", nil},
			{"faults", randomFaults(7, 0.03, all...)},
		} {
			t.Run(name+"/"+tc.label, func(t *testing.T) {
				store := newFakeStore()
				store.inject = tc.inject
				const conc = 7
				w, rec := testRun(t, name, store, Config{Concurrency: conc, OpTimeout: 20 * time.Millisecond}, 3000)
				ops := rec.history()
				for _, e := range checkWellFormed(ops, conc, w.Config().Nodes, 1<<30) {
					t.Error(e)
				}
				got := count(ops)
				c := w.Counts()
				if int64(got[history.Invoke]) != c.Invoked || int64(got[history.OK]) != c.OK ||
					int64(got[history.Fail]) != c.Fail || int64(got[history.Info]) != c.Info || c.InFlight() != 0 {
					t.Errorf("Counts() = %+v, history has %v", c, got)
				}
				if got[history.Invoke] < 3000 {
					t.Errorf("%d invocations, want at least 3000", got[history.Invoke])
				}
				if tc.inject != nil && (got[history.Info] == 0 || got[history.Fail] == 0) {
					t.Errorf("faults injected but history has %v: the fault knob did not take effect", got)
				}
				if tc.inject == nil && got[history.OK] != got[history.Invoke] {
					t.Errorf("healthy run has %v, want only ok completions", got)
				}
				// Every process got its own client id, dialed on its node.
				procs := map[history.Process]string{}
				for _, op := range ops {
					procs[op.Process] = op.Node
				}
				var dialed, want []string
				for url, ids := range store.dials {
					for _, id := range ids {
						dialed = append(dialed, url+" "+id)
					}
				}
				for p, node := range procs {
					want = append(want, fmt.Sprintf("http://fake-%s %s-p%d", node, w.Config().RunID, p))
				}
				if extra, missing := diff(dialed, want); len(extra)+len(missing) > 0 {
					t.Errorf("want one client per process: dialed without ops %v, ops without a client %v", extra, missing)
				}
			})
		}
	}
}

// TestInfoRetiresProcess checks the renumbering in one deterministic case:
// the first write of process 0 crashes, so worker 0 continues as process 2.
func TestInfoRetiresProcess(t *testing.T) {
	store := newFakeStore()
	crashed := false
	store.inject = func(c call) fault {
		if !crashed && c.f == "add" && strings.HasSuffix(c.client, "-p0") {
			crashed = true
			return unknownLost
		}
		return none
	}
	// Stop once the replacement process 2 has completed an op.
	w, rec := testRun(t, Set, store, Config{Concurrency: 2}, 0, func(op history.Op) bool {
		return op.Process == 2 && op.Type != history.Invoke
	})
	ops := rec.history()
	var p0 []history.Type
	var p2 int
	for _, op := range ops {
		switch op.Process {
		case 0:
			p0 = append(p0, op.Type)
		case 2:
			p2++
		}
	}
	if !slices.Equal(p0, []history.Type{history.Invoke, history.Info}) {
		t.Errorf("process 0 ops %v, want [invoke info]", p0)
	}
	if p2 == 0 {
		t.Errorf("no op by process 2 after process 0 crashed; processes: %v", processes(ops))
	}
	if got := store.dials["http://fake-n1"]; len(got) != 2 || got[1] != w.Config().RunID+"-p2" {
		t.Errorf("clients dialed on n1: %v, want p0 then p2", got)
	}
}

// processes lists the distinct processes of ops.
func processes(ops []history.Op) []history.Process {
	m := map[history.Process]bool{}
	for _, op := range ops {
		m[op.Process] = true
	}
	return slices.Sorted(maps.Keys(m))
}

// TestRecordedOutcomesMatchStore replays a one-worker history against a
// sequential model: ok ops happened and returned what the store returned,
// fail and info ops (here: certainly not applied) did not happen. It checks
// that cas results, read values and set adds are recorded right.
func TestRecordedOutcomesMatchStore(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			store := newFakeStore()
			store.inject = randomFaults(3, 0.05, definite, unknownLost, hangLost)
			_, rec := testRun(t, name, store, Config{Concurrency: 1, OpTimeout: 5 * time.Millisecond}, 2000)
			regs := map[string]int64{}
			set := map[int64]bool{}
			var inv history.Op
			casResults := map[bool]int{}
			for _, op := range rec.history() {
				if op.Type == history.Invoke {
					inv = op
					continue
				}
				if op.Type != history.OK {
					continue
				}
				switch op.F {
				case history.FWrite:
					regs[op.Key] = op.Value.(int64)
				case history.FCAS:
					ft := op.Value.([]int64)
					cur, written := regs[op.Key]
					want := written && cur == ft[0]
					if *op.OK != want {
						t.Fatalf("op %d: cas %v recorded ok=%v, but the register held %v (written %v)", op.Index, ft, *op.OK, cur, written)
					}
					casResults[want]++
					if want {
						regs[op.Key] = ft[1]
					}
				case history.FAdd:
					set[op.Value.(int64)] = true
				case history.FRead:
					if inv.Value != nil {
						t.Fatalf("op %d: read invocation with value %v, want nil", inv.Index, inv.Value)
					}
					if name == Set {
						if got, want := op.Value.([]int64), slices.Sorted(maps.Keys(set)); !slices.Equal(got, want) {
							t.Fatalf("op %d: set read %v, want %v", op.Index, got, want)
						}
						continue
					}
					cur, written := regs[op.Key]
					if !written && op.Value != nil || written && op.Value != cur {
						t.Fatalf("op %d: read %v (%T), register holds %v (written %v)", op.Index, op.Value, op.Value, cur, written)
					}
				}
			}
			if name != Set && (casResults[true] == 0 || casResults[false] == 0) {
				t.Errorf("cas outcomes %v: want both successful and failed comparisons", casResults)
			}
			if name == Set {
				if got := store.sets["set"]; len(got) != len(set) {
					t.Errorf("store holds %d elements, history acknowledges %d", len(got), len(set))
				}
			}
		})
	}
}

func TestRegistersUniqueValuesAndBoundedKeys(t *testing.T) {
	store := newFakeStore()
	store.inject = randomFaults(11, 0.02, definite, unknownDone, unknownLost)
	cfg := Config{Concurrency: 10, OpsPerKey: 60, ThreadsPerKey: 3}
	w, rec := testRun(t, Registers, store, cfg, 5000)
	ops := rec.history()
	seen := map[string]map[int64]int64{} // key -> value -> op index
	perKey := map[string]int{}
	for _, op := range ops {
		if op.Type != history.Invoke {
			continue
		}
		perKey[op.Key]++
		var v int64
		switch op.F {
		case history.FWrite:
			v = op.Value.(int64)
		case history.FCAS:
			v = op.Value.([]int64)[1]
		default:
			continue
		}
		if seen[op.Key] == nil {
			seen[op.Key] = map[int64]int64{}
		}
		if prev, dup := seen[op.Key][v]; dup {
			t.Errorf("key %s: value %d written by op %d and again by op %d", op.Key, v, prev, op.Index)
		}
		seen[op.Key][v] = op.Index
	}
	// 3 workers per key, ceil(60/3)=20 ops each.
	for k, n := range perKey {
		if n > 60 {
			t.Errorf("key %s got %d ops, want at most 60", k, n)
		}
	}
	if len(perKey) < 5000/60 {
		t.Errorf("%d keys used for 5000 ops, want at least %d", len(perKey), 5000/60)
	}
	if got := w.keys(); len(got) != len(perKey) {
		t.Errorf("workload reports %d keys touched, history has %d", len(got), len(perKey))
	}
}

func TestRateLimitHolds(t *testing.T) {
	store := newFakeStore()
	const rate, conc = 200.0, 4
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	rec := newMemRecorder(0, nil)
	w, err := New(Registers, Config{Nodes: testNodes(3), Concurrency: conc, Rate: rate, Recorder: rec, Dial: store.dial})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	n := w.Counts().Invoked
	// The mean gap is conc/rate per worker; twice the target rate plus one
	// op per worker cannot be reached by chance. A slow machine only lowers n.
	if limit := int64(2*rate*elapsed.Seconds()) + conc; n > limit || n == 0 {
		t.Errorf("%d ops in %s at rate %g, want 1..%d: the rate limit does not hold", n, elapsed, rate, limit)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	store := newFakeStore()
	ok := Config{Nodes: testNodes(1), Recorder: newMemRecorder(0, nil), Dial: store.dial}
	for _, tc := range []struct {
		name, workload string
		edit           func(*Config)
		want           string
	}{
		{"unknown workload", "queue", func(*Config) {}, "unknown workload"},
		{"no nodes", Set, func(c *Config) { c.Nodes = nil }, "at least one node"},
		{"empty url", Set, func(c *Config) { c.Nodes = []Endpoint{{ID: "n1"}} }, "empty ID or URL"},
		{"no recorder", Set, func(c *Config) { c.Recorder = nil }, "Recorder"},
		{"negative concurrency", Set, func(c *Config) { c.Concurrency = -2 }, "negative"},
		{"negative rate", Set, func(c *Config) { c.Rate = -1 }, "negative"},
		{"bad key prefix", Set, func(c *Config) { c.KeyPrefix = "run/2" }, "key prefix"},
		{"bad read mode", Set, func(c *Config) { c.ReadMode = "fast" }, "read mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := New(tc.workload, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	w, err := New("", ok)
	if err != nil || w.Name() != Default || w.Model() != Registers {
		t.Errorf("New(\"\") = %v, %v; want the default workload %s", w, err, Default)
	}
	if c := w.Config(); c.Concurrency != 1 || c.OpTimeout != DefaultOpTimeout || c.ReadMode != ReadLinearizable || c.RunID == "" {
		t.Errorf("defaults not filled: %+v", c)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(done); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := w.Run(done); err == nil {
		t.Error("a second Run was accepted; want an error")
	}
}

// diff returns the elements only in a and those only in b.
func diff(a, b []string) (onlyA, onlyB []string) {
	in := func(s []string, x string) bool { return slices.Contains(s, x) }
	for _, x := range a {
		if !in(b, x) {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if !in(a, x) {
			onlyB = append(onlyB, x)
		}
	}
	return onlyA, onlyB
}
