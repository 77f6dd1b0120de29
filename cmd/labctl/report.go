package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	runreport "github.com/raftlab/raftlab/report"
	"github.com/urfave/cli/v2"
)

func init() { commands = append(commands, reportCommand()) }

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "regenerate report.html of a stored run",
		ArgsUsage: "DIR",
		Description: `DIR is a results folder written by labctl test (results/<test>/<timestamp>/, or
results/latest). The report is rebuilt from its history.jsonl, spec.json, run.json,
results.json and logs, and written to DIR/report.html: one self-contained page
that opens from disk. Run labctl check first to refresh the verdict.

Exit status: 0 when the report is written, 254 for a missing or unreadable
folder, 255 when the report cannot be written.`,
		Action: reportAction,
	}
}

func reportAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError(c, "labctl report: want exactly one DIR (a results folder), got %d arguments", c.NArg())
	}
	dir := c.Args().First()
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return exitf(exitBadArgs, "labctl report: cannot read %s: %v", dir, err)
	case !st.IsDir():
		return exitf(exitBadArgs, "labctl report: %s is not a folder; give a results folder such as results/latest", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, runreport.HistoryFile)); err != nil {
		return exitf(exitBadArgs, "labctl report: %s is not a results folder: %v", dir, err)
	}
	if err := runreport.Write(dir); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return exitf(exitInternal, "labctl report: %v", err)
		}
		return exitf(exitBadArgs, "labctl report: %v", err)
	}
	fmt.Fprintf(c.App.Writer, "report: %s\n", filepath.Join(dir, runreport.ReportFile))
	return nil
}
