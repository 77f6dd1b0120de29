// Package cluster runs a lab's Raft register nodes as Docker containers: one
// internal bridge network per run with a subnet that collides with nothing,
// containers with fixed addresses and NET_ADMIN only, and the few actions the
// nemesis needs (exec inside a node, kill and start the node process, pause,
// clock). Everything it creates carries the label raftlab=1 so that Clean can
// remove leftovers of any run.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Labels put on every container and network the lab creates.
const (
	// LabelLab marks every object of any lab run (value "1"); Clean removes them.
	LabelLab = "raftlab"
	// LabelRun names the run an object belongs to.
	LabelRun = "raftlab.run"
	// LabelNode names the node a container holds.
	LabelNode = "raftlab.node"
	// LabelKept marks clusters meant to outlive their command (labctl up,
	// --leave-running); labctl down removes only these.
	LabelKept = "raftlab.kept"
)

// Ports the node listens on inside its container.
const (
	RaftPort = 7000
	HTTPPort = 8080
)

// minAPIVersion is the oldest Engine API the lab is tested against.
const minAPIVersion = "1.40"

// Connect opens a Docker Engine client from the environment (DOCKER_HOST and
// friends), negotiates the API version and fails clearly when the engine is
// unreachable or too old.
func Connect(ctx context.Context) (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ping, err := cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("cannot reach the Docker Engine (is it running? try `systemctl start docker` or check DOCKER_HOST): %w", err)
	}
	if versionLess(ping.APIVersion, minAPIVersion) {
		cli.Close()
		return nil, fmt.Errorf("Docker Engine API %s is older than %s; upgrade Docker", ping.APIVersion, minAPIVersion)
	}
	return cli, nil
}

// versionLess compares dotted API versions such as "1.41" and "1.9".
func versionLess(a, b string) bool {
	var a1, a2, b1, b2 int
	fmt.Sscanf(a, "%d.%d", &a1, &a2)
	fmt.Sscanf(b, "%d.%d", &b1, &b2)
	if a1 != b1 {
		return a1 < b1
	}
	return a2 < b2
}

// Spec says what cluster to start.
type Spec struct {
	// RunID names the run; container and network names derive from it.
	RunID string
	// Nodes is the number of nodes (n1..nN).
	Nodes int
	// Image is the node image reference.
	Image string
	// NodeArgs are extra raftnode flags given to every node (e.g. --read-mode).
	NodeArgs []string
	// Logger receives progress; nil discards.
	Logger *slog.Logger
	// Kept labels the cluster as meant to stay up after its command ends.
	Kept bool
}

// Node is one node of a running cluster.
type Node struct {
	// ID is the Raft server id: n1, n2, ...
	ID string
	// IP is the node's fixed address on the run's network.
	IP netip.Addr
	// Container is the container's name.
	Container string
	// Cluster is the run id, which the node also knows as its cluster name
	// (raftnode --cluster): clients send it so that a request can never act
	// on another run's cluster at a reused address.
	Cluster string
}

// URL is the node's HTTP API base URL, reachable from the controller.
func (n Node) URL() string { return fmt.Sprintf("http://%s:%d", n.IP, HTTPPort) }

// Cluster is a running set of node containers on their own network.
type Cluster struct {
	cli     *client.Client
	spec    Spec
	log     *slog.Logger
	netID   string
	netName string
	subnet  netip.Prefix
	gateway netip.Addr
	nodes   []Node
	labels  map[string]string
}

// Start creates the run's network and node containers and starts them. On
// error it removes whatever it created.
func Start(ctx context.Context, cli *client.Client, spec Spec) (_ *Cluster, err error) {
	if spec.Nodes < 1 || spec.Nodes > 50 {
		return nil, fmt.Errorf("nodes must be between 1 and 50, got %d", spec.Nodes)
	}
	log := spec.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Cluster{cli: cli, spec: spec, log: log, netName: "raftlab-" + spec.RunID}
	c.labels = map[string]string{LabelLab: "1", LabelRun: spec.RunID}
	if spec.Kept {
		c.labels[LabelKept] = "1"
	}
	defer func() {
		if err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			c.Remove(rctx)
		}
	}()
	if err := c.createNetwork(ctx); err != nil {
		return nil, err
	}
	for i := 1; i <= spec.Nodes; i++ {
		ip := nthAddr(c.subnet, 10+i)
		c.nodes = append(c.nodes, Node{ID: fmt.Sprintf("n%d", i), IP: ip, Container: fmt.Sprintf("raftlab-%s-n%d", spec.RunID, i), Cluster: spec.RunID})
	}
	peers := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		peers[i] = fmt.Sprintf("%s=%s:%d=%s:%d", n.ID, n.IP, RaftPort, n.IP, HTTPPort)
	}
	for _, n := range c.nodes {
		if err := c.createNode(ctx, n, strings.Join(peers, ",")); err != nil {
			return nil, err
		}
	}
	// Start all at once: bootstrap needs the peers up within an election timeout or two.
	var wg sync.WaitGroup
	errs := make([]error, len(c.nodes))
	for i, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cli.ContainerStart(ctx, n.Container, client.ContainerStartOptions{}); err != nil {
				errs[i] = fmt.Errorf("start container %s: %w", n.Container, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	log.Info("cluster started", "network", c.netName, "subnet", c.subnet.String(), "nodes", len(c.nodes))
	return c, nil
}

// nthAddr returns the n-th address of an IPv4 prefix.
func nthAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// createNetwork makes an internal bridge on the first 10.77.x.0/24 subnet that
// overlaps no existing Docker network, retrying on a race with another run.
func (c *Cluster) createNetwork(ctx context.Context) error {
	nets, err := c.cli.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return fmt.Errorf("list docker networks: %w", err)
	}
	var used []netip.Prefix
	for _, n := range nets.Items {
		for _, cfg := range n.IPAM.Config {
			if cfg.Subnet.IsValid() {
				used = append(used, cfg.Subnet)
			}
		}
	}
	var lastErr error
	for _, cand := range SubnetCandidates() {
		if overlapsAny(cand, used) {
			continue
		}
		gw := nthAddr(cand, 1)
		res, err := c.cli.NetworkCreate(ctx, c.netName, client.NetworkCreateOptions{
			Driver:   "bridge",
			Internal: true,
			IPAM:     &network.IPAM{Config: []network.IPAMConfig{{Subnet: cand, Gateway: gw}}},
			Labels:   c.labels,
		})
		if err != nil {
			lastErr = err
			if strings.Contains(err.Error(), "overlap") {
				used = append(used, cand)
				continue
			}
			return fmt.Errorf("create network %s: %w", c.netName, err)
		}
		c.netID, c.subnet, c.gateway = res.ID, cand, gw
		return nil
	}
	return fmt.Errorf("no free subnet for the lab network (10.77.0.0/16 is taken; remove old networks with `labctl clean`): %v", lastErr)
}

// SubnetCandidates lists the /24 subnets a run may use, in order. 10.77.0.0/24
// is left to docker-compose.yml.
func SubnetCandidates() []netip.Prefix {
	var out []netip.Prefix
	for i := 1; i < 256; i++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 77, byte(i), 0}), 24))
	}
	return out
}

// overlapsAny reports whether p overlaps any prefix in used.
func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if p.Overlaps(u) {
			return true
		}
	}
	return false
}

// createNode creates (but does not start) the container of one node.
func (c *Cluster) createNode(ctx context.Context, n Node, peers string) error {
	args := []string{
		"--id", n.ID,
		"--data", "/data",
		"--raft-bind", fmt.Sprintf("0.0.0.0:%d", RaftPort),
		"--raft-advertise", fmt.Sprintf("%s:%d", n.IP, RaftPort),
		"--http", fmt.Sprintf(":%d", HTTPPort),
		"--peers", peers,
		"--cluster", c.spec.RunID,
	}
	args = append(args, c.spec.NodeArgs...)
	init := true
	_, err := c.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: n.Container,
		Config: &container.Config{
			Image:    c.spec.Image,
			Hostname: n.ID,
			Cmd:      args,
			Labels:   withNode(c.labels, n.ID),
		},
		HostConfig: &container.HostConfig{
			NetworkMode:   container.NetworkMode(c.netName),
			CapAdd:        []string{"NET_ADMIN"},
			Init:          &init,
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			c.netName: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: n.IP}},
		}},
	})
	if err != nil {
		if strings.Contains(err.Error(), "No such image") || strings.Contains(err.Error(), "not found") {
			return fmt.Errorf("create container %s: image %s is missing; build it with docker/build.sh: %w", n.Container, c.spec.Image, err)
		}
		return fmt.Errorf("create container %s: %w", n.Container, err)
	}
	return nil
}

// Nodes returns the cluster's nodes in id order.
func (c *Cluster) Nodes() []Node { return append([]Node(nil), c.nodes...) }

// Subnet is the run network's subnet.
func (c *Cluster) Subnet() netip.Prefix { return c.subnet }

// Gateway is the controller's address on the run network (the host side of
// the bridge): the nemesis never cuts it.
func (c *Cluster) Gateway() netip.Addr { return c.gateway }

// Network is the name of the run's Docker network.
func (c *Cluster) Network() string { return c.netName }

// node finds a node by id.
func (c *Cluster) node(id string) (Node, error) {
	for _, n := range c.nodes {
		if n.ID == id {
			return n, nil
		}
	}
	return Node{}, fmt.Errorf("no node %q in this cluster", id)
}

// ExecError is returned when a command inside a node exits non-zero.
type ExecError struct {
	Node     string
	Cmd      []string
	ExitCode int
	Stderr   string
}

func (e *ExecError) Error() string {
	return fmt.Sprintf("%s: `%s` exited %d: %s", e.Node, strings.Join(e.Cmd, " "), e.ExitCode, strings.TrimSpace(e.Stderr))
}

// Exec runs a command inside a node's container (in its network namespace)
// and returns its standard output; a non-zero exit is an *ExecError.
func (c *Cluster) Exec(ctx context.Context, node string, cmd ...string) (string, error) {
	n, err := c.node(node)
	if err != nil {
		return "", err
	}
	ex, err := c.cli.ExecCreate(ctx, n.Container, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", fmt.Errorf("exec in %s: %w", node, err)
	}
	att, err := c.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return "", fmt.Errorf("exec in %s: %w", node, err)
	}
	defer att.Close()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		att.Close()
		return "", fmt.Errorf("exec in %s: %w", node, ctx.Err())
	}
	if err != nil {
		return "", fmt.Errorf("exec in %s: read output: %w", node, err)
	}
	insp, err := c.cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("exec in %s: %w", node, err)
	}
	if insp.ExitCode != 0 {
		return stdout.String(), &ExecError{Node: node, Cmd: cmd, ExitCode: insp.ExitCode, Stderr: stderr.String()}
	}
	return stdout.String(), nil
}

// Kill SIGKILLs the node process; it stays down (its container, data and
// network namespace, with any firewall rules, stay) until Start.
func (c *Cluster) Kill(ctx context.Context, node string) error {
	_, err := c.Exec(ctx, node, "raftnode-ctl", "kill")
	return err
}

// Start starts the node process again after Kill.
func (c *Cluster) Start(ctx context.Context, node string) error {
	_, err := c.Exec(ctx, node, "raftnode-ctl", "start")
	return err
}

// PID returns the node process id inside its container, or 0 when it is not running.
func (c *Cluster) PID(ctx context.Context, node string) (int, error) {
	out, err := c.Exec(ctx, node, "raftnode-ctl", "pid")
	if err != nil {
		var ee *ExecError
		if errors.As(err, &ee) {
			return 0, nil
		}
		return 0, err
	}
	var pid int
	fmt.Sscanf(strings.TrimSpace(out), "%d", &pid)
	return pid, nil
}

// Pause freezes every process of the node's container (cgroup freezer).
func (c *Cluster) Pause(ctx context.Context, node string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	if _, err := c.cli.ContainerPause(ctx, n.Container, client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pause %s: %w", node, err)
	}
	return nil
}

// Resume thaws a paused node; resuming a node that is not paused is not an error.
func (c *Cluster) Resume(ctx context.Context, node string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	if _, err := c.cli.ContainerUnpause(ctx, n.Container, client.ContainerUnpauseOptions{}); err != nil {
		if strings.Contains(err.Error(), "not paused") {
			return nil
		}
		return fmt.Errorf("resume %s: %w", node, err)
	}
	return nil
}

// Paused reports whether the node's container is frozen.
func (c *Cluster) Paused(ctx context.Context, node string) (bool, error) {
	n, err := c.node(node)
	if err != nil {
		return false, err
	}
	res, err := c.cli.ContainerInspect(ctx, n.Container, client.ContainerInspectOptions{})
	if err != nil {
		return false, fmt.Errorf("inspect %s: %w", node, err)
	}
	return res.Container.State != nil && res.Container.State.Paused, nil
}

// SaveLogs writes each node's container output to dir/<node>.log.
func (c *Cluster) SaveLogs(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, n := range c.nodes {
		errs = append(errs, c.saveLog(ctx, n, dir))
	}
	return errors.Join(errs...)
}

func (c *Cluster) saveLog(ctx context.Context, n Node, dir string) error {
	rc, err := c.cli.ContainerLogs(ctx, n.Container, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return fmt.Errorf("logs of %s: %w", n.ID, err)
	}
	defer rc.Close()
	f, err := os.Create(fmt.Sprintf("%s/%s.log", dir, n.ID))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := stdcopy.StdCopy(f, f, rc); err != nil {
		return fmt.Errorf("logs of %s: %w", n.ID, err)
	}
	return f.Sync()
}

// Remove force-removes the run's containers and network. It is safe to call
// more than once and after a partial Start.
func (c *Cluster) Remove(ctx context.Context) error {
	var errs []error
	for _, n := range c.nodes {
		if _, err := c.cli.ContainerRemove(ctx, n.Container, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", n.Container, err))
		}
	}
	if c.netID != "" {
		if _, err := c.cli.NetworkRemove(ctx, c.netID, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", c.netName, err))
		}
	}
	return errors.Join(errs...)
}

// isNotFound reports whether a Docker error means the object is already gone.
func isNotFound(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "no such") || strings.Contains(s, "not found")
}

// withNode returns labels plus the node label.
func withNode(labels map[string]string, node string) map[string]string {
	out := map[string]string{LabelNode: node}
	for k, v := range labels {
		out[k] = v
	}
	return out
}

// Missing lists the nodes whose containers no longer exist (removed by
// someone else, e.g. `labctl clean` during the run). Their addresses may
// since belong to another run's cluster, so a run must not trust what it
// read through them.
func (c *Cluster) Missing(ctx context.Context) ([]string, error) {
	var out []string
	for _, n := range c.nodes {
		if _, err := c.cli.ContainerInspect(ctx, n.Container, client.ContainerInspectOptions{}); err != nil {
			if !isNotFound(err) {
				return out, fmt.Errorf("inspect %s: %w", n.Container, err)
			}
			out = append(out, n.ID)
		}
	}
	return out, nil
}
