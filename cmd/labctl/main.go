// Command labctl runs and judges raftlab experiments.
//
// Each subcommand lives in its own file and registers itself in init:
//
//	func init() { commands = append(commands, testCommand()) }
//
// Exit codes, for every subcommand: 0 valid, 1 invalid, 2 unknown, 254 bad
// arguments or unreadable input, 255 internal error (the lab itself failed).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/urfave/cli/v2"
)

// Exit codes.
const (
	exitValid    = 0
	exitInvalid  = 1
	exitUnknown  = 2
	exitBadArgs  = 254
	exitInternal = 255
)

// commands holds the subcommands; files append to it in init.
var commands []*cli.Command

// exitf returns an error that makes labctl print the message (if any) and
// exit with code.
func exitf(code int, format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), code)
}

// usageError is a bad-arguments exit that also shows the command's help.
func usageError(c *cli.Context, format string, args ...any) error {
	_ = cli.ShowSubcommandHelp(c)
	return exitf(exitBadArgs, format, args...)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	cmds := append([]*cli.Command(nil), commands...)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return &cli.App{
		Name:      "labctl",
		Usage:     "fault-injection lab for a Raft register: run tests, check histories, report",
		Writer:    stdout,
		ErrWriter: stderr,
		Commands:  cmds,
		// Exit codes are decided in run, not inside the cli package.
		ExitErrHandler: func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				_ = cli.ShowAppHelp(c)
				return exitf(exitBadArgs, "labctl: unknown command %q", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return exitf(exitBadArgs, "labctl: %v", err)
		},
	}
}

// run executes labctl with args (args[0] is the program name) and returns
// the exit code.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "labctl: internal error: %v\n", r)
			code = exitInternal
		}
	}()
	err := newApp(stdout, stderr).Run(args)
	if err == nil {
		return exitValid
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		return ec.ExitCode()
	}
	// Errors the cli package returns itself are about the command line.
	fmt.Fprintf(stderr, "labctl: %v\n", err)
	return exitBadArgs
}

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
