package linearizability

// Pruning crashed operations.
//
// Porcupine's search is exponential in the number of operations open at the
// same time, and a crashed operation (info, return = end of time) stays
// open for the rest of the history. Proving a violation with a dozen
// crashed writes overlapping it does not finish. The two rules below remove
// or shorten crashed operations without changing the verdict. They apply to
// one key (registers are checked per key) and only to values written by
// exactly one operation of the key ("unique values"; the lab writes unique
// values, Jepsen's 0..4 registers do not, and then nothing is pruned).
//
// Notation. H is the key's history after failed ops and failed or crashed
// reads were dropped (dropping those is standard: a fail did not happen, and
// a read without a known result has no effect and constrains nothing). A
// linearization L of H is a total order of its operations that respects real
// time (if a returned before b was called, a comes before b) and in which
// every op is legal for the register model, applied in order from the
// initial state nil. A crashed op c has interval [c.call, ∞): no op has to
// come after it, and its output is unknown (the model accepts any), but its
// effect applies where it is placed. Let w be a crashed write, or a crashed
// cas, whose written value v no other op of the key writes.
//
// Rule P1 (drop an unobserved crashed write). If
//
//	(a) no ok read returned v and no successful ok cas had old value v,
//	(b) no crashed cas has old value v, and
//	(c) no ok cas that failed its comparison, with an old value u that some
//	    op of the key may write, returned at or after w.call,
//
// then H is linearizable if and only if H \ {w} is.
//
// Proof. (⇐) Given a linearization L' of H \ {w}, append w at the end: it
// has no successor to precede, a write is always legal, and its output is
// unknown; so L'·w linearizes H. (⇒) Let L linearize H. If w is a cas whose
// comparison did not match where L places it, it changed nothing: remove it.
// Otherwise the state right after w is v, and stays v until the next op of L
// that changes the state; call that stretch the segment, and s the state
// just before w. Which ops can be in the segment? Not an ok read (it would
// return v: excluded by (a)); not a successful ok cas (its old value would be
// v: (a)); not a crashed cas that swaps (old value v: (b)); an ok cas that
// failed its comparison on u ≠ v only if it returned after w.call (it comes
// after w in L, so it cannot have returned before w was called), which (c)
// excludes unless no op writes u; and crashed cas ops that do not swap.
// Remove w from L, move those non-swapping crashed cas ops to the end (a
// crashed op may always go last: nothing must follow it and its output is
// unknown), and keep everything else in place. Real time is respected (we
// only removed ops and moved never-returning ones last). In the segment the
// state is now s instead of v: the failed cas ops of (c) compared against u,
// and u ≠ s because s is nil or a value some op writes, while no op writes u;
// so they still fail. The segment ends with an op that sets the state
// regardless of its old value (a write, since a successful cas from v was
// excluded), after which L and the new order agree. So H \ {w} is
// linearizable. Removing one op keeps (a)–(c) true for the others, so the
// rule applies repeatedly.
//
// Rule P2 (bound an observed crashed write). If some ok op observed v (an
// ok read returned v, or a successful ok cas had old value v), let R be the
// earliest return among them (and R ≥ w.call). Then H is linearizable if
// and only if H with w's return set to R is.
//
// Proof. (⇐) Shortening an interval only adds real-time constraints, so a
// linearization of the bounded history linearizes H. (⇒) Let L linearize H
// and o be the observer returning at R. At o's place the state is v; the
// initial state is nil and only w writes v, so w comes before o in L. Any op
// x called after R was called after o returned, so x comes after o, hence
// after w: L respects w's new interval [w.call, R]. (If R < w.call, some op
// observed v before anyone could write it; the history is not linearizable
// and w is left alone so the checker finds that.)
//
// The randomized test TestPruningAgreesWithPlainCheck compares the verdicts
// with and without pruning on thousands of generated histories.

// prune applies P1 and P2 to kh.ops in place.
func prune(kh *keyHistory) {
	writers := map[int64]int{}     // value -> ops that may write it
	firstSeen := map[int64]int64{} // value -> earliest return of an ok observer
	crashedCASOld := map[int64]bool{}
	for i := range kh.ops {
		o := &kh.ops[i]
		if v, ok := o.writes(); ok {
			writers[v]++
		}
		if v, ok := o.observes(); ok {
			if r, seen := firstSeen[v]; !seen || o.ret < r {
				firstSeen[v] = o.ret
			}
		}
		if o.kind == kCAS && o.crashed {
			crashedCASOld[o.a] = true
		}
	}
	// Latest return of a failed-comparison cas whose old value may be written.
	lastFailedCAS := int64(-1 << 63)
	for i := range kh.ops {
		o := &kh.ops[i]
		if o.kind == kCAS && !o.crashed && !o.casOK && writers[o.a] > 0 && o.ret > lastFailedCAS {
			lastFailedCAS = o.ret
		}
	}
	out := kh.ops[:0]
	for _, o := range kh.ops {
		if o.crashed && o.kind != kRead {
			v, _ := o.writes()
			if writers[v] == 1 {
				if r, seen := firstSeen[v]; seen {
					if r >= o.call {
						o.ret, o.bounded = r, true
						kh.bounded++
					}
				} else if !crashedCASOld[v] && lastFailedCAS < o.call {
					kh.pruned++
					kh.prunedOps = append(kh.prunedOps, o)
					continue
				}
			}
		}
		out = append(out, o)
	}
	kh.ops = out
}
