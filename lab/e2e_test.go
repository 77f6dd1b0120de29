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
