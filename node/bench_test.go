package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftlab/raftlab/node/client"
)

// tcpCluster is n in-process Nodes with real TCP transports and raft-boltdb
// (fsync on) in a temp dir, each serving HTTP on loopback.
type tcpCluster struct {
	nodes []*Node
	urls  []string
}

func newTCPCluster(tb testing.TB, n int) *tcpCluster {
	tb.Helper()
	dir := tb.TempDir()
	c := &tcpCluster{}
	var peers []Peer
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		lns = append(lns, ln)
		peers = append(peers, Peer{ID: fmt.Sprintf("n%d", i+1), RaftAddr: fmt.Sprintf("127.0.0.1:%d", freePort(tb)), HTTPAddr: ln.Addr().String()})
		c.urls = append(c.urls, "http://"+ln.Addr().String())
	}
	var srvs []*http.Server
	for i := 0; i < n; i++ {
		nd, err := New(Config{ID: peers[i].ID, DataDir: filepath.Join(dir, peers[i].ID), RaftBind: peers[i].RaftAddr,
			Peers: peers, Logger: testLogger(tb, peers[i].ID)})
		if err != nil {
			tb.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
		srv := &http.Server{Handler: NewHandler(nd)}
		srvs = append(srvs, srv)
		go srv.Serve(lns[i])
	}
	tb.Cleanup(func() {
		for i, nd := range c.nodes {
			_ = srvs[i].Close()
			_ = nd.Shutdown()
		}
	})
	return c
}

func (c *tcpCluster) leader(tb testing.TB) int {
	tb.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for i, nd := range c.nodes {
			if nd.raft.State() == raft.Leader && nd.readyTerm.Load() == nd.raft.CurrentTerm() {
				return i
			}
		}
	}
	tb.Fatal("no leader within 15s")
	return -1
}

var benchClientSeq atomic.Int64

// BenchmarkCluster measures write, CAS and read throughput and latency through
// the HTTP API and Go client against the leader of a three-node loopback
// cluster (TCP transport, boltdb with fsync). cN = N concurrent clients.
// Metrics: ops/s, p50-ms, p99-ms.
func BenchmarkCluster(b *testing.B) {
	c := newTCPCluster(b, 3)
	l := c.leader(b)
	url := c.urls[l]
	type opFn func(ctx context.Context, cl *client.Client, key string, i int64) error
	ops := []struct {
		name string
		fn   opFn
	}{
		{"write", func(ctx context.Context, cl *client.Client, key string, i int64) error { return cl.Write(ctx, key, i) }},
		{"cas", func(ctx context.Context, cl *client.Client, key string, i int64) error {
			ok, err := cl.CAS(ctx, key, i-1, i) // each worker owns its key, so every CAS succeeds
			if err == nil && !ok {
				return fmt.Errorf("CAS %d->%d on %s failed", i-1, i, key)
			}
			return err
		}},
		{"read-linearizable", func(ctx context.Context, cl *client.Client, key string, i int64) error {
			_, err := cl.Read(ctx, key, client.ModeLinearizable)
			return err
		}},
		{"read-lease", func(ctx context.Context, cl *client.Client, key string, i int64) error {
			_, err := cl.Read(ctx, key, client.ModeLease)
			return err
		}},
		{"read-stale", func(ctx context.Context, cl *client.Client, key string, i int64) error {
			_, err := cl.Read(ctx, key, client.ModeStale)
			return err
		}},
	}
	ops = append(ops, struct {
		name string
		fn   opFn
	}{"write-via-follower", ops[0].fn})
	for _, op := range ops {
		for _, conc := range []int{1, 16} {
			url := url
			if op.name == "write-via-follower" {
				url = c.urls[(l+1)%len(c.urls)] // forwarded to the leader: one extra HTTP hop
			}
			b.Run(fmt.Sprintf("%s/c%d", op.name, conc), func(b *testing.B) {
				ctx := context.Background()
				clients := make([]*client.Client, conc)
				keys := make([]string, conc)
				for w := range clients {
					id := benchClientSeq.Add(1)
					clients[w] = client.New(url, fmt.Sprintf("bench-%d", id))
					keys[w] = fmt.Sprintf("bench-%d", id)
					if err := clients[w].Write(ctx, keys[w], 0); err != nil { // CAS starts from 0
						b.Fatal(err)
					}
				}
				var next atomic.Int64
				lats := make([][]time.Duration, conc)
				var wg sync.WaitGroup
				var failed atomic.Value
				b.ResetTimer()
				start := time.Now()
				for w := 0; w < conc; w++ {
					wg.Add(1)
					go func(w int) {
						defer wg.Done()
						var i int64
						for next.Add(1) <= int64(b.N) {
							i++
							t0 := time.Now()
							if err := op.fn(ctx, clients[w], keys[w], i); err != nil {
								failed.Store(err)
								return
							}
							lats[w] = append(lats[w], time.Since(t0))
						}
					}(w)
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				if err, ok := failed.Load().(error); ok {
					b.Fatal(err)
				}
				var all []time.Duration
				for _, l := range lats {
					all = append(all, l...)
				}
				slices.Sort(all)
				pct := func(p float64) float64 {
					return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
				}
				b.ReportMetric(float64(len(all))/elapsed.Seconds(), "ops/s")
				b.ReportMetric(pct(0.50), "p50-ms")
				b.ReportMetric(pct(0.99), "p99-ms")
			})
		}
	}
}
