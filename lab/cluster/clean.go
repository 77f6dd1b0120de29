package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
)

// Object is a Docker object the lab created.
type Object struct {
	ID   string
	Name string
}

// Leftovers lists what Clean would remove.
type Leftovers struct {
	Containers []Object
	Networks   []Object
}

// Empty reports whether nothing is left.
func (l Leftovers) Empty() bool { return len(l.Containers) == 0 && len(l.Networks) == 0 }

// FindLeftovers lists every container and network labelled raftlab=1, of any
// run, running or not. With runID set it lists only that run's objects.
func FindLeftovers(ctx context.Context, cli *client.Client, runID string) (Leftovers, error) {
	return find(ctx, cli, runID, false)
}

// FindKept lists the clusters meant to stay up (labctl up, --leave-running).
func FindKept(ctx context.Context, cli *client.Client) (Leftovers, error) {
	return find(ctx, cli, "", true)
}

func find(ctx context.Context, cli *client.Client, runID string, kept bool) (Leftovers, error) {
	f := client.Filters{}.Add("label", LabelLab+"=1")
	if runID != "" {
		f = f.Add("label", LabelRun+"="+runID)
	}
	if kept {
		f = f.Add("label", LabelKept+"=1")
	}
	var l Leftovers
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return l, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = c.Names[0][1:]
		}
		l.Containers = append(l.Containers, Object{ID: c.ID, Name: name})
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return l, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns.Items {
		l.Networks = append(l.Networks, Object{ID: n.ID, Name: n.Name})
	}
	return l, nil
}

// Clean removes the containers and network of run runID, or, with runID
// empty, every container and network any lab run left behind (all objects
// labelled raftlab=1). The lab's firewall rules live only inside the
// containers' network namespaces, so they go with the containers. It returns
// what it removed.
func Clean(ctx context.Context, cli *client.Client, runID string) (Leftovers, error) {
	l, err := FindLeftovers(ctx, cli, runID)
	if err != nil {
		return l, err
	}
	return l, Remove(ctx, cli, l)
}

// Remove force-removes the listed containers, then the networks.
func Remove(ctx context.Context, cli *client.Client, l Leftovers) error {
	var errs []error
	for _, o := range l.Containers {
		if _, err := cli.ContainerRemove(ctx, o.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", o.Name, err))
		}
	}
	for _, o := range l.Networks {
		if _, err := cli.NetworkRemove(ctx, o.ID, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", o.Name, err))
		}
	}
	return errors.Join(errs...)
}
