package main

import (
	"fmt"

	"github.com/raftlab/raftlab/lab"
	"github.com/raftlab/raftlab/lab/cluster"
	"github.com/urfave/cli/v2"
)

func init() { commands = append(commands, upCommand(), downCommand(), cleanCommand()) }

func upCommand() *cli.Command {
	return &cli.Command{
		Name:  "up",
		Usage: "start a cluster to poke at by hand (stays up until labctl down)",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "nodes", Aliases: []string{"n"}, Value: 5, Usage: "number of Raft nodes"},
			&cli.StringFlag{Name: "read-mode", Value: "linearizable", Usage: "the nodes' default read mode: linearizable, lease or stale"},
			&cli.StringFlag{Name: "image", Usage: "node image (default: build raftlab/node from this source tree)"},
		},
		Action: func(c *cli.Context) error {
			if n := c.Int("nodes"); n < 1 || n > 9 {
				return usageError(c, "labctl up: --nodes must be between 1 and 9, got %d", n)
			}
			ctx, stop := interruptible(c.App.ErrWriter)
			defer stop()
			cl, err := lab.Up(ctx, c.Int("nodes"), c.String("read-mode"), c.String("image"), c.App.ErrWriter)
			if err != nil {
				return exitf(exitInternal, "labctl up: %v", err)
			}
			for _, n := range cl.Nodes() {
				fmt.Fprintf(c.App.Writer, "%s %s\n", n.ID, n.URL())
			}
			n1 := cl.Nodes()[0].URL()
			fmt.Fprintf(c.App.Writer, "try: curl -X PUT -d '{\"value\":1}' %s/kv/x && curl %s/kv/x && curl %s/status\n", n1, n1, n1)
			fmt.Fprintln(c.App.Writer, "remove it with: labctl down")
			return nil
		},
	}
}

func downCommand() *cli.Command {
	return &cli.Command{
		Name:      "down",
		Usage:     "remove clusters started by labctl up or left by --leave-running (all, or the RUN named)",
		ArgsUsage: "[RUN]",
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError(c, "labctl down takes at most one run id")
			}
			l, err := lab.Down(c.Context, c.Args().First())
			report(c, l)
			if err != nil {
				return exitf(exitInternal, "labctl down: %v", err)
			}
			return nil
		},
	}
}

func cleanCommand() *cli.Command {
	return &cli.Command{
		Name:  "clean",
		Usage: "remove every container, network and rule any lab run left behind",
		Description: `Everything the lab creates is labelled raftlab=1; clean removes all of it, from
any run, finished, crashed or still running (so do not clean while a test
runs; labctl down removes only clusters meant to stay up). Firewall rules live only inside the containers'
network namespaces, so they go with the containers; the host's firewall and
clock are never touched.`,
		Action: func(c *cli.Context) error {
			l, err := lab.Clean(c.Context)
			report(c, l)
			if err != nil {
				return exitf(exitInternal, "labctl clean: %v", err)
			}
			return nil
		},
	}
}

func report(c *cli.Context, l cluster.Leftovers) {
	if l.Empty() {
		fmt.Fprintln(c.App.Writer, "nothing to remove")
		return
	}
	for _, o := range l.Containers {
		fmt.Fprintf(c.App.Writer, "removed container %s\n", o.Name)
	}
	for _, o := range l.Networks {
		fmt.Fprintf(c.App.Writer, "removed network %s\n", o.Name)
	}
}
