package lab

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWaitOrDumpWritesStacksOfAStuckRun(t *testing.T) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	wg.Add(1)
	go func() { defer wg.Done(); <-release }()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-ctx.Done(); close(release) }() // the stuck worker obeys cancellation
	dump := filepath.Join(t.TempDir(), StuckDumpFile)
	var out bytes.Buffer
	if err := waitOrDump(&wg, 50*time.Millisecond, dump, cancel, &out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dump)
	if err != nil || !strings.Contains(string(b), "goroutine") {
		t.Fatalf("no goroutine dump: %v", err)
	}
	if !strings.Contains(out.String(), dump) {
		t.Errorf("warning does not name the dump: %q", out.String())
	}
	// A run that ends in time leaves no dump.
	var quick sync.WaitGroup
	dump2 := filepath.Join(t.TempDir(), StuckDumpFile)
	if err := waitOrDump(&quick, time.Second, dump2, func() {}, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dump2); err == nil {
		t.Error("dump written for a run that ended in time")
	}
}
