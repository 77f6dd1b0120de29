package linearizability

import (
	"math"
	"math/rand"
	"sort"

	"github.com/raftlab/raftlab/history"
)

// genConfig shapes a generated register history.
type genConfig struct {
	procs    int     // concurrent processes per key
	ops      int     // invocations per key
	keys     int     // independent keys (0 or 1: key "")
	crashP   float64 // probability an op crashes (info)
	failP    float64 // probability an op fails (certainly not applied)
	readP    float64 // probability of a read
	casP     float64 // probability of a cas (else write)
	dur      int64   // max time from call to linearization point and on to return
	reuse    bool    // write values from a small range (not unique)
	nemesis  bool    // interleave nemesis ops
	lateness int64   // how long after its info a crashed op may still apply
}

type genOp struct {
	key      string
	proc     history.Process
	f        string
	a, b     int64
	call     int64
	lp       int64 // linearization point; math.MaxInt64: never applied
	ret      int64
	outcome  history.Type
	readVal  *int64
	casOK    bool
	recorded bool
}

// genHistory simulates clients against a sequential register: each op takes
// effect at a random point within its interval (a crashed op possibly after
// its info, or never; a failed op never), so the history is linearizable by
// construction.
func genHistory(rng *rand.Rand, cfg genConfig) []history.Op {
	if cfg.dur == 0 {
		cfg.dur = 100
	}
	if cfg.lateness == 0 {
		cfg.lateness = 5 * cfg.dur
	}
	nkeys := max(cfg.keys, 1)
	var all []*genOp
	nextProc := history.Process(0)
	nextVal := int64(1)
	for k := 0; k < nkeys; k++ {
		key := ""
		if cfg.keys > 0 {
			key = itoa(k)
		}
		perProc := (cfg.ops + cfg.procs - 1) / cfg.procs
		var recent []int64
		for p := 0; p < cfg.procs; p++ {
			proc := nextProc
			nextProc++
			t := rng.Int63n(cfg.dur)
			for i := 0; i < perProc; i++ {
				o := &genOp{key: key, proc: proc, call: t + 1 + rng.Int63n(cfg.dur)}
				o.lp = o.call + rng.Int63n(cfg.dur)
				o.ret = o.lp + rng.Int63n(cfg.dur)
				r := rng.Float64()
				val := nextVal
				if cfg.reuse {
					val = rng.Int63n(5)
				} else {
					nextVal++
				}
				switch {
				case r < cfg.readP:
					o.f = history.FRead
				case r < cfg.readP+cfg.casP:
					o.f, o.b = history.FCAS, val
					if len(recent) > 0 && rng.Intn(4) > 0 {
						o.a = recent[rng.Intn(len(recent))]
					} else {
						o.a = rng.Int63n(max(nextVal, 2))
					}
				default:
					o.f, o.a = history.FWrite, val
				}
				recent = append(recent, val)
				if len(recent) > 4 {
					recent = recent[1:]
				}
				o.outcome = history.OK
				switch r := rng.Float64(); {
				case r < cfg.failP:
					o.outcome, o.lp = history.Fail, math.MaxInt64
				case r < cfg.failP+cfg.crashP:
					o.outcome = history.Info
					switch rng.Intn(3) {
					case 0:
						o.lp = math.MaxInt64
					case 1:
						o.lp = o.call + rng.Int63n(o.ret-o.call+cfg.lateness)
					}
				}
				all = append(all, o)
				t = o.ret
				if o.outcome == history.Info {
					proc = nextProc // a crashed process is replaced
					nextProc++
				}
			}
		}
	}
	// Apply in linearization order.
	byLP := append([]*genOp(nil), all...)
	sort.SliceStable(byLP, func(i, j int) bool { return byLP[i].lp < byLP[j].lp })
	state := map[string]*int64{}
	for _, o := range byLP {
		if o.lp == math.MaxInt64 {
			break
		}
		cur := state[o.key]
		switch o.f {
		case history.FRead:
			o.readVal = cur
		case history.FWrite:
			v := o.a
			state[o.key] = &v
		case history.FCAS:
			if cur != nil && *cur == o.a {
				v := o.b
				state[o.key] = &v
				o.casOK = true
			}
		}
	}
	type rec struct {
		t   int64
		o   *genOp
		inv bool
	}
	var recs []rec
	for _, o := range all {
		recs = append(recs, rec{o.call, o, true}, rec{o.ret, o, false})
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].t != recs[j].t {
			return recs[i].t < recs[j].t
		}
		return recs[i].inv && !recs[j].inv
	})
	var out []history.Op
	lastNemesis := int64(0)
	for _, r := range recs {
		if cfg.nemesis && r.t-lastNemesis > 3*cfg.dur {
			lastNemesis = r.t
			f := []string{"start-partition", "stop-partition", "kill", "start"}[len(out)%4]
			out = append(out, history.Op{Index: int64(len(out)), Time: r.t, Process: history.Nemesis, Type: history.Info, F: f, Value: "n1"})
		}
		o := r.o
		op := history.Op{Index: int64(len(out)), Time: r.t, Process: o.proc, F: o.f, Key: o.key}
		switch o.f {
		case history.FWrite:
			op.Value = o.a
		case history.FCAS:
			op.Value = []int64{o.a, o.b}
		}
		if r.inv {
			op.Type = history.Invoke
		} else {
			op.Type = o.outcome
			if o.outcome == history.OK {
				switch o.f {
				case history.FRead:
					if o.readVal != nil {
						op.Value = *o.readVal
					}
				case history.FCAS:
					ok := o.casOK
					op.OK = &ok
				}
			}
		}
		out = append(out, op)
	}
	return out
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// completions returns, for each invocation index, its completion's position.
func completions(ops []history.Op) map[int]int {
	open := map[history.Process]int{}
	out := map[int]int{}
	for i, op := range ops {
		if op.IsNemesis() {
			continue
		}
		if op.Type == history.Invoke {
			open[op.Process] = i
		} else if j, ok := open[op.Process]; ok {
			out[j] = i
			delete(open, op.Process)
		}
	}
	return out
}

// mutateInvalid changes one ok read so that the history is certainly not
// linearizable (assuming unique write values): it reads a value never
// written, a value written only after it completed, or a value certainly
// overwritten before it began. It returns false when no read qualifies.
func mutateInvalid(rng *rand.Rand, ops []history.Op) ([]history.Op, string, bool) {
	ops = append([]history.Op(nil), ops...)
	comp := completions(ops)
	type iv struct {
		inv, done int
	}
	var reads, writes []iv
	for i, j := range comp {
		if ops[j].Type != history.OK {
			continue
		}
		switch ops[i].F {
		case history.FRead:
			reads = append(reads, iv{i, j})
		case history.FWrite:
			writes = append(writes, iv{i, j})
		}
	}
	sort.Slice(reads, func(a, b int) bool { return reads[a].inv < reads[b].inv })
	sort.Slice(writes, func(a, b int) bool { return writes[a].inv < writes[b].inv })
	if len(reads) == 0 {
		return nil, "", false
	}
	for try := 0; try < 20; try++ {
		r := reads[rng.Intn(len(reads))]
		rk := ops[r.inv].Key
		switch rng.Intn(3) {
		case 0:
			ops[r.done].Value = int64(-1_000_000 - rng.Intn(100))
			return ops, "never written", true
		case 1: // from the future
			for _, w := range writes {
				if ops[w.inv].Key == rk && ops[w.inv].Time > ops[r.done].Time {
					ops[r.done].Value = ops[w.inv].Value
					return ops, "future", true
				}
			}
		case 2: // stale: w completed, x began after w and completed before r
			for _, w := range writes {
				for _, x := range writes {
					if ops[w.inv].Key == rk && ops[x.inv].Key == rk &&
						ops[w.done].Time < ops[x.inv].Time && ops[x.done].Time < ops[r.inv].Time {
						ops[r.done].Value = ops[w.inv].Value
						return ops, "stale", true
					}
				}
			}
		}
	}
	return nil, "", false
}
