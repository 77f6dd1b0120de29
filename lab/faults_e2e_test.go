package lab

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/raftlab/raftlab/history"
	"github.com/raftlab/raftlab/lab/cluster"
	"github.com/raftlab/raftlab/nemesis"
	"github.com/raftlab/raftlab/node/client"
)

// startTestCluster brings up three real node containers for a fault test and
// removes them when the test ends.
func startTestCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("real Docker containers; skipped with -short")
	}
	ctx := context.Background()
	cli, err := cluster.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	root, err := FindSourceRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	image, err := EnsureImage(ctx, root, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	runID := fmt.Sprintf("faults-%d", time.Now().UnixNano()%1e6)
	cl, err := cluster.Start(ctx, cli, cluster.Spec{RunID: runID, Nodes: 3, Image: image, NodeArgs: nodeArgs(Spec{ReadMode: "linearizable"})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cl.Remove(context.Background()); err != nil {
			t.Errorf("remove cluster: %v", err)
		}
		left, err := cluster.FindLeftovers(context.Background(), cli, runID)
		if err != nil || !left.Empty() {
			t.Errorf("leftovers after Remove: %+v %v", left, err)
		}
	})
	if _, err := waitForLeader(ctx, cl.Nodes(), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return cl
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Logf("%s", p); return len(p), nil }

// canConnect reports whether node from can open a TCP connection to node
// to's Raft port, tried from inside from's network namespace.
func canConnect(t *testing.T, cl *cluster.Cluster, from, to string) bool {
	t.Helper()
	var ip string
	for _, n := range cl.Nodes() {
		if n.ID == to {
			ip = n.IP.String()
		}
	}
	_, err := cl.Exec(context.Background(), from, "timeout", "2", "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", ip, cluster.RaftPort))
	return err == nil
}

func TestPartitionReallyCutsTrafficAndHealRestoresIt(t *testing.T) {
	cl := startTestCluster(t)
	ctx := context.Background()
	rec := history.NewRecorder(nil, true)
	nem := nemesis.New(nemesisCluster{cl}, rec)
	all := [][2]string{{"n1", "n2"}, {"n1", "n3"}, {"n2", "n3"}, {"n2", "n1"}, {"n3", "n1"}, {"n3", "n2"}}
	for _, p := range all {
		if !canConnect(t, cl, p[0], p[1]) {
			t.Fatalf("before any fault %s cannot reach %s", p[0], p[1])
		}
	}
	if err := nem.Do(ctx, nemesis.Step{Fault: nemesis.Partition, Start: true, Mode: "halves"}); err != nil {
		t.Fatal(err)
	}
	// halves of three: [n1] | [n2 n3].
	for _, p := range all {
		cut := p[0] == "n1" || p[1] == "n1"
		if got := canConnect(t, cl, p[0], p[1]); got == cut {
			t.Errorf("during halves partition: %s -> %s reachable=%v, want %v", p[0], p[1], got, !cut)
		}
	}
	// The controller is never cut: every node still answers its API.
	if v := pollStatuses(ctx, cl.Nodes(), 2*time.Second); len(v.statuses) != 3 {
		t.Errorf("controller lost a node during the partition: %s", v.describe())
	}
	// The isolated node loses its leader (or leadership) within a few election timeouts.
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := client.New(cl.Nodes()[0].URL(), "").Status(ctx)
		if err == nil && st.State != "Leader" && st.LeaderID == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("isolated n1 still sees a leader or leads: %+v %v", st, err)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A killed and restarted node keeps the partition in force.
	if err := nem.Do(ctx, nemesis.Step{Fault: nemesis.Kill, Start: true, Mode: "one"}); err != nil {
		t.Fatal(err)
	}
	if err := nem.Do(ctx, nemesis.Step{Fault: nemesis.Kill, Start: false}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"n2", "n3"} {
		drops, err := nemesis.Drops(ctx, nemesisCluster{cl}, n)
		if err != nil || len(drops) != 1 || drops[0] != cl.Nodes()[0].IP {
			t.Errorf("%s drops %v (%v); want exactly n1's %s", n, drops, err, cl.Nodes()[0].IP)
		}
	}
	if err := nem.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if !canConnect(t, cl, p[0], p[1]) {
			t.Errorf("after heal %s cannot reach %s", p[0], p[1])
		}
	}
	if _, err := waitForLeader(ctx, cl.Nodes(), 30*time.Second); err != nil {
		t.Errorf("no leader after heal: %v", err)
	}
	var nemOps int
	for _, op := range rec.Ops() {
		if op.IsNemesis() {
			nemOps++
		}
	}
	if nemOps < 8 {
		t.Errorf("only %d nemesis ops recorded; every action must be in the history", nemOps)
	}
}

func TestKillReallyKillsAndStartRestarts(t *testing.T) {
	cl := startTestCluster(t)
	ctx := context.Background()
	n3 := cl.Nodes()[2]
	c := client.New(n3.URL(), "kill-test")
	if err := c.Write(ctx, "k", 7); err != nil {
		t.Fatal(err)
	}
	pid, err := cl.PID(ctx, "n3")
	if err != nil || pid == 0 {
		t.Fatalf("n3 has no node process before the kill: pid %d, %v", pid, err)
	}
	if err := cl.Kill(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if pid, _ := cl.PID(ctx, "n3"); pid != 0 {
		t.Fatalf("node process still alive after kill: pid %d", pid)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	_, err = c.Status(sctx)
	cancel()
	if err == nil {
		t.Fatal("killed node still answers its API")
	}
	time.Sleep(time.Second)
	if pid, _ := cl.PID(ctx, "n3"); pid != 0 {
		t.Fatalf("killed node came back by itself: pid %d", pid)
	}
	if err := cl.Start(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if pid2, _ := cl.PID(ctx, "n3"); pid2 == 0 || pid2 == pid {
		t.Fatalf("restart gave pid %d (was %d)", pid2, pid)
	}
	// Its data survived: a stale read on the restarted node eventually sees the write.
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := c.Read(ctx, "k", "stale")
		if err == nil && v != nil && *v == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted n3 never served the write: %v %v", v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestPauseFreezesTheNode(t *testing.T) {
	cl := startTestCluster(t)
	ctx := context.Background()
	if err := cl.Pause(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if p, err := cl.Paused(ctx, "n2"); err != nil || !p {
		t.Fatalf("n2 not paused: %v %v", p, err)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	_, err := client.New(cl.Nodes()[1].URL(), "").Status(sctx)
	cancel()
	if err == nil {
		t.Fatal("paused node answered its API")
	}
	if err := cl.Resume(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(cl.Nodes()[1].URL(), "").Status(ctx); err != nil {
		t.Fatalf("resumed node does not answer: %v", err)
	}
}
