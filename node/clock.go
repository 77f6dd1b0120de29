package node

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Clock actions accepted by Clock.Apply (and POST /admin/clock).
const (
	ClockOffset = "offset" // set the clock to host time + OffsetNS
	ClockJump   = "jump"   // move the clock by OffsetNS from where it is now
	ClockRate   = "rate"   // from now on, advance Rate virtual seconds per real second
	ClockReset  = "reset"  // back to host time, rate 1
)

// Clock is the node's injectable wall clock. It never touches the host clock:
// it maps host time through an affine function (anchor + rate × elapsed) that
// the clock nemesis changes over the admin API. Only node logic that depends on
// wall time (the read lease) reads it; Raft's own timers stay on the monotonic
// host clock. The zero value is not usable; use NewClock.
type Clock struct {
	mu         sync.Mutex
	now        func() time.Time // host time source (monotonic reading kept)
	anchorReal time.Time        // host time at the last change
	anchorVirt time.Time        // virtual time at the last change (no monotonic reading)
	rate       float64
}

// NewClock returns a clock that follows host time until told otherwise.
func NewClock() *Clock { return newClockAt(time.Now) }

func newClockAt(now func() time.Time) *Clock {
	c := &Clock{now: now}
	c.resetLocked()
	return c
}

func (c *Clock) resetLocked() {
	t := c.now()
	c.anchorReal, c.anchorVirt, c.rate = t, t.Round(0), 1
}

func (c *Clock) virtLocked(real time.Time) time.Time {
	elapsed := real.Sub(c.anchorReal)
	if c.rate == 1 {
		return c.anchorVirt.Add(elapsed)
	}
	return c.anchorVirt.Add(time.Duration(float64(elapsed) * c.rate))
}

// Now returns the virtual wall time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.virtLocked(c.now())
}

// Offset returns virtual minus host time, now.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	real := c.now()
	return c.virtLocked(real).Sub(real.Round(0))
}

// Rate returns the current rate (1 = host speed).
func (c *Clock) Rate() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

// Apply performs one clock action. offset is used by offset and jump, rate by rate.
// It returns an error, and changes nothing, for an unknown action or a rate that
// is not a finite number in (0, 1000].
func (c *Clock) Apply(action string, offset time.Duration, rate float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	real := c.now()
	switch action {
	case ClockOffset:
		c.anchorVirt = real.Round(0).Add(offset)
		c.anchorReal = real
	case ClockJump:
		c.anchorVirt = c.virtLocked(real).Add(offset)
		c.anchorReal = real
	case ClockRate:
		if math.IsNaN(rate) || math.IsInf(rate, 0) || rate <= 0 || rate > 1000 {
			return fmt.Errorf("clock rate must be a finite number in (0, 1000], got %v", rate)
		}
		c.anchorVirt = c.virtLocked(real)
		c.anchorReal = real
		c.rate = rate
	case ClockReset:
		c.resetLocked()
	default:
		return fmt.Errorf("unknown clock action %q (want offset, jump, rate or reset)", action)
	}
	return nil
}
