package main

import (
	"fmt"
	"io"
	"time"

	"github.com/raftlab/raftlab/lab"
	"github.com/urfave/cli/v2"
)

func init() { commands = append(commands, benchCommand()) }

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure the lab itself: time to first op, ops/s at the default rate and at its limit, time to verdict, teardown",
		Description: `Runs short real lab tests (no faults) and prints what each phase took (first
op counts from the command's start and includes the image check or build): one at
the default rate and one with no rate limit (--rate 0) and more clients, to find
the most the lab drives and records. Results go to a temporary results folder.`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "nodes", Aliases: []string{"n"}, Value: 5, Usage: "number of Raft nodes"},
			&cli.DurationFlag{Name: "time-limit", Value: 15 * time.Second, Usage: "client time of each run"},
			&cli.StringFlag{Name: "results", Value: "", Usage: "results root (default: a temporary folder)"},
		},
		Action: func(c *cli.Context) error {
			ctx, stop := interruptible(c.App.ErrWriter)
			defer stop()
			root := c.String("results")
			if root == "" {
				root = "/tmp/raftlab-bench"
			}
			nodes := c.Int("nodes")
			runs := []struct {
				label string
				rate  float64
				conc  int
			}{
				{"default rate (100/s, 2n clients)", 100, 2 * nodes},
				{"no rate limit, 2n clients", 0, 2 * nodes},
				{"no rate limit, 8n clients", 0, 8 * nodes},
			}
			w := c.App.Writer
			fmt.Fprintf(w, "%-34s %9s %10s %9s %10s %10s %9s\n", "run", "image", "first op", "ops/s", "to verdict", "teardown", "verdict")
			for _, r := range runs {
				spec := lab.Spec{Name: "bench", Workload: "registers", Nodes: nodes, Concurrency: r.conc, Rate: r.rate,
					TimeLimit: c.Duration("time-limit"), ReadMode: "linearizable", Seed: 1, OpTimeout: time.Second,
					Recovery: time.Second, CheckTimeLimit: 2 * time.Minute, Results: root, NemesisInterval: time.Second}
				oc, err := lab.Run(ctx, spec, io.Discard)
				if err != nil {
					return exitf(exitInternal, "labctl bench: %v", err)
				}
				t := oc.Timings
				fmt.Fprintf(w, "%-34s %9s %10s %9.0f %10s %10s %9s\n", r.label, t.Image.Round(time.Millisecond), t.ToFirstOp.Round(time.Millisecond), t.OpsPerSecond,
					t.ToVerdict.Round(time.Millisecond), t.Teardown.Round(time.Millisecond), oc.Verdict)
			}
			return nil
		},
	}
}
