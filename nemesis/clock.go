package nemesis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// ClockPlan is what one clock fault does, decided before acting.
//
// Strobe is driven from the nemesis: for Duration, every Period, each node's
// clock jumps by +Delta then by -Delta (an even number of jumps, so a strobe
// that runs to the end leaves the offsets where they were). It goes through
// the node's admin channel, so a period is at least a few milliseconds; the
// reset that stops the clock fault puts every clock right whatever happened.
type ClockPlan struct {
	Mode     string                   // ClockModeBump, ClockModeStrobe, ClockModeRate or ClockModeRateLeader
	Nodes    []string                 // the nodes it acts on, in cluster order
	Jumps    map[string]time.Duration // bump: each node's jump
	Rates    map[string]float64       // rate: each node's clock rate
	Delta    time.Duration            // strobe: size of each jump
	Period   time.Duration            // strobe: time between jumps
	Duration time.Duration            // strobe: how long it strobes
}

// PlanClock decides a clock fault over the eligible nodes (up and unfrozen):
// a random non-empty subset of them and, for
//   - bump: a jump of ± 1.5^[6,20) ms (11 ms to 3.3 s) per node,
//   - strobe: delta 2^[4,11) ms (16 ms to 2 s), period 2^[5,9) ms (32 to
//     512 ms), for 1 to 4 s,
//   - rate: a rate of 2^±[0.2,1) per node (0.5 to 0.87, or 1.15 to 2 times
//     true speed),
//   - rate-leader: a rate of 1/20 to 1/10 on every eligible node; the caller
//     passes only the leader.
func PlanClock(mode string, eligible []string, r *rand.Rand) (ClockPlan, error) {
	if len(eligible) == 0 {
		return ClockPlan{}, fmt.Errorf("no target: no node is up and unfrozen")
	}
	p := ClockPlan{Mode: mode, Nodes: randomSubset(eligible, r)}
	if mode == ClockModeRateLeader {
		p.Nodes = append([]string(nil), eligible...)
	}
	ms := func(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }
	sign := func() float64 {
		if r.IntN(2) == 0 {
			return -1
		}
		return 1
	}
	switch mode {
	case ClockModeBump:
		p.Jumps = map[string]time.Duration{}
		for _, n := range p.Nodes {
			p.Jumps[n] = ms(sign() * math.Pow(1.5, 6+14*r.Float64())).Round(time.Millisecond)
		}
	case ClockModeRateLeader:
		p.Rates = map[string]float64{}
		for _, n := range p.Nodes {
			p.Rates[n] = math.Round(1000/(10+10*r.Float64())) / 1000
		}
	case ClockModeStrobe:
		p.Delta = ms(math.Pow(2, 4+7*r.Float64())).Round(time.Millisecond)
		p.Period = ms(math.Pow(2, 5+4*r.Float64())).Round(time.Millisecond)
		p.Duration = ms(1000 + 3000*r.Float64()).Round(time.Millisecond)
	case ClockModeRate:
		p.Rates = map[string]float64{}
		for _, n := range p.Nodes {
			rate := math.Pow(2, sign()*(0.2+0.8*r.Float64()))
			p.Rates[n] = math.Round(rate*1000) / 1000
		}
	default:
		return ClockPlan{}, fmt.Errorf("unknown clock mode %q; valid: %s", mode, strings.Join(modes[Clock], ", "))
	}
	return p, nil
}

// randomSubset is a random non-empty subset of nodes, in their order.
func randomSubset(nodes []string, r *rand.Rand) []string {
	s := append([]string(nil), nodes...)
	shuffle(r, s)
	return inOrder(nodes, s[:1+r.IntN(len(s))])
}
