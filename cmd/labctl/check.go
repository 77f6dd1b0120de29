package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/raftlab/raftlab/history"
	"github.com/raftlab/raftlab/linearizability"
	"github.com/urfave/cli/v2"
)

func init() { commands = append(commands, checkCommand()) }

// History file names looked for in a results folder, in order.
var historyNames = []string{"history.jsonl", "history.edn"}

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check a stored history (a file, or a results folder) and write results.json",
		ArgsUsage: "PATH",
		Description: `PATH is a history file (JSON Lines as the lab writes it, or a Jepsen history.edn)
or a results folder holding history.jsonl or history.edn. The verdict and its
explanation are printed and written to results.json, with a Porcupine
visualisation of each invalid key under linearizability/, in the results folder
(or the history file's folder, or --out).

Exit status: 0 valid, 1 invalid, 2 unknown, 254 bad arguments or unreadable input.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: "register, registers or set (default: set if the history has adds, else registers)"},
			&cli.StringFlag{Name: "format", Usage: "history format: jsonl or edn (default: by file extension)"},
			&cli.DurationFlag{Name: "time-limit", Value: 5 * time.Minute, Usage: "give up (verdict unknown) after this long; 0 = no limit"},
			&cli.StringFlag{Name: "out", Usage: "folder for results.json and visualisations (default: the results folder)"},
			&cli.BoolFlag{Name: "no-prune", Usage: "check crashed operations without pruning (slow; for comparison)"},
		},
		Action: checkAction,
	}
}

// findHistory resolves PATH to a history file, its format and the folder
// results go to.
func findHistory(path, format string) (file, fmtName, dir string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", "", "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	file, dir = path, filepath.Dir(path)
	if st.IsDir() {
		dir, file = path, ""
		for _, n := range historyNames {
			if _, err := os.Stat(filepath.Join(path, n)); err == nil {
				file = filepath.Join(path, n)
				break
			}
		}
		if file == "" {
			return "", "", "", fmt.Errorf("no %s in %s", strings.Join(historyNames, " or "), path)
		}
	}
	switch format {
	case "jsonl", "edn":
		fmtName = format
	case "":
		fmtName = "jsonl"
		if strings.EqualFold(filepath.Ext(file), ".edn") {
			fmtName = "edn"
		}
	default:
		return "", "", "", fmt.Errorf("--format must be jsonl or edn, not %q", format)
	}
	return file, fmtName, dir, nil
}

func checkAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError(c, "labctl check: want exactly one PATH (a history file or a results folder), got %d arguments", c.NArg())
	}
	model := c.String("model")
	switch model {
	case "", linearizability.ModelRegister, linearizability.ModelRegisters, linearizability.ModelSet:
	default:
		return usageError(c, "labctl check: --model must be register, registers or set, not %q", model)
	}
	if c.Duration("time-limit") < 0 {
		return usageError(c, "labctl check: --time-limit must not be negative")
	}
	file, format, dir, err := findHistory(c.Args().First(), c.String("format"))
	if err != nil {
		return exitf(exitBadArgs, "labctl check: %v", err)
	}
	if out := c.String("out"); out != "" {
		dir = out
	}
	var ops []history.Op
	if format == "edn" {
		ops, err = history.ReadEDNFile(file)
	} else {
		ops, err = history.ReadFile(file)
	}
	if err != nil {
		return exitf(exitBadArgs, "labctl check: cannot read the history: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return exitf(exitInternal, "labctl check: cannot create %s: %v", dir, err)
	}
	res, err := linearizability.Check(c.Context, ops, linearizability.Options{
		Model:        model,
		TimeLimit:    c.Duration("time-limit"),
		VisualizeDir: filepath.Join(dir, "linearizability"),
		NoPrune:      c.Bool("no-prune"),
	})
	if err != nil {
		return exitf(exitBadArgs, "labctl check: %s cannot be checked: %v", file, err)
	}
	resultsPath := filepath.Join(dir, "results.json")
	if err := writeResults(resultsPath, res); err != nil {
		return exitf(exitInternal, "labctl check: %v", err)
	}
	printResult(c.App.Writer, file, dir, resultsPath, res)
	if code := res.Verdict.ExitCode(); code != exitValid {
		return exitf(code, "")
	}
	return nil
}

func writeResults(path string, res linearizability.Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

func printResult(w io.Writer, file, dir, resultsPath string, res linearizability.Result) {
	o := res.Ops
	fmt.Fprintf(w, "History  %s: %d records (%d ok, %d fail, %d info, %d nemesis)\n", file, o.Total, o.OK, o.Fail, o.Info, o.Nemesis)
	limit := "none"
	if res.TimeLimitMS > 0 {
		limit = (time.Duration(res.TimeLimitMS) * time.Millisecond).String()
	}
	n := len(res.Keys)
	if res.Set != nil {
		n = len(res.Set.Keys)
	}
	fmt.Fprintf(w, "Model    %s, %d key(s), checked in %d ms (time limit %s)\n", res.Model, n, res.CheckMS, limit)
	for _, k := range res.Keys {
		if k.Verdict == linearizability.Valid {
			continue
		}
		fmt.Fprintf(w, "\nKey %q: %s (%d ops, %d crashed, %d pruned, %d bounded)\n  %s\n", k.Key, strings.ToUpper(string(k.Verdict)),
			k.Ops, k.Crashed, k.Pruned, k.Bounded, k.Reason)
		if k.Explanation != nil && len(k.Explanation.OpIndices) > 0 {
			fmt.Fprintf(w, "  ops: %v\n", k.Explanation.OpIndices)
		}
		if k.Visualization != "" {
			fmt.Fprintf(w, "  visualisation: %s\n", filepath.Join(dir, filepath.FromSlash(k.Visualization)))
		}
	}
	if res.Set != nil {
		for _, k := range res.Set.Keys {
			if k.Verdict != linearizability.Valid {
				fmt.Fprintf(w, "\nSet %q: %s\n  %s\n", k.Key, strings.ToUpper(string(k.Verdict)), k.Reason)
			}
		}
	}
	fmt.Fprintf(w, "\nVerdict  %s: %s\nResults  %s\n\n", strings.ToUpper(string(res.Verdict)), res.Reason, resultsPath)
	fmt.Fprintln(w, verdictLine(res.Verdict))
}

// verdictLine is Jepsen's closing line for a verdict.
func verdictLine(v linearizability.Verdict) string {
	switch v {
	case linearizability.Valid:
		return "Everything looks good! ヽ(‘ー`)ノ"
	case linearizability.Invalid:
		return "Analysis invalid! (ﾉಥ益ಥ）ﾉ ┻━┻"
	}
	return "Errors occurred during analysis, but no anomalies found. ಠ~ಠ"
}
