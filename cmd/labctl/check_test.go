package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftlab/raftlab/history"
	"github.com/raftlab/raftlab/linearizability"
)

func ops(readValue int64) []history.Op {
	return []history.Op{
		{Index: 0, Time: 0, Process: 0, Type: history.Invoke, F: history.FWrite, Key: "a", Value: int64(1)},
		{Index: 1, Time: 10, Process: 0, Type: history.OK, F: history.FWrite, Key: "a", Value: int64(1)},
		{Index: 2, Time: 11, Process: history.Nemesis, Type: history.Info, F: "kill", Value: "n1"},
		{Index: 3, Time: 20, Process: 1, Type: history.Invoke, F: history.FRead, Key: "a"},
		{Index: 4, Time: 30, Process: 1, Type: history.OK, F: history.FRead, Key: "a", Value: readValue},
	}
}

func writeJSONL(t *testing.T, dir string, o []history.Op) string {
	t.Helper()
	p := filepath.Join(dir, "history.jsonl")
	w, err := history.NewWriter(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range o {
		if err := w.Write(op); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func runLabctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"labctl"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func readResults(t *testing.T, dir string) linearizability.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r linearizability.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheckValidFolder(t *testing.T) {
	dir := t.TempDir()
	writeJSONL(t, dir, ops(1))
	code, out, errOut := runLabctl(t, "check", dir)
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "Everything looks good") {
		t.Errorf("output: %s", out)
	}
	if r := readResults(t, dir); r.Verdict != linearizability.Valid || r.Model != "registers" || len(r.Faults) != 1 {
		t.Errorf("results.json: %+v", r)
	}
}

func TestCheckInvalidWritesVisualisation(t *testing.T) {
	dir := t.TempDir()
	file := writeJSONL(t, dir, ops(2))
	code, out, _ := runLabctl(t, "check", "--model", "registers", file)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "no operation ever wrote 2") || !strings.Contains(out, "Analysis invalid") {
		t.Errorf("output: %s", out)
	}
	r := readResults(t, dir)
	if r.Verdict != linearizability.Invalid || r.Keys[0].Visualization == "" {
		t.Fatalf("results.json: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, r.Keys[0].Visualization)); err != nil {
		t.Errorf("visualisation: %v", err)
	}
}

func TestCheckEDNAndOut(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	if err := history.WriteEDNFile(filepath.Join(dir, "history.edn"), ops(1)); err != nil {
		t.Fatal(err)
	}
	code, stdout, errOut := runLabctl(t, "check", "--out", out, filepath.Join(dir, "history.edn"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, errOut)
	}
	readResults(t, out)
}

func TestCheckUnknown(t *testing.T) {
	dir := t.TempDir()
	writeJSONL(t, dir, ops(1))
	code, out, _ := runLabctl(t, "check", "--time-limit", "1ns", dir)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
}

func TestCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"type\":\"invoke\",\"f\":\"read\",\"process\":0}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"check"},
		{"check", "a", "b"},
		{"check", filepath.Join(dir, "missing")},
		{"check", dir}, // no history in the folder
		{"check", bad},
		{"check", "--model", "queue", bad},
		{"check", "--format", "xml", bad},
		{"check", "--no-such-flag", bad},
		{"nosuchcommand"},
	}
	for _, args := range cases {
		code, _, errOut := runLabctl(t, args...)
		if code != 254 {
			t.Errorf("%v: exit %d, want 254 (%s)", args, code, errOut)
		}
	}
	// The error names the bad line.
	_, _, errOut := runLabctl(t, "check", bad)
	if !strings.Contains(errOut, "line 2") {
		t.Errorf("error does not name the line: %s", errOut)
	}
	// A history the model cannot read is bad input too.
	writeJSONL(t, dir, []history.Op{{Process: 0, Type: history.Invoke, F: "dequeue"}})
	if code, _, errOut := runLabctl(t, "check", dir); code != 254 || !strings.Contains(errOut, "dequeue") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
