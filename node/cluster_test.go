package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftlab/raftlab/node/client"
)

// inmemCluster is n Nodes wired with raft.InmemTransport and in-memory stores,
// each also serving its HTTP API on a loopback port.
type inmemCluster struct {
	t      testing.TB
	nodes  []*Node
	trans  []*raft.InmemTransport
	addrs  []raft.ServerAddress
	urls   []string
	srvs   []*http.Server
	stores []*raft.InmemStore
	snaps  []*raft.InmemSnapshotStore
	peers  []Peer
}

func testLogger(tb testing.TB, id string) *slog.Logger {
	if os.Getenv("RAFTNODE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", id)
	}
	return nil
}

func newInmemCluster(t testing.TB, n int) *inmemCluster { return newInmemClusterWith(t, n, nil) }

// newInmemClusterWith is newInmemCluster with a hook to change node i's config.
func newInmemClusterWith(t testing.TB, n int, mod func(i int, cfg *Config)) *inmemCluster {
	t.Helper()
	c := &inmemCluster{t: t}
	var lns []net.Listener
	for i := 0; i < n; i++ {
		addr, tr := raft.NewInmemTransport("")
		c.addrs = append(c.addrs, addr)
		c.trans = append(c.trans, tr)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		c.peers = append(c.peers, Peer{ID: fmt.Sprintf("n%d", i+1), RaftAddr: string(addr), HTTPAddr: ln.Addr().String()})
		c.urls = append(c.urls, "http://"+ln.Addr().String())
		c.stores = append(c.stores, raft.NewInmemStore())
		c.snaps = append(c.snaps, raft.NewInmemSnapshotStore())
	}
	for i := range c.trans {
		for j := range c.trans {
			if i != j {
				c.trans[i].Connect(c.addrs[j], c.trans[j])
			}
		}
	}
	for i := 0; i < n; i++ {
		cfg := Config{
			ID: c.peers[i].ID, Peers: c.peers, Transport: c.trans[i],
			LogStore: c.stores[i], StableStore: c.stores[i], SnapshotStore: c.snaps[i],
			HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
			LeaderLeaseTimeout: 100 * time.Millisecond, RequestTimeout: 2 * time.Second,
			SnapshotThreshold: 64, TrailingLogs: 16, SnapshotInterval: 100 * time.Millisecond,
			Logger: testLogger(t, c.peers[i].ID),
		}
		if mod != nil {
			mod(i, &cfg)
		}
		nd, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
		srv := &http.Server{Handler: NewHandler(nd)}
		c.srvs = append(c.srvs, srv)
		go srv.Serve(lns[i])
	}
	t.Cleanup(c.close)
	return c
}

func (c *inmemCluster) close() {
	for i, nd := range c.nodes {
		_ = c.srvs[i].Close()
		_ = nd.Shutdown()
	}
}

// partition cuts node i off from every other node, both ways.
func (c *inmemCluster) partition(i int) {
	for j := range c.trans {
		if j != i {
			c.trans[i].Disconnect(c.addrs[j])
			c.trans[j].Disconnect(c.addrs[i])
		}
	}
}

// heal reconnects everything.
func (c *inmemCluster) heal() {
	for i := range c.trans {
		for j := range c.trans {
			if i != j {
				c.trans[i].Connect(c.addrs[j], c.trans[j])
			}
		}
	}
}

// waitLeader waits for a leader among the nodes not in except that is ready
// for consistent reads, and returns its index.
func (c *inmemCluster) waitLeader(except ...int) int {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
	next:
		for i, nd := range c.nodes {
			for _, e := range except {
				if i == e {
					continue next
				}
			}
			if nd.raft.State() == raft.Leader && nd.readyTerm.Load() == nd.raft.CurrentTerm() {
				return i
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("no ready leader within 10s (excluding %v)", except)
	return -1
}

func readLin(ctx context.Context, nd *Node, key string) (v int64, ok bool, err error) {
	err = nd.ReadLocal(ctx, ReadLinearizable, func() { v, ok = nd.fsm.Read(key) })
	return
}

func mustApply(t *testing.T, nd *Node, c Command) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r, err := nd.Apply(ctx, c)
	if err != nil {
		t.Fatalf("apply %+v on %s: %v", c, nd.ID(), err)
	}
	return r
}

func TestClusterLeaderChangeKeepsWrites(t *testing.T) {
	c := newInmemCluster(t, 3)
	l := c.waitLeader()
	for i := int64(1); i <= 100; i++ { // crosses SnapshotThreshold: snapshots + compaction
		mustApply(t, c.nodes[l], Command{Op: OpWrite, Key: fmt.Sprintf("k%d", i%7), Value: i, ClientID: "w", Seq: uint64(i)})
	}
	mustApply(t, c.nodes[l], Command{Op: OpAdd, Key: "s", Element: 3, ClientID: "a", Seq: 1})
	old := l
	if err := c.nodes[old].raft.LeadershipTransfer().Error(); err != nil {
		t.Fatalf("leadership transfer: %v", err)
	}
	l = c.waitLeader(old)
	if l == old {
		t.Fatal("leader did not change")
	}
	ctx := context.Background()
	for k := 0; k < 7; k++ {
		key := fmt.Sprintf("k%d", k)
		var want int64 // last i <= 100 with i%7 == k
		for i := int64(100); i >= 1; i-- {
			if i%7 == int64(k) {
				want = i
				break
			}
		}
		v, ok, err := readLin(ctx, c.nodes[l], key)
		if err != nil || !ok || v != want {
			t.Fatalf("new leader %s: %s = (%d, %v, %v), want %d", c.nodes[l].ID(), key, v, ok, err, want)
		}
	}
	if s := c.nodes[l].fsm.ReadSet("s"); len(s) != 1 || s[0] != 3 {
		t.Fatalf("set s on new leader = %v", s)
	}
	// The old leader now forwards: a linearizable read there is refused locally.
	if _, _, err := readLin(ctx, c.nodes[old], "k1"); !errors.Is(err, ErrNotLeaderHere) {
		t.Fatalf("old leader served a linearizable read locally (err %v)", err)
	}
	// Dedup across the leader change: w's last request (seq 100, k2=100), retried
	// after another client wrote k2, is answered from the cache, not re-applied.
	mustApply(t, c.nodes[l], Command{Op: OpWrite, Key: "k2", Value: -1, ClientID: "other", Seq: 1})
	if r := mustApply(t, c.nodes[l], Command{Op: OpWrite, Key: "k2", Value: 100, ClientID: "w", Seq: 100}); !r.OK {
		t.Fatalf("retry: %+v", r)
	}
	if v, _, _ := readLin(ctx, c.nodes[l], "k2"); v != -1 {
		t.Fatalf("retried write (seq 100) re-applied after leader change: k2=%d, want -1", v)
	}
}

func TestClusterPartitionedLeaderRefusesLinearizableReads(t *testing.T) {
	c := newInmemCluster(t, 3)
	old := c.waitLeader()
	mustApply(t, c.nodes[old], Command{Op: OpWrite, Key: "x", Value: 1})
	c.partition(old)
	l := c.waitLeader(old)
	mustApply(t, c.nodes[l], Command{Op: OpWrite, Key: "x", Value: 2})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	v, ok, err := readLin(ctx, c.nodes[old], "x")
	if err == nil {
		t.Fatalf("partitioned old leader served a linearizable read: x=%d (ok %v); the majority has x=2", v, ok)
	}
	// Lease mode must not help a deposed leader either.
	var lv int64
	if err := c.nodes[old].ReadLocal(ctx, ReadLease, func() { lv, _ = c.nodes[old].fsm.Read("x") }); err == nil {
		t.Fatalf("partitioned old leader served a lease read: x=%d", lv)
	}
	// Proof the partition took effect: a stale read there still sees the old value.
	var sv int64
	if err := c.nodes[old].ReadLocal(ctx, ReadStale, func() { sv, _ = c.nodes[old].fsm.Read("x") }); err != nil || sv != 1 {
		t.Fatalf("stale read on the partitioned node: x=%d err=%v, want the old value 1", sv, err)
	}
	if v, _, err := readLin(ctx, c.nodes[l], "x"); err != nil || v != 2 {
		t.Fatalf("new leader: x=%d err=%v, want 2", v, err)
	}
	c.heal()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var hv int64
		_ = c.nodes[old].ReadLocal(ctx, ReadStale, func() { hv, _ = c.nodes[old].fsm.Read("x") })
		if hv == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healed node still has x=%d", hv)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterHTTP drives the cluster through the client package: writes through
// a follower (forwarded), reads through another node, the outcome mapping.
func TestClusterHTTP(t *testing.T) {
	c := newInmemCluster(t, 3)
	l := c.waitLeader()
	f1, f2 := (l+1)%3, (l+2)%3
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := client.New(c.urls[f1], "p1")
	r := client.New(c.urls[f2], "p2")
	if err := w.Write(ctx, "x", 5); err != nil {
		t.Fatalf("write via follower: %v", err)
	}
	for _, mode := range []string{"", client.ModeLinearizable, client.ModeLease} {
		v, err := r.Read(ctx, "x", mode)
		if err != nil || v == nil || *v != 5 {
			t.Fatalf("read mode %q via other follower: %v %v, want 5", mode, v, err)
		}
	}
	if v, err := r.Read(ctx, "never", ""); err != nil || v != nil {
		t.Fatalf("read of unwritten key: %v %v, want nil", v, err)
	}
	if ok, err := w.CAS(ctx, "x", 4, 6); err != nil || ok {
		t.Fatalf("CAS 4->6 on 5: ok=%v err=%v, want false, nil", ok, err)
	}
	if ok, err := w.CAS(ctx, "x", 5, 6); err != nil || !ok {
		t.Fatalf("CAS 5->6 on 5: ok=%v err=%v, want true, nil", ok, err)
	}
	for _, e := range []int64{3, 1, 3} {
		if err := w.Add(ctx, "s", e); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := r.ReadSet(ctx, "s", ""); err != nil || len(s) != 2 || s[0] != 1 || s[1] != 3 {
		t.Fatalf("set: %v %v, want [1 3]", s, err)
	}
	st, err := r.Status(ctx)
	if err != nil || st.LeaderID != c.nodes[l].ID() || len(st.Configuration) != 3 {
		t.Fatalf("status: %+v %v", st, err)
	}
	if st, err := r.SetClock(ctx, client.ClockRequest{Action: "offset", OffsetNS: int64(time.Hour)}); err != nil || st.ClockOffsetNS < int64(59*time.Minute) {
		t.Fatalf("set clock: %+v %v", st, err)
	}
	if _, err := r.SetClock(ctx, client.ClockRequest{Action: "warp"}); err == nil || !client.IsDefinite(err) {
		t.Fatalf("bad clock action: %v", err)
	}
	// Bad requests: definite failures, no retry, node still alive.
	bad := client.New(c.urls[f1], "")
	bad.NoRetry = true
	if _, err := bad.Read(ctx, "bad key!", ""); err == nil || !client.IsDefinite(err) {
		t.Fatalf("bad key: %v", err)
	}
	if _, err := bad.Read(ctx, "x", "bogus"); err == nil || !client.IsDefinite(err) {
		t.Fatalf("bad mode: %v", err)
	}
	for _, body := range []string{`{bad`, `{"value": 1e40}`, `{"value": 1, "nope": 2}`, `{}`} {
		resp, err := http.Post(c.urls[f1]+"/kv/x/cas", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("body %s: status %d, want 400", body, resp.StatusCode)
		}
	}
	// No quorum: the leader's writes time out (unknown), reads are refused (definite).
	c.partition(l)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel2()
	lc := client.New(c.urls[l], "p3")
	lc.NoRetry = true
	err = lc.Write(ctx2, "x", 9)
	if err == nil {
		t.Fatal("write on a leader without quorum succeeded")
	}
	t.Logf("write without quorum: %v (definite=%v)", err, client.IsDefinite(err))
	if _, err := lc.Read(ctx2, "x", client.ModeLinearizable); err == nil {
		t.Fatal("linearizable read on a partitioned leader succeeded")
	}
}

// TestClusterDeposedLeader keeps an old leader believing it leads (slow
// step-down) while the majority elects a new one and writes: linearizable reads
// on it are refused, while a lease read under a slowed clock serves the stale
// value, which shows both that the window is real and that lease mode is
// knowingly unsafe under clock faults.
func TestClusterDeposedLeader(t *testing.T) {
	c := newInmemClusterWith(t, 3, func(i int, cfg *Config) {
		if i == 0 { // n1 steps down only after 3 s without quorum contact
			cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 3*time.Second, 3*time.Second, 3*time.Second
			cfg.ReadLease = 100 * time.Millisecond
		}
	})
	l := c.waitLeader()
	if l != 0 {
		if err := c.nodes[l].raft.LeadershipTransferToServer("n1", c.addrs[0]).Error(); err != nil {
			t.Fatalf("transfer leadership to n1: %v", err)
		}
		if l = c.waitLeader(1, 2); l != 0 {
			t.Fatalf("leader is %d, want n1", l)
		}
	}
	n1 := c.nodes[0]
	mustApply(t, n1, Command{Op: OpWrite, Key: "x", Value: 1})
	for deadline := time.Now().Add(3 * time.Second); !n1.leaseValid(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("n1 never got a read lease")
		}
	}
	// Clock fault: n1's clock runs at 1/1000 speed, so its 100 ms lease lasts ~100 s.
	if err := n1.Clock().Apply(ClockRate, 0, 0.001); err != nil {
		t.Fatal(err)
	}
	c.partition(0)
	l = c.waitLeader(0)
	mustApply(t, c.nodes[l], Command{Op: OpWrite, Key: "x", Value: 2})
	if n1.raft.State() != raft.Leader {
		t.Fatal("n1 stepped down before the majority elected and wrote; the deposed-leader window did not happen")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if v, ok, err := readLin(ctx, n1, "x"); err == nil {
		t.Fatalf("deposed leader served a linearizable read: x=%d ok=%v (majority has 2)", v, ok)
	} else {
		t.Logf("linearizable read on deposed leader refused: %v", err)
	}
	if n1.raft.State() != raft.Leader {
		t.Skip("n1 stepped down during the linearizable read; cannot show the lease window")
	}
	var lv int64
	if err := n1.ReadLocal(ctx, ReadLease, func() { lv, _ = n1.fsm.Read("x") }); err != nil || lv != 1 {
		t.Fatalf("lease read on the deposed leader with a slowed clock: x=%d err=%v; want the stale 1 (lease mode is knowingly unsafe)", lv, err)
	}
	// Back to host time: the lease has long expired, so lease reads fall back to
	// the linearizable path and are refused.
	if err := n1.Clock().Apply(ClockReset, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := n1.ReadLocal(ctx, ReadLease, func() { lv, _ = n1.fsm.Read("x") }); err == nil {
		t.Fatalf("lease read after clock reset served x=%d on a deposed leader", lv)
	}
}

// TestClusterMembership adds a fourth voter through a follower's HTTP API
// (forwarded to the leader), checks it replicates and can serve as a forward
// target, then removes it.
func TestClusterMembership(t *testing.T) {
	c := newInmemCluster(t, 3)
	l := c.waitLeader()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := client.New(c.urls[l], "m1")
	if err := w.Write(ctx, "x", 1); err != nil {
		t.Fatal(err)
	}

	addr, tr := raft.NewInmemTransport("")
	for i := range c.trans {
		c.trans[i].Connect(addr, tr)
		tr.Connect(c.addrs[i], c.trans[i])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	store := raft.NewInmemStore()
	n4, err := New(Config{ID: "n4", Peers: c.peers, Transport: tr, LogStore: store, StableStore: store,
		SnapshotStore: raft.NewInmemSnapshotStore(), HeartbeatTimeout: 100 * time.Millisecond,
		ElectionTimeout: 100 * time.Millisecond, LeaderLeaseTimeout: 100 * time.Millisecond, Logger: testLogger(t, "n4")})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: NewHandler(n4)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); n4.Shutdown() })

	follower := client.New(c.urls[(l+1)%3], "admin")
	if err := follower.AddVoter(ctx, client.MemberRequest{ID: "n4", RaftAddr: string(addr), HTTPAddr: ln.Addr().String()}); err != nil {
		t.Fatalf("add voter n4 via follower: %v", err)
	}
	st, err := client.New(c.urls[l], "").Status(ctx)
	if err != nil || len(st.Configuration) != 4 {
		t.Fatalf("configuration after add: %+v %v", st.Configuration, err)
	}
	// n4 catches up and forwards to the leader; the leader knows n4's HTTP address.
	c4 := client.New("http://"+ln.Addr().String(), "m4")
	if err := c4.Write(ctx, "x", 2); err != nil {
		t.Fatalf("write via new member n4: %v", err)
	}
	if v, err := c4.Read(ctx, "x", client.ModeLinearizable); err != nil || v == nil || *v != 2 {
		t.Fatalf("read via n4: %v %v", v, err)
	}
	if a, ok := c.nodes[l].fsm.MemberHTTP("n4"); !ok || a != ln.Addr().String() {
		t.Fatalf("leader does not know n4's HTTP address: %q", a)
	}
	if err := follower.RemoveServer(ctx, "n4"); err != nil {
		t.Fatalf("remove n4: %v", err)
	}
	st, err = client.New(c.urls[l], "").Status(ctx)
	if err != nil || len(st.Configuration) != 3 {
		t.Fatalf("configuration after remove: %+v %v", st.Configuration, err)
	}
	bad := client.New(c.urls[l], "")
	bad.NoRetry = true
	if err := bad.AddVoter(ctx, client.MemberRequest{ID: "bad id!", RaftAddr: "x", HTTPAddr: "y"}); err == nil || !client.IsDefinite(err) {
		t.Fatalf("bad member request: %v", err)
	}
}

func TestClusterRefusesRequestsForAnotherCluster(t *testing.T) {
	c := newInmemClusterWith(t, 3, func(i int, cfg *Config) { cfg.Cluster = "run-a" })
	l := c.waitLeader()
	f := (l + 1) % 3
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mine := client.New(c.urls[f], "p1")
	mine.Cluster = "run-a"
	if err := mine.Write(ctx, "x", 1); err != nil {
		t.Fatalf("write naming our cluster, via a follower: %v", err)
	}
	other := client.New(c.urls[f], "p2")
	other.Cluster = "run-b"
	err := other.Write(ctx, "x", 2)
	if err == nil || !client.IsDefinite(err) || !strings.Contains(err.Error(), "wrong cluster") {
		t.Fatalf("write naming another cluster: %v; want a definite wrong-cluster failure", err)
	}
	if _, err := other.Status(ctx); err == nil {
		t.Fatal("status answered a request for another cluster")
	}
	anyone := client.New(c.urls[l], "p3") // no cluster named: accepted, as for curl
	if v, err := anyone.Read(ctx, "x", ""); err != nil || v == nil || *v != 1 {
		t.Fatalf("read without a cluster name: %v %v; want 1 (the refused write must not have applied)", v, err)
	}
	if st, err := mine.Status(ctx); err != nil || st.Cluster != "run-a" {
		t.Fatalf("status: %+v %v; want cluster run-a", st, err)
	}
}
