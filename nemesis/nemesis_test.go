package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raftlab/raftlab/history"
)

// setup returns a fake cluster of k nodes, a nemesis on it with a short
// timeout, and the recorder it writes to.
func setup(k int) (*fakeCluster, *Nemesis, *history.Recorder) {
	f := newFake(k)
	rec := history.NewRecorder(nil, true)
	n := New(f, rec)
	n.Timeout = 200 * time.Millisecond
	return f, n, rec
}

// nemesisOps returns the nemesis ops recorded, as "f" or "f error".
func nemesisOps(rec *history.Recorder) []history.Op {
	var out []history.Op
	for _, op := range rec.Ops() {
		if op.Process == history.Nemesis {
			out = append(out, op)
		}
	}
	return out
}

// fs lists the F of each op.
func fs(ops []history.Op) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = op.F
	}
	return out
}

// jsonOf renders a value as JSON, as the history file would hold it.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPartitionAppliesGrudgeAndHealsOnlyOurRules(t *testing.T) {
	f, n, rec := setup(5)
	ctx := context.Background()
	if err := n.Do(ctx, Step{Fault: Partition, Start: true, Mode: ShapeHalves}); err != nil {
		t.Fatal(err)
	}
	got, err := f.drops()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"n1": {"n3", "n4", "n5"}, "n2": {"n3", "n4", "n5"},
		"n3": {"n1", "n2"}, "n4": {"n1", "n2"}, "n5": {"n1", "n2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after start-partition halves the nodes drop %v, want %v", got, want)
	}
	if s := n.State(); s != "partition halves [n1 n2 | n3 n4 n5]" {
		t.Errorf("State() = %q", s)
	}
	ops := nemesisOps(rec)
	if len(ops) != 2 || ops[0].F != "start-partition" || ops[1].F != "start-partition" ||
		ops[0].Type != history.Info || ops[1].Type != history.Info || ops[1].Error != "" {
		t.Fatalf("recorded %+v, want an info invocation and completion of start-partition", ops)
	}
	if v := jsonOf(t, ops[1].Value); !strings.Contains(v, `"grudge":{"n1":["n3","n4","n5"]`) ||
		!strings.Contains(v, `"components":[["n1","n2"],["n3","n4","n5"]]`) {
		t.Errorf("completion value %s does not say who was cut from whom", v)
	}

	// A second start is refused and recorded, and changes nothing.
	if err := n.Do(ctx, Step{Fault: Partition, Start: true, Mode: ShapeOne}); err == nil || !strings.Contains(err.Error(), "already partitioned") {
		t.Errorf("second start-partition: error = %v, want already partitioned", err)
	}
	if ops := nemesisOps(rec); ops[len(ops)-1].Error == "" {
		t.Errorf("refused start not recorded as an error: %+v", ops[len(ops)-1])
	}

	if err := n.Do(ctx, Step{Fault: Partition}); err != nil {
		t.Fatal(err)
	}
	if bad := f.faulty(); bad != "" {
		t.Errorf("after stop-partition: %s", bad)
	}
	if s := n.State(); s != "healthy" {
		t.Errorf("State() after heal = %q", s)
	}
}

func TestPartitionLeader(t *testing.T) {
	f, n, rec := setup(3)
	f.leader = "n2"
	if err := n.Do(context.Background(), Step{Fault: Partition, Start: true, Mode: ShapeLeader}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.drops()
	if want := map[string][]string{"n1": {"n2"}, "n2": {"n1", "n3"}, "n3": {"n2"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("isolating leader n2: drops %v, want %v", got, want)
	}
	if v := jsonOf(t, nemesisOps(rec)[1].Value); !strings.Contains(v, `"leader":"n2"`) {
		t.Errorf("completion %s does not name the leader", v)
	}

	// With no leader the fault is not applied and says why.
	f2, n2, rec2 := setup(3)
	err := n2.Do(context.Background(), Step{Fault: Partition, Start: true, Mode: ShapeLeader})
	if err == nil || !strings.Contains(nemesisOps(rec2)[1].Error, "no leader") {
		t.Errorf("no leader: error %v, recorded %+v", err, nemesisOps(rec2))
	}
	if bad := f2.faulty(); bad != "" || n2.State() != "healthy" {
		t.Errorf("no leader, yet: %s / %s", bad, n2.State())
	}
}

func TestRestartedNodeGetsThePartitionBack(t *testing.T) {
	f, n, _ := setup(5)
	f.wipeOnStart = true // the restart loses the node's rules
	f.leader = "n1"
	ctx := context.Background()
	for _, s := range []Step{
		{Fault: Partition, Start: true, Mode: ShapeHalves},
		{Fault: Kill, Start: true, Mode: TargetLeader},
	} {
		if err := n.Do(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if s := n.State(); s != "partition halves [n1 n2 | n3 n4 n5]; killed n1" {
		t.Errorf("State() = %q", s)
	}
	if err := n.Do(ctx, Step{Fault: Kill}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.drops()
	if !slices.Equal(got["n1"], []string{"n3", "n4", "n5"}) {
		t.Errorf("restarted n1 drops %v, want the partition back: [n3 n4 n5]", got["n1"])
	}
	// The rules come after the start, not before.
	calls := f.callLog()
	start := slices.Index(calls, "start n1")
	reapply := slices.IndexFunc(calls[start+1:], func(c string) bool { return strings.HasPrefix(c, "exec n1 iptables -w -A") })
	if start < 0 || reapply < 0 {
		t.Errorf("calls %v: want start n1, then n1's rules", calls)
	}
}

func TestPausedNodeIsSyncedOnResume(t *testing.T) {
	f, n, rec := setup(5)
	f.leader = "n4"
	ctx := context.Background()
	steps := []Step{
		{Fault: Pause, Start: true, Mode: TargetLeader},
		{Fault: Partition, Start: true, Mode: ShapeHalves}, // n4 cannot run iptables now
	}
	for _, s := range steps {
		if err := n.Do(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := f.drops()
	if len(got["n4"]) != 0 || len(got["n3"]) != 2 {
		t.Fatalf("while n4 is frozen: drops %v", got)
	}
	if v := jsonOf(t, nemesisOps(rec)[3].Value); !strings.Contains(v, `"deferred":["n4"]`) {
		t.Errorf("start-partition completion %s does not say n4 was deferred", v)
	}
	if err := n.Do(ctx, Step{Fault: Pause}); err != nil {
		t.Fatal(err)
	}
	got, _ = f.drops()
	if !slices.Equal(got["n4"], []string{"n1", "n2"}) {
		t.Errorf("resumed n4 drops %v, want [n1 n2]", got["n4"])
	}

	// The reverse: healed while frozen, flushed on resume.
	f.leader = "n1"
	for _, s := range []Step{{Fault: Pause, Start: true, Mode: TargetLeader}, {Fault: Partition}, {Fault: Pause}} {
		if err := n.Do(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if bad := f.faulty(); bad != "" {
		t.Errorf("after heal while n1 was frozen, then resume: %s", bad)
	}
}

func TestKillAndPauseTargets(t *testing.T) {
	f, n, rec := setup(5)
	ctx := context.Background()
	if err := n.Do(ctx, Step{Fault: Kill, Start: true, Mode: TargetMajority, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if len(f.killed) != 3 {
		t.Fatalf("kill majority of 5 killed %v", f.killed)
	}
	// Pause picks among the two nodes still up.
	if err := n.Do(ctx, Step{Fault: Pause, Start: true, Mode: TargetAll}); err != nil {
		t.Fatal(err)
	}
	for id := range f.paused {
		if f.killed[id] {
			t.Errorf("paused %s, which is killed", id)
		}
	}
	if len(f.paused) != 2 {
		t.Errorf("pause all after killing 3 of 5 paused %v", f.paused)
	}
	// Nothing left to act on: recorded as no target.
	err := n.Do(ctx, Step{Fault: Kill, Start: true, Mode: TargetOne})
	if err == nil || !strings.Contains(err.Error(), "no target") {
		t.Errorf("kill with every node down or frozen: error %v, want no target", err)
	}
	for _, s := range []Step{{Fault: Pause}, {Fault: Kill}} {
		if err := n.Do(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if bad := f.faulty(); bad != "" {
		t.Errorf("after resume and start: %s", bad)
	}
	if v := jsonOf(t, nemesisOps(rec)[1].Value); !strings.Contains(v, `"killed":[`) {
		t.Errorf("kill completion %s does not list the killed nodes", v)
	}
}

func TestFailedActionIsRecordedAndRunGoesOn(t *testing.T) {
	f, n, rec := setup(3)
	f.fail["kill n1"] = errors.New("no such container")
	f.fail["kill n2"] = errors.New("no such container")
	f.fail["kill n3"] = errors.New("no such container")
	steps := []Step{
		{Fault: Kill, Start: true, Mode: TargetOne},
		{At: time.Millisecond, Fault: Partition, Start: true, Mode: ShapeHalves},
		{At: 2 * time.Millisecond, Fault: Partition},
	}
	if err := n.Run(context.Background(), steps); err != nil {
		t.Fatalf("Run: %v", err)
	}
	ops := nemesisOps(rec)
	if want := []string{"kill", "kill", "start-partition", "start-partition", "stop-partition", "stop-partition"}; !slices.Equal(fs(ops), want) {
		t.Fatalf("recorded %v, want %v", fs(ops), want)
	}
	if !strings.Contains(ops[1].Error, "no such container") {
		t.Errorf("failed kill recorded with error %q", ops[1].Error)
	}
	if ops[3].Error != "" || ops[5].Error != "" {
		t.Errorf("later steps failed: %q, %q", ops[3].Error, ops[5].Error)
	}
}

func TestRunKeepsTimeAndOrder(t *testing.T) {
	_, n, rec := setup(3)
	steps := []Step{
		{At: 0, Fault: Partition, Start: true, Mode: ShapeHalves},
		{At: 30 * time.Millisecond, Fault: Partition},
		{At: 60 * time.Millisecond, Fault: Kill, Start: true, Mode: TargetOne},
		{At: 90 * time.Millisecond, Fault: Kill},
	}
	if err := n.Run(context.Background(), steps); err != nil {
		t.Fatal(err)
	}
	ops := nemesisOps(rec)
	if want := []string{"start-partition", "start-partition", "stop-partition", "stop-partition", "kill", "kill", "start", "start"}; !slices.Equal(fs(ops), want) {
		t.Fatalf("recorded %v, want %v", fs(ops), want)
	}
	for i, s := range steps {
		if inv := ops[2*i]; time.Duration(inv.Time) < s.At {
			t.Errorf("step %v invoked at %v, before its time", s, time.Duration(inv.Time))
		}
	}
}

func TestHealAllAfterCancelLeavesNothingFaulty(t *testing.T) {
	f, n, rec := setup(5)
	f.leader = "n1"
	ctx, cancel := context.WithCancel(context.Background())
	steps := []Step{
		{Fault: Partition, Start: true, Mode: ShapeMajoritiesRing, Seed: 3},
		{Fault: Kill, Start: true, Mode: TargetLeader},
		{Fault: Pause, Start: true, Mode: TargetOne, Seed: 5},
		{Fault: Clock, Start: true, Mode: ClockModeBump, Seed: 9},
		{Fault: Clock, Start: true, Mode: ClockModeRate, Seed: 11},
		{At: time.Hour, Fault: Partition}, // never reached
	}
	done := make(chan error)
	go func() { done <- n.Run(ctx, steps) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(nemesisOps(rec)) < 10 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel returned %v, want context.Canceled", err)
	}
	if f.faulty() == "" {
		t.Fatal("the faults did not take effect; the heal test proves nothing")
	}
	if s := n.State(); !strings.Contains(s, "partition majorities-ring") || !strings.Contains(s, "killed n1") ||
		!strings.Contains(s, "paused") || !strings.Contains(s, "clock") {
		t.Errorf("State() = %q, want partition, killed, paused and clock", s)
	}
	before := len(nemesisOps(rec))
	if err := n.HealAll(ctx); err != nil { // the cancelled context: heal anyway
		t.Fatalf("HealAll: %v", err)
	}
	if bad := f.faulty(); bad != "" {
		t.Errorf("after HealAll: %s", bad)
	}
	if s := n.State(); s != "healthy" {
		t.Errorf("State() after HealAll = %q", s)
	}
	healOps := nemesisOps(rec)[before:]
	if want := []string{"resume", "resume", "stop-partition", "stop-partition", "start", "start", "reset-clock", "reset-clock"}; !slices.Equal(fs(healOps), want) {
		t.Errorf("HealAll recorded %v, want %v", fs(healOps), want)
	}
	for _, op := range healOps {
		if op.Error != "" {
			t.Errorf("HealAll %s: %s", op.F, op.Error)
		}
	}
	// Idempotent: again, nothing to do and nothing fails.
	if err := n.HealAll(context.Background()); err != nil {
		t.Errorf("second HealAll: %v", err)
	}
	if bad := f.faulty(); bad != "" {
		t.Errorf("after second HealAll: %s", bad)
	}
}

func TestHealAllRetriesWhatFailed(t *testing.T) {
	f, n, _ := setup(3)
	ctx := context.Background()
	if err := n.Do(ctx, Step{Fault: Kill, Start: true, Mode: TargetAll}); err != nil {
		t.Fatal(err)
	}
	f.fail["start n2"] = errors.New("docker daemon busy")
	err := n.HealAll(ctx)
	if err == nil || !strings.Contains(err.Error(), "start: n2: docker daemon busy") {
		t.Fatalf("HealAll with a failing start: %v", err)
	}
	if s := n.State(); s != "killed n2" {
		t.Errorf("State() = %q, want killed n2", s)
	}
	delete(f.fail, "start n2")
	if err := n.HealAll(ctx); err != nil {
		t.Fatalf("second HealAll: %v", err)
	}
	if bad := f.faulty(); bad != "" {
		t.Errorf("after the retry: %s", bad)
	}
}

func TestClockBumpAndReset(t *testing.T) {
	f, n, rec := setup(5)
	ctx := context.Background()
	if err := n.Do(ctx, Step{Fault: Clock, Start: true, Mode: ClockModeBump, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	p, _ := PlanClock(ClockModeBump, nodeIDs(5), stepRand(4))
	for _, node := range p.Nodes {
		if f.offset[node] != p.Jumps[node] {
			t.Errorf("%s offset %v, want %v", node, f.offset[node], p.Jumps[node])
		}
	}
	if v := jsonOf(t, nemesisOps(rec)[1].Value); !strings.Contains(v, `"offsets_ms":{`) {
		t.Errorf("bump completion %s lacks offsets", v)
	}
	if !strings.HasPrefix(n.State(), "clock n") {
		t.Errorf("State() = %q", n.State())
	}
	if err := n.Do(ctx, Step{Fault: Clock}); err != nil {
		t.Fatal(err)
	}
	if bad := f.faulty(); bad != "" {
		t.Errorf("after reset-clock: %s", bad)
	}
}

func TestStrobeEndsWhereItStarted(t *testing.T) {
	for _, cancelEarly := range []bool{false, true} {
		f, n, _ := setup(3)
		ctx, cancel := context.WithCancel(context.Background())
		p := ClockPlan{Mode: ClockModeStrobe, Nodes: []string{"n1", "n3"}, Delta: time.Second,
			Period: 5 * time.Millisecond, Duration: 60 * time.Millisecond}
		if cancelEarly {
			time.AfterFunc(12*time.Millisecond, cancel)
		}
		flips, err := n.strobe(ctx, p)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, node := range p.Nodes {
			if flips[node] < 2 || flips[node]%2 != 0 {
				t.Errorf("cancel %v: %s jumped %d times, want an even number ≥ 2", cancelEarly, node, flips[node])
			}
			if f.offset[node] != 0 {
				t.Errorf("cancel %v: %s ends off by %v", cancelEarly, node, f.offset[node])
			}
		}
		if c := strings.Count(strings.Join(f.callLog(), "\n"), "clock n2"); c != 0 {
			t.Errorf("strobed n2, which is not in the plan")
		}
	}
}
