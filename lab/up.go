package lab

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/raftlab/raftlab/lab/cluster"
)

// Up starts a cluster to poke at by hand (labctl up): the node image is built
// if needed, the nodes are started with the given read mode, and Up returns
// once a leader is ready. The cluster stays until Down or Clean.
func Up(ctx context.Context, nodes int, readMode, image string, out io.Writer) (*cluster.Cluster, error) {
	cli, err := cluster.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	if image == "" {
		root, err := FindSourceRoot(".")
		if err != nil {
			return nil, err
		}
		if image, err = EnsureImage(ctx, root, out); err != nil {
			return nil, err
		}
	}
	runID := "up-" + time.Now().Format("150405")
	cl, err := cluster.Start(ctx, cli, cluster.Spec{RunID: runID, Nodes: nodes, Image: image, NodeArgs: nodeArgs(Spec{ReadMode: readMode}), Kept: true})
	if err != nil {
		return nil, err
	}
	leader, err := waitForLeader(ctx, cl.Nodes(), 60*time.Second)
	if err != nil {
		cl.Remove(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("cluster did not come up (removed it): %w", err)
	}
	fmt.Fprintf(out, "cluster %s is up on %s (network %s), leader %s\n", runID, cl.Subnet(), cl.Network(), leader)
	return cl, nil
}

// Down removes the cluster of runID, or, when runID is empty, every cluster
// meant to stay up (labctl up, --leave-running); tests that are running are
// left alone. It returns what it removed.
func Down(ctx context.Context, runID string) (cluster.Leftovers, error) {
	cli, err := cluster.Connect(ctx)
	if err != nil {
		return cluster.Leftovers{}, err
	}
	defer cli.Close()
	if runID != "" {
		return cluster.Clean(ctx, cli, runID)
	}
	l, err := cluster.FindKept(ctx, cli)
	if err != nil {
		return l, err
	}
	return l, cluster.Remove(ctx, cli, l)
}

// Clean removes every container and network any lab run left behind,
// running tests included. It returns what it removed.
func Clean(ctx context.Context) (cluster.Leftovers, error) {
	cli, err := cluster.Connect(ctx)
	if err != nil {
		return cluster.Leftovers{}, err
	}
	defer cli.Close()
	return cluster.Clean(ctx, cli, "")
}
