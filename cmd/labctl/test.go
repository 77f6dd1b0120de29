package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/raftlab/raftlab/lab"
	"github.com/raftlab/raftlab/linearizability"
	"github.com/raftlab/raftlab/nemesis"
	"github.com/urfave/cli/v2"
)

func init() { commands = append(commands, testCommand()) }

func testCommand() *cli.Command {
	return &cli.Command{
		Name:  "test",
		Usage: "run a test: a Docker cluster, concurrent clients, faults, a linearizability check",
		Description: `Starts a cluster of Raft register nodes in Docker (building the node image if
needed), drives concurrent clients against it while the nemesis injects faults,
heals, makes final reads, checks the history and writes a results folder
(results/<test>/<timestamp>/, results/latest points at it).

Exit status: 0 valid, 1 invalid, 2 unknown (or interrupted), 254 bad arguments,
255 the lab itself failed. Ctrl-C stops early and still heals and cleans up.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "workload", Aliases: []string{"w"}, Value: "registers", Usage: "register, registers or set"},
			&cli.StringFlag{Name: "nemesis", Value: "partition,kill", Usage: "faults: a comma list of partition, kill, pause, clock (modes: partition:leader, kill:one+majority, ...), or none, or all"},
			&cli.DurationFlag{Name: "nemesis-interval", Value: 5 * time.Second, Usage: "mean time between fault events"},
			&cli.IntFlag{Name: "nodes", Aliases: []string{"n"}, Value: 5, Usage: "number of Raft nodes"},
			&cli.StringFlag{Name: "concurrency", Aliases: []string{"c"}, Value: "2n", Usage: "client workers in all: a number, or Nn for N per node"},
			&cli.Float64Flag{Name: "rate", Aliases: []string{"r"}, Value: 100, Usage: "total ops per second (0: as fast as the clients go)"},
			&cli.DurationFlag{Name: "time-limit", Value: 60 * time.Second, Usage: "how long clients run (excludes setup, recovery and checking)"},
			&cli.IntFlag{Name: "test-count", Value: 1, Usage: "run the test this many times, stopping at the first run that is not valid"},
			&cli.StringFlag{Name: "read-mode", Value: "linearizable", Usage: "the nodes' read mode under test: linearizable, lease or stale"},
			&cli.Int64Flag{Name: "seed", Usage: "seed of the op and fault schedules (default: random, printed)"},
			&cli.StringFlag{Name: "results", Value: "results", Usage: "results root folder"},
			&cli.StringFlag{Name: "name", Usage: "test name (default: <workload>-<nemesis>)"},
			&cli.BoolFlag{Name: "leave-running", Usage: "keep the cluster up after the test (remove it with labctl down)"},
			&cli.StringFlag{Name: "image", Usage: "node image to use instead of building raftlab/node from this source tree"},
			&cli.DurationFlag{Name: "op-timeout", Value: time.Second, Usage: "per-op client timeout; a timed-out op is recorded info"},
			&cli.DurationFlag{Name: "recovery", Value: 5 * time.Second, Usage: "quiet time after healing, before final reads"},
			&cli.DurationFlag{Name: "check-time-limit", Value: 2 * time.Minute, Usage: "give up the linearizability check (verdict unknown) after this long"},
		},
		Action: testAction,
	}
}

// specFromFlags builds and validates the spec; errors are bad arguments.
func specFromFlags(c *cli.Context) (lab.Spec, error) {
	if c.NArg() > 0 {
		return lab.Spec{}, fmt.Errorf("test takes no arguments, got %q", strings.Join(c.Args().Slice(), " "))
	}
	faults, err := nemesis.ParseFaults(c.String("nemesis"))
	if err != nil {
		return lab.Spec{}, err
	}
	var names []string
	if f := nemesis.FormatFaults(faults); f != "none" {
		names = strings.Split(f, ",")
	}
	conc, err := lab.ParseConcurrency(c.String("concurrency"), c.Int("nodes"))
	if err != nil {
		return lab.Spec{}, err
	}
	seed := c.Int64("seed")
	if !c.IsSet("seed") {
		seed = rand.Int64N(1 << 31)
	}
	spec := lab.Spec{
		Name: c.String("name"), Workload: c.String("workload"), Nemesis: names,
		NemesisInterval: c.Duration("nemesis-interval"), Nodes: c.Int("nodes"), Concurrency: conc,
		Rate: c.Float64("rate"), TimeLimit: c.Duration("time-limit"), ReadMode: c.String("read-mode"),
		Seed: seed, OpTimeout: c.Duration("op-timeout"), Recovery: c.Duration("recovery"),
		CheckTimeLimit: c.Duration("check-time-limit"), Image: c.String("image"),
		LeaveRunning: c.Bool("leave-running"), Results: c.String("results"),
		Command: strings.Join(os.Args, " "),
	}
	if spec.Name == "" {
		spec.Name = lab.DefaultName(spec.Workload, strings.Split(strings.ReplaceAll(nemesis.FormatFaults(faults), ":", "_"), ","))
	}
	if c.Int("test-count") < 1 {
		return spec, fmt.Errorf("--test-count must be at least 1")
	}
	return spec, spec.Validate()
}

// interruptible returns a context cancelled by the first Ctrl-C or SIGTERM;
// a second one exits at once.
func interruptible(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(stderr, "\ninterrupted: healing faults, saving the history and logs, removing containers (Ctrl-C again aborts; then run `labctl clean`)")
		cancel()
		if _, ok := <-sigs; ok {
			fmt.Fprintln(stderr, "aborted: run `labctl clean` to remove leftover containers and networks")
			os.Exit(exitInternal)
		}
	}()
	return ctx, func() { signal.Stop(sigs); close(sigs); cancel() }
}

func testAction(c *cli.Context) error {
	spec, err := specFromFlags(c)
	if err != nil {
		return usageError(c, "labctl test: %v", err)
	}
	ctx, stop := interruptible(c.App.ErrWriter)
	defer stop()
	out := c.App.ErrWriter
	count := c.Int("test-count")
	var last lab.Outcome
	for i := 1; i <= count; i++ {
		if count > 1 {
			fmt.Fprintf(out, "\n### run %d of %d (seed %d)\n", i, count, spec.Seed)
		}
		oc, err := lab.Run(ctx, spec, out)
		if err != nil {
			if oc.Dir != "" {
				fmt.Fprintf(out, "what was recorded is in %s\n", oc.Dir)
			}
			if errors.Is(err, context.Canceled) {
				return exitf(exitUnknown, "labctl test: interrupted before the history could be checked")
			}
			return exitf(exitInternal, "labctl test: the lab failed: %v", err)
		}
		last = oc
		printOutcome(c.App.Writer, oc)
		if oc.Verdict != linearizability.Valid || oc.Interrupted {
			break
		}
		spec.Seed++
	}
	return exitf(last.Verdict.ExitCode(), "")
}

// printOutcome prints the verdict like Jepsen's last lines.
func printOutcome(w io.Writer, oc lab.Outcome) {
	t := oc.Timings
	fmt.Fprintf(w, "\nops: %d invoked, %d ok, %d fail, %d info (%.0f ops/s)\n", oc.Counts.Invoked, oc.Counts.OK, oc.Counts.Fail, oc.Counts.Info, t.OpsPerSecond)
	fmt.Fprintf(w, "timings: first op after %s, verdict %s after the time limit (check %s), teardown %s\n",
		t.ToFirstOp.Round(time.Millisecond), t.ToVerdict.Round(time.Millisecond), t.Check.Round(time.Millisecond), t.Teardown.Round(time.Millisecond))
	fmt.Fprintf(w, "results: %s\n", oc.Dir)
	fmt.Fprintf(w, "verdict: %s: %s\n", oc.Verdict, oc.Reason)
	fmt.Fprintln(w, verdictLine(oc.Verdict))
}
