package workloads

import (
	"math/rand/v2"
	"strconv"

	"github.com/raftlab/raftlab/history"
)

// generator produces the ops of one worker, in order. It is pure: the
// sequence depends only on the workload name, the config (Seed, Concurrency,
// OpsPerKey, ThreadsPerKey, KeyPrefix) and the worker number, never on what
// the cluster answered or on timing. Ops come out as invocations without
// process, type, time or node.
type generator struct {
	name   string
	prefix string
	worker int
	conc   int
	rng    *rand.Rand

	// registers: workers [group*size, group*size+size) share a key; slot is
	// this worker's place in its group. The worker makes perKey ops on key
	// number group+groups*round, then moves to the next round.
	size, slot, group, groups int
	perKey                    int
	round                     int
	onKey                     int   // ops made on the current key
	writes                    int64 // values written (write or cas) on the current key

	adds int64 // set: elements added so far
}

// Ops per worker per key never drop below this, so a key sees a few ops even
// with many threads per key.
const minOpsPerWorkerPerKey = 4

// newGenerator returns worker's generator for the workload name; cfg must
// have its defaults filled (see New).
func newGenerator(name string, cfg Config, worker int) *generator {
	g := &generator{
		name:   name,
		prefix: cfg.KeyPrefix,
		worker: worker,
		conc:   cfg.Concurrency,
		// One PCG stream per (seed, worker): workers never share state.
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(worker))),
	}
	if name == Registers {
		g.size = max(1, cfg.ThreadsPerKey)
		g.slot = worker % g.size
		g.group = worker / g.size
		g.groups = (cfg.Concurrency + g.size - 1) / g.size
		g.perKey = max(minOpsPerWorkerPerKey, (cfg.OpsPerKey+g.size-1)/g.size)
	}
	return g
}

// next returns the worker's next op.
func (g *generator) next() history.Op {
	switch g.name {
	case Register:
		return g.nextRegister()
	case Set:
		v := g.adds*int64(g.conc) + int64(g.worker)
		g.adds++
		return history.Op{F: history.FAdd, Key: g.prefix + "set", Value: v}
	default:
		return g.nextRegisters()
	}
}

// nextRegister is Jepsen's cas-register mix: read, write or cas, equally
// likely, over the values 0..4 on one key.
func (g *generator) nextRegister() history.Op {
	key := g.prefix + "register"
	switch g.rng.IntN(3) {
	case 0:
		return history.Op{F: history.FRead, Key: key}
	case 1:
		return history.Op{F: history.FWrite, Key: key, Value: g.rng.Int64N(5)}
	default:
		return history.Op{F: history.FCAS, Key: key, Value: []int64{g.rng.Int64N(5), g.rng.Int64N(5)}}
	}
}

// nextRegisters makes read, write or cas on the group's current key. Values
// written are unique per key: the c-th value this worker writes on a key is
// c*size + slot + 1, so no two workers of a group can collide. A cas expects
// one of the values the group has probably written lately (pure arithmetic:
// it assumes the group's workers keep pace with each other).
func (g *generator) nextRegisters() history.Op {
	if g.onKey == g.perKey {
		g.round++
		g.onKey, g.writes = 0, 0
	}
	g.onKey++
	key := g.registersKey(g.round)
	switch g.rng.IntN(3) {
	case 0:
		return history.Op{F: history.FRead, Key: key}
	case 1:
		return history.Op{F: history.FWrite, Key: key, Value: g.unique()}
	default:
		size := int64(g.size)
		hi := (g.writes + 1) * size
		lo := max(1, hi-2*size+1)
		old := lo + g.rng.Int64N(hi-lo+1)
		return history.Op{F: history.FCAS, Key: key, Value: []int64{old, g.unique()}}
	}
}

// unique returns the worker's next unique value on the current key.
func (g *generator) unique() int64 {
	v := g.writes*int64(g.size) + int64(g.slot) + 1
	g.writes++
	return v
}

// registersKey names the group's key of a round.
func (g *generator) registersKey(round int) string {
	return g.prefix + "k" + strconv.Itoa(g.group+g.groups*round)
}

// keys lists the keys this worker has used so far, in order.
func (g *generator) keys() []string {
	switch g.name {
	case Register:
		return []string{g.prefix + "register"}
	case Set:
		return []string{g.prefix + "set"}
	}
	var out []string
	for r := 0; r <= g.round; r++ {
		if r == g.round && g.onKey == 0 {
			break
		}
		out = append(out, g.registersKey(r))
	}
	return out
}
