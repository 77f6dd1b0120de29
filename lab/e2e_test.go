package lab

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/raftlab/raftlab/history"
	"github.com/raftlab/raftlab/lab/cluster"
	"github.com/raftlab/raftlab/linearizability"
	"github.com/raftlab/raftlab/nemesis"
)

// e2eSpec is a short real run on three containers.
func e2eSpec(t *testing.T, name string) Spec {
	return Spec{
		Name: name, Workload: "register", Nemesis: []string{"partition", "kill"}, NemesisInterval: 3 * time.Second,
		Nodes: 3, Concurrency: 6, Rate: 100, TimeLimit: 20 * time.Second, ReadMode: "linearizable", Seed: 42,
		OpTimeout: time.Second, Recovery: 2 * time.Second, CheckTimeLimit: time.Minute, Results: t.TempDir(),
	}
}

// runE2E runs a spec and checks what every run must leave: a complete
// results folder and no container or network.
func runE2E(t *testing.T, spec Spec) Outcome {
	t.Helper()
	if testing.Short() {
		t.Skip("real Docker lab run; skipped with -short")
	}
	var out bytes.Buffer
	oc, err := Run(context.Background(), spec, &out)
	t.Logf("lab output:\n%s", out.String())
	if err != nil {
		t.Fatalf("lab run failed: %v", err)
	}
	for _, f := range []string{SpecFile, HistoryFile, ResultsFile, ControllerLog, RunInfoFile, ReportFile, "nodes/n1.log", "nodes/n3.log"} {
		if fi, err := os.Stat(filepath.Join(oc.Dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("results folder lacks %s (or it is empty): %v", f, err)
		}
	}
	ops, err := history.ReadFile(filepath.Join(oc.Dir, HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	var nem, client int
	for _, op := range ops {
		if op.IsNemesis() {
			nem++
		} else {
			client++
		}
	}
	if len(spec.Nemesis) > 0 && nem == 0 {
		t.Errorf("no nemesis ops in the history")
	}
	if client < 100 {
		t.Errorf("only %d client ops recorded; the workload did not run", client)
	}
	cli, err := cluster.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	left, err := cluster.FindLeftovers(context.Background(), cli, oc.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if !left.Empty() {
		t.Errorf("the run left containers or networks behind: %+v", left)
	}
	return oc
}

func TestE2ELinearizableRegisterWithPartitionsAndKills(t *testing.T) {
	oc := runE2E(t, e2eSpec(t, "e2e-valid"))
	if oc.Verdict != linearizability.Valid {
		t.Fatalf("verdict %s (%s); want valid. Results: %s", oc.Verdict, oc.Reason, oc.Dir)
	}
}

func TestE2EStaleReadsUnderPartitionAreCaught(t *testing.T) {
	spec := e2eSpec(t, "e2e-stale")
	spec.Workload = "registers"
	spec.ReadMode = "stale"
	// Isolating one node at a time: its clients keep reading its frozen state
	// while the majority moves on.
	spec.Nemesis = []string{"partition:one"}
	oc := runE2E(t, spec)
	if oc.Verdict != linearizability.Invalid {
		t.Fatalf("verdict %s (%s); stale reads across a partition must be found invalid. Results: %s", oc.Verdict, oc.Reason, oc.Dir)
	}
	if _, err := os.Stat(filepath.Join(oc.Dir, "linearizability")); err != nil {
		t.Errorf("no visualisation of the invalid keys: %v", err)
	}
}

// leaseSpec is a lease-mode run with many clients and short op timeouts, so
// that clients of a cut-off leader keep reading instead of waiting on writes.
func leaseSpec(t *testing.T, name string) Spec {
	spec := e2eSpec(t, name)
	spec.Workload = "registers"
	spec.ReadMode = "lease"
	spec.Concurrency = 12
	spec.OpTimeout = 200 * time.Millisecond
	spec.TimeLimit = 30 * time.Second
	return spec
}

// TestE2ELeaseReadsBreakWhenTheLeadersClockRunsSlow is the scenario that
// shows why lease reads are unsafe: the leader's clock runs at 1/20-1/10
// speed, then the leader is cut off. Its lease, measured on its own clock,
// outlives the election of a new leader, so it serves stale reads.
func TestE2ELeaseReadsBreakWhenTheLeadersClockRunsSlow(t *testing.T) {
	spec := leaseSpec(t, "e2e-lease")
	spec.Nemesis = []string{"partition:leader", "clock:rate-leader"}
	for at := 3 * time.Second; at+6*time.Second <= spec.TimeLimit; at += 6 * time.Second {
		spec.Schedule = append(spec.Schedule,
			nemesis.Step{At: at, Fault: nemesis.Clock, Start: true, Mode: nemesis.ClockModeRateLeader, Seed: uint64(at)},
			nemesis.Step{At: at + time.Second, Fault: nemesis.Partition, Start: true, Mode: nemesis.ShapeLeader},
			nemesis.Step{At: at + 4*time.Second, Fault: nemesis.Partition},
			nemesis.Step{At: at + 5*time.Second, Fault: nemesis.Clock},
		)
	}
	oc := runE2E(t, spec)
	if oc.Verdict != linearizability.Invalid {
		t.Fatalf("verdict %s (%s); lease reads on a cut-off leader with a slow clock must be found stale. Results: %s", oc.Verdict, oc.Reason, oc.Dir)
	}
}

// TestE2ELeaseReadsHoldWithTrueClocks is the control of the scenario above:
// the same cuts of the leader without the clock fault must stay valid, which
// shows it is the clock that breaks the lease, not the partition.
func TestE2ELeaseReadsHoldWithTrueClocks(t *testing.T) {
	spec := leaseSpec(t, "e2e-lease-control")
	spec.Nemesis = []string{"partition:leader"}
	for at := 4 * time.Second; at+6*time.Second <= spec.TimeLimit+time.Second; at += 6 * time.Second {
		spec.Schedule = append(spec.Schedule,
			nemesis.Step{At: at, Fault: nemesis.Partition, Start: true, Mode: nemesis.ShapeLeader},
			nemesis.Step{At: at + 3*time.Second, Fault: nemesis.Partition},
		)
	}
	oc := runE2E(t, spec)
	if oc.Verdict != linearizability.Valid {
		t.Fatalf("verdict %s (%s); with true clocks a 250 ms lease ends before a new leader can be elected, so lease reads must stay linearizable. Results: %s", oc.Verdict, oc.Reason, oc.Dir)
	}
}
