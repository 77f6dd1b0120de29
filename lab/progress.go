package lab

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress prints a live status line: the phase, elapsed and remaining time,
// ops by outcome and the nemesis state. On a terminal it redraws one line; on
// anything else (CI logs) it prints a line every few seconds.
type Progress struct {
	out     io.Writer
	tty     bool
	every   time.Duration
	mu      sync.Mutex
	phase   string
	start   time.Time
	limit   time.Duration
	status  func() string
	stop    chan struct{}
	done    chan struct{}
	lastLen int
}

// NewProgress writes to out; status supplies the ops and nemesis part.
func NewProgress(out io.Writer) *Progress {
	p := &Progress{out: out, every: 5 * time.Second}
	if f, ok := out.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.every = true, 500*time.Millisecond
		}
	}
	return p
}

// Phase announces a new phase ("starting cluster", "running", ...) on its own line.
func (p *Progress) Phase(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	p.phase = fmt.Sprintf(format, args...)
	fmt.Fprintf(p.out, "==> %s\n", p.phase)
}

// Start begins redrawing the status line for a timed phase of length limit.
func (p *Progress) Start(limit time.Duration, status func() string) {
	p.mu.Lock()
	p.start, p.limit, p.status = time.Now(), limit, status
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	p.mu.Unlock()
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
}

// Stop ends the status line, printing it a last time.
func (p *Progress) Stop() {
	p.mu.Lock()
	stop := p.stop
	p.stop = nil
	p.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-p.done
	p.draw()
	p.mu.Lock()
	if p.tty {
		fmt.Fprintln(p.out)
		p.lastLen = 0
	}
	p.mu.Unlock()
}

// Line is the current status text.
func (p *Progress) Line() string {
	el := time.Since(p.start).Truncate(time.Second)
	rem := (p.limit - time.Since(p.start)).Truncate(time.Second)
	if rem < 0 {
		rem = 0
	}
	s := fmt.Sprintf("[%s elapsed, %s left]", el, rem)
	if p.status != nil {
		s += " " + p.status()
	}
	return s
}

func (p *Progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := p.Line()
	if p.tty {
		pad := ""
		if n := p.lastLen - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		fmt.Fprintf(p.out, "\r%s%s", line, pad)
		p.lastLen = len(line)
		return
	}
	fmt.Fprintln(p.out, line)
}

func (p *Progress) clearLocked() {
	if p.tty && p.lastLen > 0 {
		fmt.Fprintf(p.out, "\r%s\r", strings.Repeat(" ", p.lastLen))
		p.lastLen = 0
	}
}
