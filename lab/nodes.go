package lab

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/raftlab/raftlab/lab/cluster"
	"github.com/raftlab/raftlab/nemesis"
	"github.com/raftlab/raftlab/node/client"
)

// nemesisCluster lets the nemesis act on a Docker cluster: it adds the node
// API calls (leader, clock) to the container actions.
type nemesisCluster struct{ c *cluster.Cluster }

var _ nemesis.Cluster = nemesisCluster{}

func (n nemesisCluster) Nodes() []nemesis.Node {
	var out []nemesis.Node
	for _, nd := range n.c.Nodes() {
		out = append(out, nemesis.Node{ID: nd.ID, IP: nd.IP})
	}
	return out
}

func (n nemesisCluster) Exec(ctx context.Context, node string, cmd ...string) (string, error) {
	return n.c.Exec(ctx, node, cmd...)
}
func (n nemesisCluster) Kill(ctx context.Context, node string) error   { return n.c.Kill(ctx, node) }
func (n nemesisCluster) Start(ctx context.Context, node string) error  { return n.c.Start(ctx, node) }
func (n nemesisCluster) Pause(ctx context.Context, node string) error  { return n.c.Pause(ctx, node) }
func (n nemesisCluster) Resume(ctx context.Context, node string) error { return n.c.Resume(ctx, node) }

func (n nemesisCluster) Leader(ctx context.Context) (string, error) {
	v := pollStatuses(ctx, n.c.Nodes(), time.Second)
	return v.leader(), nil
}

func (n nemesisCluster) Clock(ctx context.Context, node string, action string, offset time.Duration, rate float64) error {
	for _, nd := range n.c.Nodes() {
		if nd.ID == node {
			_, err := nodeClient(nd, "").SetClock(ctx, client.ClockRequest{Action: action, OffsetNS: int64(offset), Rate: rate})
			return err
		}
	}
	return fmt.Errorf("no node %q", node)
}

// nodeClient is a client of one node that names the node's cluster in every
// request, so it can only ever act on this run's cluster.
func nodeClient(n cluster.Node, clientID string) *client.Client {
	c := client.New(n.URL(), clientID)
	c.Cluster = n.Cluster
	return c
}

// view is what each node's /status said at one moment.
type view struct {
	total    int
	statuses map[string]client.Status // by node id, answering nodes only
}

// pollStatuses asks every node for its status at once, each with a timeout.
func pollStatuses(ctx context.Context, nodes []cluster.Node, timeout time.Duration) view {
	v := view{total: len(nodes), statuses: map[string]client.Status{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			st, err := nodeClient(nd, "").Status(cctx)
			if err == nil {
				mu.Lock()
				v.statuses[nd.ID] = st
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return v
}

// leader returns the node that calls itself leader in the highest term and
// is named leader by a majority of all nodes, or "".
func (v view) leader() string {
	best, term := "", uint64(0)
	for id, st := range v.statuses {
		if st.State == "Leader" && st.Term >= term {
			best, term = id, st.Term
		}
	}
	if best == "" {
		return ""
	}
	votes := 0
	for _, st := range v.statuses {
		if st.LeaderID == best {
			votes++
		}
	}
	if votes <= v.total/2 {
		return ""
	}
	return best
}

// ready reports whether a leader is elected, known to a majority, and ready
// to serve linearizable reads.
func (v view) ready() (string, bool) {
	l := v.leader()
	if l == "" {
		return "", false
	}
	return l, v.statuses[l].ReadyForReads
}

// describe summarises the view for an error message.
func (v view) describe() string {
	ids := make([]string, 0, len(v.statuses))
	for id := range v.statuses {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	s := fmt.Sprintf("%d of %d nodes answered", len(v.statuses), v.total)
	for _, id := range ids {
		st := v.statuses[id]
		s += fmt.Sprintf("; %s: %s term %d leader %q", id, st.State, st.Term, st.LeaderID)
	}
	return s
}

// waitForLeader polls until a leader is ready for linearizable reads.
func waitForLeader(ctx context.Context, nodes []cluster.Node, limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	var last view
	for {
		last = pollStatuses(ctx, nodes, time.Second)
		if l, ok := last.ready(); ok {
			return l, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no leader after %s (%s); see the node logs in the results folder", limit, last.describe())
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
