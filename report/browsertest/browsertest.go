// Package browsertest drives a headless Chromium for the tests of report and
// serve: it starts the browser, records every console error and uncaught
// exception of the page, and saves screenshots as test artifacts.
//
// Chromium comes from Debian: apt-get install -y chromium. Set
// RAFTLAB_CHROMIUM to use another binary and RAFTLAB_ARTIFACTS to choose
// where screenshots go (default: <os.TempDir()>/raftlab-artifacts).
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of the Chromium binary, or an error that says
// how to install it.
func Chromium() (string, error) {
	if p := os.Getenv("RAFTLAB_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found in PATH: install it with `apt-get install -y chromium` " +
		"(or set RAFTLAB_CHROMIUM to a Chrome binary); browser tests skip only under -short")
}

// Browser is a headless Chromium tab.
type Browser struct {
	// Ctx runs chromedp actions in the tab.
	Ctx context.Context
	t   testing.TB
	mu  sync.Mutex
	msg []string
}

// New starts a headless Chromium with a 1400×900 window for the test and
// closes it when the test ends. It fails the test when Chromium is missing.
func New(t testing.TB) *Browser {
	t.Helper()
	path, err := Chromium()
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests may run as root, where Chromium refuses its sandbox
		chromedp.WindowSize(1400, 900),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("hide-scrollbars", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	b := &Browser{Ctx: ctx, t: t}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				b.mu.Lock()
				b.msg = append(b.msg, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// Errors returns the console errors and uncaught exceptions seen so far.
func (b *Browser) Errors() []string {
	time.Sleep(100 * time.Millisecond) // let the last events arrive
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.msg...)
}

// NoErrors fails the test if the page logged an error or threw.
func (b *Browser) NoErrors() {
	b.t.Helper()
	if errs := b.Errors(); len(errs) > 0 {
		b.t.Errorf("the page logged %d JavaScript errors:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// Do runs actions, failing the test on error.
func (b *Browser) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression, failing the test on error.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// WaitFor polls a JavaScript expression until it is truthy, failing the test
// after timeout.
func (b *Browser) WaitFor(expr string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited %s for %s (last error: %v); page errors: %v", timeout, expr, err, b.Errors())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ArtifactsDir is where screenshots go: $RAFTLAB_ARTIFACTS, else
// <os.TempDir()>/raftlab-artifacts. It is created.
func ArtifactsDir() string {
	dir := os.Getenv("RAFTLAB_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "raftlab-artifacts")
	}
	_ = os.MkdirAll(dir, 0o755)
	return dir
}

// Screenshot saves a full-page PNG of the tab as <ArtifactsDir>/<name>.png
// and returns its path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(ArtifactsDir(), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatalf("saving screenshot: %v", err)
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

// ScreenshotOf saves a PNG of the first element matching the CSS selector
// as <ArtifactsDir>/<name>.png and returns its path.
func (b *Browser) ScreenshotOf(sel, name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("screenshot of %s: %v", sel, err)
	}
	p := filepath.Join(ArtifactsDir(), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatalf("saving screenshot: %v", err)
	}
	b.t.Logf("screenshot: %s", p)
	return p
}
