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
		if !n.IP.IsValid() {
			return nil, fmt.Errorf("node %q has no IP address", n.ID)
		}
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

// ensureChain makes sure Chain exists and INPUT jumps to it, in one node.
// Usually the jump is there and one command checks it; otherwise create the
// chain (an error means it exists already; the flush that follows would
// catch a real failure) and put the jump first in INPUT.
func ensureChain(ctx context.Context, c Cluster, node string) error {
	if _, err := c.Exec(ctx, node, ipt("-C", "INPUT", "-j", Chain)...); err == nil {
		return nil
	}
	_, _ = c.Exec(ctx, node, ipt("-N", Chain)...)
	if _, err := c.Exec(ctx, node, ipt("-I", "INPUT", "1", "-j", Chain)...); err != nil {
		return fmt.Errorf("jump from INPUT to %s: %w", Chain, err)
	}
	return nil
}

// Drops reads back what a node's chain drops: the source addresses of its
// DROP rules, in rule order, parsed from `iptables -w -S RAFTLAB`; nil
// when INPUT does not jump to the chain (nothing of ours is in force). It
// lets a test compare the rules in force with a grudge.
func Drops(ctx context.Context, c Cluster, node string) ([]netip.Addr, error) {
	if _, err := c.Exec(ctx, node, ipt("-C", "INPUT", "-j", Chain)...); err != nil {
		return nil, nil
	}
	out, err := c.Exec(ctx, node, ipt("-S", Chain)...)
	if err != nil {
		return nil, fmt.Errorf("list %s in %s: %w", Chain, node, err)
	}
	var addrs []netip.Addr
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		// -A RAFTLAB -s 10.77.0.13/32 -j DROP
		if len(f) != 6 || f[0] != "-A" || f[1] != Chain || f[2] != "-s" || f[4] != "-j" || f[5] != "DROP" {
			continue
		}
		p, err := netip.ParsePrefix(f[3])
		if err != nil {
			a, err2 := netip.ParseAddr(f[3])
			if err2 != nil {
				return nil, fmt.Errorf("%s: unexpected rule %q in %s", node, line, Chain)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		addrs = append(addrs, p.Addr())
	}
	return addrs, nil
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
