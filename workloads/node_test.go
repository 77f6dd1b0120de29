package workloads

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftlab/raftlab/history"
	"github.com/raftlab/raftlab/node"
	"github.com/raftlab/raftlab/node/client"
)

// startCluster runs n real nodes in-process (in-memory Raft transport and
// stores, HTTP API on loopback) and waits until one is the leader and ready
// for reads. It returns their endpoints; everything stops at test cleanup.
func startCluster(t testing.TB, n int) []Endpoint {
	t.Helper()
	servers := make([]*httptest.Server, n)
	handlers := make([]atomic.Pointer[http.Handler], n)
	peers := make([]node.Peer, n)
	trans := make([]*raft.InmemTransport, n)
	for i := range n {
		h := &handlers[i]
		servers[i] = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hh := h.Load(); hh != nil {
				(*hh).ServeHTTP(w, r)
				return
			}
			http.Error(w, `{"error":"starting","outcome":"fail"}`, http.StatusServiceUnavailable)
		}))
		addr, tr := raft.NewInmemTransport("")
		trans[i] = tr
		peers[i] = node.Peer{ID: fmt.Sprintf("n%d", i+1), RaftAddr: string(addr), HTTPAddr: servers[i].Listener.Addr().String()}
	}
	for i := range n {
		for j := range n {
			if i != j {
				trans[i].Connect(raft.ServerAddress(peers[j].RaftAddr), trans[j])
			}
		}
	}
	var eps []Endpoint
	for i := range n {
		store := raft.NewInmemStore()
		nd, err := node.New(node.Config{
			ID: peers[i].ID, Peers: peers, Transport: trans[i],
			LogStore: store, StableStore: store, SnapshotStore: raft.NewInmemSnapshotStore(),
			HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
			LeaderLeaseTimeout: 50 * time.Millisecond,
		})
		if err != nil {
			t.Fatalf("start node %s: %v", peers[i].ID, err)
		}
		var h http.Handler = node.NewHandler(nd)
		handlers[i].Store(&h)
		servers[i].Start()
		t.Cleanup(func() {
			servers[i].Close()
			_ = nd.Shutdown()
		})
		eps = append(eps, Endpoint{ID: peers[i].ID, URL: servers[i].URL})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		for _, ep := range eps {
			if st, err := client.New(ep.URL, "probe").Status(ctx); err == nil && st.ReadyForReads {
				return eps
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no node became a ready leader within 10 s")
	return nil
}

// TestAgainstRealNodes runs every workload through the real node client and
// HTTP API of an in-process three-node cluster: histories are well formed,
// ops succeed, and the final reads see the cluster's state.
func TestAgainstRealNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an in-process Raft cluster")
	}
	eps := startCluster(t, 3)
	for i, name := range Names() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rec := newMemRecorder(300, cancel)
			const conc = 6
			w, err := New(name, Config{Nodes: eps, Concurrency: conc, Recorder: rec, KeyPrefix: fmt.Sprintf("t%d-", i)})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Run(ctx); err != nil {
				t.Fatal(err)
			}
			runOps := rec.history()
			first := processes(runOps)[len(processes(runOps))-1] + 1
			if err := w.Final(context.Background()); err != nil {
				t.Fatalf("Final: %v", err)
			}
			ops := rec.history()
			for _, e := range checkWellFormed(ops, conc, eps, first) {
				t.Error(e)
			}
			got := count(ops)
			if got[history.Invoke] < 300 || got[history.OK] != got[history.Invoke] {
				t.Errorf("healthy cluster gave %v, want at least 300 invocations, all ok", got)
			}
			finals := finalOps(ops, first)
			if len(finals) == 0 {
				t.Fatal("no final reads recorded")
			}
			if name == Set {
				acked := 0
				for _, op := range runOps {
					if op.Type == history.OK {
						acked++
					}
				}
				for _, op := range finals {
					if op.Type == history.OK && len(op.Value.([]int64)) != acked {
						t.Errorf("final read on %s has %d elements, %d adds acknowledged", op.Node, len(op.Value.([]int64)), acked)
					}
				}
			}
		})
	}
}
