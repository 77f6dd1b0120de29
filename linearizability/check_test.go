package linearizability

import (
	"context"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raftlab/raftlab/history"
)

// h builds a history from compact records: process, type, f, value, time.
// Records share one key unless a key is set with k().
type rec struct {
	p   history.Process
	t   history.Type
	f   string
	v   any
	at  int64
	key string
	ok  *bool
}

func inv(p history.Process, f string, v any, at int64) rec {
	return rec{p: p, t: history.Invoke, f: f, v: v, at: at}
}
func okr(p history.Process, f string, v any, at int64) rec {
	return rec{p: p, t: history.OK, f: f, v: v, at: at}
}
func info(p history.Process, f string, v any, at int64) rec {
	return rec{p: p, t: history.Info, f: f, v: v, at: at}
}
func fail(p history.Process, f string, v any, at int64) rec {
	return rec{p: p, t: history.Fail, f: f, v: v, at: at}
}
func casDone(p history.Process, from, to int64, ok bool, at int64) rec {
	return rec{p: p, t: history.OK, f: history.FCAS, v: []int64{from, to}, at: at, ok: &ok}
}
func cas(from, to int64) []int64 { return []int64{from, to} }

func build(rs ...rec) []history.Op {
	ops := make([]history.Op, len(rs))
	for i, r := range rs {
		v := r.v
		if n, ok := v.(int); ok {
			v = int64(n)
		}
		ops[i] = history.Op{Index: int64(i), Process: r.p, Type: r.t, F: r.f, Value: v, Time: r.at, Key: r.key, OK: r.ok}
	}
	return ops
}

func check(t *testing.T, ops []history.Op, opts Options) Result {
	t.Helper()
	if opts.Model == "" {
		opts.Model = ModelRegister
	}
	res, err := Check(context.Background(), ops, opts)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	// Pruning must never change a verdict.
	opts.NoPrune = !opts.NoPrune
	opts.VisualizeDir = ""
	other, err := Check(context.Background(), ops, opts)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if other.Verdict != res.Verdict {
		t.Fatalf("pruning changed the verdict: %s vs %s", res.Verdict, other.Verdict)
	}
	return res
}

// Each anomaly comes with a valid twin that differs as little as possible.
func TestAnomaliesAndTwins(t *testing.T) {
	cases := []struct {
		name    string
		bad     []history.Op
		good    []history.Op
		explain string // expected in the bad history's explanation
	}{
		{
			name: "stale read",
			// write 1, then write 2 completes, then a read returns 1.
			bad: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(0, "write", 2, 20), okr(0, "write", 2, 30),
				inv(1, "read", nil, 40), okr(1, "read", 1, 50)),
			// twin: the read overlaps write 2, so it may come first... no: it
			// must overlap the overwrite to legally see 1.
			good: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(0, "write", 2, 20), inv(1, "read", nil, 25), okr(0, "write", 2, 30),
				okr(1, "read", 1, 50)),
			explain: "overwritten by write 2",
		},
		{
			name: "lost write",
			// an acknowledged write 2 is followed by reads of the older value
			// from two clients.
			bad: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(1, "write", 2, 12), okr(1, "write", 2, 20),
				inv(2, "read", nil, 30), okr(2, "read", 1, 35),
				inv(3, "read", nil, 40), okr(3, "read", 1, 45)),
			// twin: the write of 2 crashed (info): it may never have happened.
			good: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(1, "write", 2, 12), info(1, "write", 2, 20),
				inv(2, "read", nil, 30), okr(2, "read", 1, 35),
				inv(3, "read", nil, 40), okr(3, "read", 1, 45)),
			explain: "overwritten by write 2",
		},
		{
			name: "double-applied cas",
			// cas 1->2 applied, then 1 written again, and the read sees 2:
			// the cas took effect a second time.
			bad: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(1, "cas", cas(1, 2), 20), casDone(1, 1, 2, true, 30),
				inv(0, "write", 1, 40), okr(0, "write", 1, 50),
				inv(2, "read", nil, 60), okr(2, "read", 2, 70)),
			// twin: the second write of 1 overlaps the cas, so the cas can
			// come after it.
			good: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(1, "cas", cas(1, 2), 20), inv(0, "write", 1, 22), okr(0, "write", 1, 25),
				casDone(1, 1, 2, true, 30),
				inv(2, "read", nil, 60), okr(2, "read", 2, 70)),
		},
		{
			name: "read of a never-written value",
			bad: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(1, "read", nil, 20), okr(1, "read", 7, 30)),
			good: build(inv(0, "write", 7, 0), okr(0, "write", 7, 10),
				inv(1, "read", nil, 20), okr(1, "read", 7, 30)),
			explain: "no operation ever wrote 7",
		},
		{
			name: "read of a failed write",
			bad: build(inv(0, "write", 7, 0), fail(0, "write", 7, 10),
				inv(1, "read", nil, 20), okr(1, "read", 7, 30)),
			// twin: an info write may have happened, even after it returned.
			good: build(inv(0, "write", 7, 0), info(0, "write", 7, 10),
				inv(1, "read", nil, 20), okr(1, "read", 7, 30)),
			explain: "failed (certainly not applied)",
		},
		{
			name: "read nil after a write",
			bad: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(1, "read", nil, 20), okr(1, "read", nil, 30)),
			good: build(inv(0, "write", 1, 0), inv(1, "read", nil, 5), okr(0, "write", 1, 10),
				okr(1, "read", nil, 30)),
			explain: "read nil",
		},
		{
			name: "read from the future",
			bad: build(inv(1, "read", nil, 0), okr(1, "read", 5, 10),
				inv(0, "write", 5, 20), okr(0, "write", 5, 30)),
			good: build(inv(1, "read", nil, 0), inv(0, "write", 5, 5), okr(1, "read", 5, 10),
				okr(0, "write", 5, 30)),
			explain: "from the future",
		},
		{
			name: "cas reported failed although it matched",
			bad: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(1, "cas", cas(1, 2), 20), casDone(1, 1, 2, false, 30),
				inv(2, "read", nil, 40), okr(2, "read", 1, 50)),
			good: build(inv(0, "write", 3, 0), okr(0, "write", 3, 10),
				inv(1, "cas", cas(1, 2), 20), casDone(1, 1, 2, false, 30),
				inv(2, "read", nil, 40), okr(2, "read", 3, 50)),
		},
		{
			name: "crashed cas took effect late",
			// A crashed cas 1->2 may apply after its info: reading 2 later is fine,
			// but reading 2 and then 1 again is not.
			bad: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(1, "cas", cas(1, 2), 20), info(1, "cas", cas(1, 2), 30),
				inv(2, "read", nil, 40), okr(2, "read", 2, 50),
				inv(2, "read", nil, 60), okr(2, "read", 1, 70)),
			good: build(inv(0, "write", 1, 0), okr(0, "write", 1, 10),
				inv(1, "cas", cas(1, 2), 20), info(1, "cas", cas(1, 2), 30),
				inv(2, "read", nil, 40), okr(2, "read", 1, 50),
				inv(2, "read", nil, 60), okr(2, "read", 2, 70)),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := check(t, c.bad, Options{})
			if bad.Verdict != Invalid {
				t.Fatalf("anomaly judged %s: %s", bad.Verdict, bad.Reason)
			}
			if c.explain != "" && !strings.Contains(bad.Keys[0].Explanation.Text, c.explain) {
				t.Errorf("explanation %q does not mention %q", bad.Keys[0].Explanation.Text, c.explain)
			}
			if len(bad.Keys[0].Explanation.OpIndices) == 0 {
				t.Errorf("explanation names no ops")
			}
			good := check(t, c.good, Options{})
			if good.Verdict != Valid {
				t.Fatalf("valid twin judged %s: %s", good.Verdict, good.Reason)
			}
		})
	}
}

func TestGeneratedValidAndMutatedInvalid(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	mutated := 0
	for i := 0; i < 300; i++ {
		cfg := genConfig{procs: 2 + rng.Intn(4), ops: 10 + rng.Intn(60), keys: rng.Intn(3), crashP: 0.15, failP: 0.1,
			readP: 0.4, casP: 0.3, nemesis: true}
		ops := genHistory(rng, cfg)
		res := check(t, ops, Options{Model: ModelRegisters})
		if res.Verdict != Valid {
			t.Fatalf("history %d: generated valid history judged %s: %s", i, res.Verdict, res.Reason)
		}
		bad, how, ok := mutateInvalid(rng, ops)
		if !ok {
			continue
		}
		mutated++
		res = check(t, bad, Options{Model: ModelRegisters})
		if res.Verdict != Invalid {
			t.Fatalf("history %d: %s mutation judged %s", i, how, res.Verdict)
		}
	}
	if mutated < 200 {
		t.Fatalf("only %d histories could be mutated: the generator makes too few reads", mutated)
	}
}

// TestPruningAgreesWithPlainCheck: on thousands of random small histories
// (crashed writes and cas, failed cas, random read values, so about half are
// invalid), pruned and unpruned checks agree, and both agree with a
// brute-force search.
func TestPruningAgreesWithPlainCheck(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 500
	}
	rng := rand.New(rand.NewSource(42))
	counts := map[Verdict]int{}
	prunedSome := 0
	for i := 0; i < n; i++ {
		cfg := genConfig{procs: 2 + rng.Intn(3), ops: 4 + rng.Intn(10), crashP: 0.35, failP: 0.05,
			readP: 0.35, casP: 0.35, reuse: rng.Intn(10) == 0}
		ops := genHistory(rng, cfg)
		// Random damage: change some read results to other values.
		for j := range ops {
			if ops[j].Type == history.OK && ops[j].F == history.FRead && rng.Intn(6) == 0 {
				ops[j].Value = int64(rng.Intn(8))
			}
			if ops[j].OK != nil && rng.Intn(8) == 0 {
				flip := !*ops[j].OK
				ops[j].OK = &flip
			}
		}
		plain, err := Check(context.Background(), ops, Options{Model: ModelRegister, NoPrune: true})
		if err != nil {
			t.Fatal(err)
		}
		pruned, err := Check(context.Background(), ops, Options{Model: ModelRegister})
		if err != nil {
			t.Fatal(err)
		}
		if plain.Verdict != pruned.Verdict {
			var b strings.Builder
			_ = history.WriteJSONL(&b, ops)
			t.Fatalf("history %d: unpruned %s, pruned %s (pruned %d, bounded %d)\n%s", i, plain.Verdict, pruned.Verdict,
				pruned.Keys[0].Pruned, pruned.Keys[0].Bounded, b.String())
		}
		if pruned.Keys[0].Pruned+pruned.Keys[0].Bounded > 0 {
			prunedSome++
		}
		khs, err := registerHistories(ops, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(khs[0].ops) <= 14 {
			want := Invalid
			if bruteForce(khs[0].ops) {
				want = Valid
			}
			if want != plain.Verdict {
				t.Fatalf("history %d: porcupine says %s, brute force %s", i, plain.Verdict, want)
			}
		}
		counts[plain.Verdict]++
	}
	t.Logf("%d histories: %v; pruning applied in %d", n, counts, prunedSome)
	if counts[Valid] < n/5 || counts[Invalid] < n/5 || prunedSome < n/5 {
		t.Fatalf("the random histories do not exercise both verdicts and pruning: %v, pruned in %d", counts, prunedSome)
	}
}

// bruteForce decides linearizability by trying every order that respects
// real time, memoizing (done set, state).
func bruteForce(ops []regOp) bool {
	type memoKey struct {
		done uint64
		s    regState
	}
	seen := map[memoKey]bool{}
	var rec func(done uint64, s regState) bool
	rec = func(done uint64, s regState) bool {
		if done == 1<<len(ops)-1 {
			return true
		}
		k := memoKey{done, s}
		if seen[k] {
			return false
		}
		seen[k] = true
		for i := range ops {
			if done&(1<<i) != 0 {
				continue
			}
			minimal := true
			for j := range ops {
				if done&(1<<j) == 0 && ops[j].ret < ops[i].call {
					minimal = false
					break
				}
			}
			if !minimal {
				continue
			}
			p := ops[i].operation(i)
			if ok, ns := registerStep(s, p.Input, p.Output); ok && rec(done|1<<i, ns.(regState)) {
				return true
			}
		}
		return false
	}
	return rec(0, regState{})
}

func TestPruningRules(t *testing.T) {
	// Crashed write 7, never observed: dropped (rule P1). Crashed write 8,
	// read later: bounded by that read (P2). Crashed write 9, never observed
	// but followed by a failed cas on a written value: kept (P1's (c)).
	ops := build(
		inv(0, "write", 1, 0), okr(0, "write", 1, 10),
		inv(1, "write", 9, 11), info(1, "write", 9, 12),
		inv(2, "write", 8, 13), info(2, "write", 8, 14),
		inv(3, "read", nil, 20), okr(3, "read", 8, 30),
		inv(3, "cas", cas(1, 5), 33), casDone(3, 1, 5, false, 35),
		inv(4, "write", 7, 40), info(4, "write", 7, 41),
	)
	res := check(t, ops, Options{})
	k := res.Keys[0]
	if res.Verdict != Valid || k.Pruned != 1 || k.Bounded != 1 || k.Crashed != 3 || k.Checked != 5 {
		t.Fatalf("got %+v", k)
	}
}

func TestExplanationAndVisualization(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "linearizability")
	ops := build(
		rec{p: history.Nemesis, t: history.Info, f: "start-partition", v: "halves", at: 1},
		inv(0, "write", 1, 0), okr(0, "write", 1, 10),
		inv(1, "write", 9, 11), info(1, "write", 9, 12),
		inv(0, "write", 2, 20), okr(0, "write", 2, 30),
		inv(1, "read", nil, 40), okr(1, "read", 1, 50),
		rec{p: history.Nemesis, t: history.Info, f: "stop-partition", at: 60},
	)
	for i := range ops {
		if !ops[i].IsNemesis() {
			ops[i].Key = "k/1"
		}
	}
	res := check(t, ops, Options{Model: ModelRegisters, VisualizeDir: dir})
	k := res.Keys[0]
	if res.Verdict != Invalid || k.Visualization != "linearizability/key-k_2f1.html" {
		t.Fatalf("got %+v", k)
	}
	want := "read 1 (op 7, t=40ns–50ns) returned 1, but the only write of 1, write 1 (op 1, t=0s–10ns), was overwritten by write 2 (op 5, t=20ns–30ns), which completed before it began (stale read)"
	if k.Explanation.Text != want {
		t.Errorf("explanation:\n got %s\nwant %s", k.Explanation.Text, want)
	}
	if got := k.Explanation.OpIndices; len(got) != 3 || got[0] != 7 || got[1] != 1 || got[2] != 5 {
		t.Errorf("op indices %v", got)
	}
	html, err := os.ReadFile(filepath.Join(filepath.Dir(dir), k.Visualization))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"nemesis partition", "start-partition halves; stop-partition", "pruned"} {
		if !strings.Contains(string(html), s) {
			t.Errorf("visualisation lacks %q", s)
		}
	}
	if len(res.Faults) != 1 || res.Faults[0].Kind != "partition" {
		t.Errorf("faults %+v", res.Faults)
	}
}

func TestTimeLimitGivesUnknown(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	ops := genHistory(rng, genConfig{procs: 5, ops: 200, readP: 0.5})
	res, err := Check(context.Background(), ops, Options{Model: ModelRegister, TimeLimit: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Unknown || !strings.Contains(res.Keys[0].Reason, "time limit") {
		t.Fatalf("got %s: %s", res.Verdict, res.Reason)
	}
}

func TestBadHistories(t *testing.T) {
	cases := map[string][]history.Op{
		"two keys for one register": build(rec{p: 0, t: history.Invoke, f: "read", key: "a"}, rec{p: 1, t: history.Invoke, f: "read", key: "b"}),
		"completion without invoke": build(okr(0, "read", 1, 0)),
		"f mismatch":                build(inv(0, "read", nil, 0), okr(0, "write", 1, 1)),
		"unknown f":                 build(inv(0, "add", 1, 0)),
		"bad cas value":             build(inv(0, "cas", 1, 0)),
		"bad read value":            build(inv(0, "read", nil, 0), okr(0, "read", "x", 1)),
		"double invoke":             build(inv(0, "read", nil, 0), inv(0, "read", nil, 1)),
	}
	for name, ops := range cases {
		if _, err := Check(context.Background(), ops, Options{Model: ModelRegister}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Check(context.Background(), nil, Options{Model: "queue"}); err == nil {
		t.Error("unknown model: no error")
	}
}

func TestMerge(t *testing.T) {
	cases := []struct {
		in   []Verdict
		want Verdict
	}{
		{nil, Valid}, {[]Verdict{Valid, Valid}, Valid}, {[]Verdict{Valid, Unknown}, Unknown},
		{[]Verdict{Unknown, Invalid, Valid}, Invalid}, {[]Verdict{Invalid, Unknown}, Invalid},
	}
	for _, c := range cases {
		if got := Merge(c.in...); got != c.want {
			t.Errorf("Merge(%v) = %s, want %s", c.in, got, c.want)
		}
	}
	if Invalid.ExitCode() != 1 || Unknown.ExitCode() != 2 || Valid.ExitCode() != 0 {
		t.Error("exit codes")
	}
}

func TestResultJSON(t *testing.T) {
	ops := build(inv(0, "write", 1, 0), okr(0, "write", 1, 10), inv(1, "read", nil, 20), okr(1, "read", 2, 30))
	res := check(t, ops, Options{})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"verdict", "reason", "model", "checked_at", "check_ms", "ops", "keys", "faults"} {
		if _, ok := m[f]; !ok {
			t.Errorf("results.json lacks %q: %s", f, b)
		}
	}
	key := m["keys"].([]any)[0].(map[string]any)
	for _, f := range []string{"key", "verdict", "reason", "ops", "crashed", "pruned", "explanation"} {
		if _, ok := key[f]; !ok {
			t.Errorf("key result lacks %q: %s", f, b)
		}
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back.Verdict != Invalid {
		t.Fatalf("read back: %v %+v", err, back)
	}
}
