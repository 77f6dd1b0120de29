package linearizability

import (
	"fmt"

	"github.com/raftlab/raftlab/history"
)

// keyHistory is what the register checker knows about one key.
type keyHistory struct {
	key       string
	ops       []regOp // checked: ok ops and crashed writes/cas, in invocation order
	all       []regOp // every completed or crashed op, failed ones included (for explanations)
	failed    []bool  // parallel to all: the op ended in fail
	total     int     // invocations on the key
	crashed   int     // ops with unknown outcome (info or never completed)
	dropped   int     // fail ops, and reads that failed or crashed
	pruned    int     // crashed ops removed by rule P1
	prunedOps []regOp
	bounded   int // crashed ops given a finite return by rule P2
}

// pair is an invocation with its completion (nil while pending).
type pair struct {
	inv, done *history.Op
}

// pairOps matches each client invocation with the next record of the same
// process. An invocation never completed counts as crashed. Nemesis ops are
// skipped. Errors name the op index.
func pairOps(ops []history.Op) ([]pair, error) {
	var pairs []pair
	open := map[history.Process]int{} // process -> index in pairs
	for i := range ops {
		op := &ops[i]
		if op.IsNemesis() {
			continue
		}
		if op.Type == history.Invoke {
			if j, ok := open[op.Process]; ok {
				return nil, fmt.Errorf("op %d: process %s invokes %s while its op %d is still open (a process runs one op at a time; after an info it must take a new process number)",
					op.Index, op.Process, op.F, pairs[j].inv.Index)
			}
			open[op.Process] = len(pairs)
			pairs = append(pairs, pair{inv: op})
			continue
		}
		j, ok := open[op.Process]
		if !ok {
			return nil, fmt.Errorf("op %d: %s completion of %s by process %s has no invocation", op.Index, op.Type, op.F, op.Process)
		}
		if pairs[j].inv.F != op.F {
			return nil, fmt.Errorf("op %d: completion f %q does not match its invocation's f %q (op %d)", op.Index, op.F, pairs[j].inv.F, pairs[j].inv.Index)
		}
		delete(open, op.Process)
		pairs[j].done = op
	}
	return pairs, nil
}

// registerHistories turns a history into per-key register histories. With
// single, every op must be on one key (or none).
func registerHistories(ops []history.Op, single bool) ([]*keyHistory, error) {
	pairs, err := pairOps(ops)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*keyHistory{}
	var order []*keyHistory
	clients := map[string]map[history.Process]int{}
	for _, p := range pairs {
		inv := p.inv
		kh := byKey[inv.Key]
		if kh == nil {
			if single && len(order) == 1 {
				return nil, fmt.Errorf("op %d is on key %q but op %d on key %q: the register model checks one register; use the registers model for many keys",
					inv.Index, inv.Key, order[0].all[0].inv, order[0].key)
			}
			kh = &keyHistory{key: inv.Key}
			byKey[inv.Key] = kh
			order = append(order, kh)
			clients[inv.Key] = map[history.Process]int{}
		}
		kh.total++
		o := regOp{key: inv.Key, call: inv.Time, ret: never, inv: inv.Index, done: -1, node: inv.Node}
		cm := clients[inv.Key]
		c, ok := cm[inv.Process]
		if !ok {
			c = len(cm)
			cm[inv.Process] = c
		}
		o.client = c
		switch inv.F {
		case history.FRead:
			o.kind = kRead
		case history.FWrite:
			o.kind = kWrite
			v, ok := history.Int(inv.Value)
			if !ok {
				return nil, fmt.Errorf("op %d: write value must be an integer, got %v", inv.Index, inv.Value)
			}
			o.a = v
		case history.FCAS:
			o.kind = kCAS
			v, ok := history.Ints(inv.Value)
			if !ok || len(v) != 2 {
				return nil, fmt.Errorf("op %d: cas value must be [old new], got %v", inv.Index, inv.Value)
			}
			o.a, o.b = v[0], v[1]
		default:
			return nil, fmt.Errorf("op %d: f %q is not part of the register model (read, write, cas)", inv.Index, inv.F)
		}
		typ := history.Info
		if p.done != nil {
			typ = p.done.Type
			o.done = p.done.Index
			if p.done.Node != "" {
				o.node = p.done.Node
			}
			if p.done.Time < inv.Time {
				return nil, fmt.Errorf("op %d: completes at t=%d before its invocation (op %d) at t=%d", p.done.Index, p.done.Time, inv.Index, inv.Time)
			}
		}
		switch typ {
		case history.OK:
			o.ret = p.done.Time
			switch o.kind {
			case kRead:
				if p.done.Value == nil {
					o.readNil = true
				} else if v, ok := history.Int(p.done.Value); ok {
					o.a = v
				} else {
					return nil, fmt.Errorf("op %d: read value must be an integer or null, got %v", p.done.Index, p.done.Value)
				}
			case kCAS:
				o.casOK = p.done.OK == nil || *p.done.OK
			}
		case history.Info:
			o.crashed = true
			kh.crashed++
		}
		kh.all = append(kh.all, o)
		kh.failed = append(kh.failed, typ == history.Fail)
		if typ == history.Fail || (o.kind == kRead && o.crashed) {
			kh.dropped++
			continue
		}
		kh.ops = append(kh.ops, o)
	}
	return order, nil
}

// OpCounts counts the records of a history by type.
type OpCounts struct {
	// Total records, nemesis ones included.
	Total int `json:"total"`
	// Client records by type.
	Invoke int `json:"invoke"`
	OK     int `json:"ok"`
	Fail   int `json:"fail"`
	Info   int `json:"info"`
	// Nemesis records (all types).
	Nemesis int `json:"nemesis"`
}

func countOps(ops []history.Op) OpCounts {
	c := OpCounts{Total: len(ops)}
	for _, op := range ops {
		if op.IsNemesis() {
			c.Nemesis++
			continue
		}
		switch op.Type {
		case history.Invoke:
			c.Invoke++
		case history.OK:
			c.OK++
		case history.Fail:
			c.Fail++
		case history.Info:
			c.Info++
		}
	}
	return c
}
