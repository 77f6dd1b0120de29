package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	if code, _, errs := runLabctl(t, "report", filepath.Join(t.TempDir(), "missing")); code != exitBadArgs || !strings.Contains(errs, "cannot read") {
		t.Errorf("missing folder: exit %d, %q", code, errs)
	}
	if code, _, errs := runLabctl(t, "report", t.TempDir()); code != exitBadArgs || !strings.Contains(errs, "not a results folder") {
		t.Errorf("empty folder: exit %d, %q", code, errs)
	}
	if code, _, _ := runLabctl(t, "report"); code != exitBadArgs {
		t.Errorf("no argument: exit %d", code)
	}
	dir := t.TempDir()
	writeJSONL(t, dir, ops(1))
	code, out, errs := runLabctl(t, "report", dir)
	if code != 0 || !strings.Contains(out, "report.html") {
		t.Fatalf("report: exit %d, %q %q", code, out, errs)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil || !strings.Contains(string(b), `data-verdict="incomplete"`) {
		t.Errorf("report.html of an unchecked history: %v", err)
	}
	if code, _, _ := runLabctl(t, "check", dir); code != exitValid {
		t.Fatalf("check: exit %d", code)
	}
	if code, _, _ := runLabctl(t, "report", dir); code != 0 {
		t.Fatalf("report after check: exit %d", code)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(b), `data-verdict="valid"`) {
		t.Error("report after check should say valid")
	}
}

func TestServeCommandBadArgs(t *testing.T) {
	if code, _, errs := runLabctl(t, "serve", "--results", filepath.Join(t.TempDir(), "missing"), "--addr", "127.0.0.1:0"); code != exitBadArgs || !strings.Contains(errs, "results folder") {
		t.Errorf("missing results: exit %d, %q", code, errs)
	}
	if code, _, _ := runLabctl(t, "serve", "--addr", "nonsense"); code != exitBadArgs {
		t.Errorf("bad --addr: exit %d", code)
	}
}
