package nemesis

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Chain is the iptables chain (filter table) the nemesis owns in every
// node's network namespace. INPUT jumps to it; it holds only our DROP rules,
// so flushing it heals our partition and touches no other rule.
const Chain = "RAFTLAB"

// iptables is the command; -w waits for the xtables lock instead of failing.
var iptables = []string{"iptables", "-w"}

// ipt builds one iptables command line.
func ipt(args ...string) []string { return append(slices.Clone(iptables), args...) }

// GrudgeCommands returns, for every node, the commands that put its part of
// the grudge in force once Chain exists and INPUT jumps to it: flush Chain,
// then (if the node drops anyone) one rule dropping packets from the peers'
// addresses:
//
//	iptables -w -F RAFTLAB
//	iptables -w -A RAFTLAB -s 10.77.0.13,10.77.0.14 -j DROP
//
// A nil grudge gives the flush alone: the heal. Only INPUT is filtered, as
// in Jepsen: the node drops what its peers send. Nodes of the grudge that are
// not in nodes are an error.
func GrudgeCommands(g Grudge, nodes []Node) (map[string][][]string, error) {
	ips := map[string]netip.Addr{}
	for _, n := range nodes {
		ips[n.ID] = n.IP
	}
	for n, drops := range g {
		for _, id := range append([]string{n}, drops...) {
			if _, ok := ips[id]; !ok {
				return nil, fmt.Errorf("grudge names node %q, which is not in the cluster", id)
			}
		}
	}
	out := map[string][][]string{}
	for _, n := range nodes {
		cmds := [][]string{ipt("-F", Chain)}
		if drops := g[n.ID]; len(drops) > 0 {
			addrs := make([]string, len(drops))
			for i, d := range drops {
				addrs[i] = ips[d].String()
			}
			cmds = append(cmds, ipt("-A", Chain, "-s", strings.Join(addrs, ","), "-j", "DROP"))
		}
		out[n.ID] = cmds
	}
	return out, nil
}

// ensureChain makes sure Chain exists and INPUT jumps to it first, in one
// node: create the chain (an error means it exists, checked by the flush that
// follows), then add the jump unless it is there.
func ensureChain(ctx context.Context, c Cluster, node string) error {
	_, _ = c.Exec(ctx, node, ipt("-N", Chain)...)
	if _, err := c.Exec(ctx, node, ipt("-C", "INPUT", "-j", Chain)...); err == nil {
		return nil
	}
	if _, err := c.Exec(ctx, node, ipt("-I", "INPUT", "1", "-j", Chain)...); err != nil {
		return fmt.Errorf("jump from INPUT to %s: %w", Chain, err)
	}
	return nil
}

// applyCommands runs ensureChain then cmds in node, stopping at the first error.
func applyCommands(ctx context.Context, c Cluster, node string, cmds [][]string) error {
	if err := ensureChain(ctx, c, node); err != nil {
		return err
	}
	for _, cmd := range cmds {
		if _, err := c.Exec(ctx, node, cmd...); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(cmd, " "), err)
		}
	}
	return nil
}
