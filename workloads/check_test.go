package workloads

import (
	"context"
	"testing"
	"time"

	"github.com/raftlab/raftlab/linearizability"
)

// TestHistoriesPassTheChecker runs each workload against the linearizable
// fake with every kind of fault and checks the history with the model
// Model() names: it must be valid. If info, fail or cas outcomes were
// recorded wrong (say an applied op recorded fail), the checker would find
// the history invalid. With a buggy fake (stale reads, lost acknowledged
// writes) the same path must find it invalid.
func TestHistoriesPassTheChecker(t *testing.T) {
	every := []fault{definite, unknownDone, unknownLost, hangDone, hangLost}
	for _, tc := range []struct {
		name   string
		faults []fault
		p      float64
		ops    int
		want   linearizability.Verdict
	}{
		{Register, every, 0.004, 1500, linearizability.Valid},
		{Registers, every, 0.01, 3000, linearizability.Valid},
		{Set, every, 0.01, 2000, linearizability.Valid},
		{Register, []fault{staleRead}, 0.02, 500, linearizability.Invalid},
		{Registers, []fault{staleRead, lostWrite}, 0.01, 2000, linearizability.Invalid},
		{Set, []fault{lostWrite}, 0.01, 1000, linearizability.Invalid},
	} {
		t.Run(tc.name+"/"+string(tc.want), func(t *testing.T) {
			store := newFakeStore()
			store.inject = randomFaults(17, tc.p, tc.faults...)
			w, rec := testRun(t, tc.name, store, Config{Concurrency: 5, OpTimeout: 10 * time.Millisecond}, tc.ops)
			store.mu.Lock()
			if tc.want == linearizability.Valid {
				store.inject = nil
			}
			store.mu.Unlock()
			if err := w.Final(context.Background()); err != nil {
				t.Fatalf("Final: %v", err)
			}
			res, err := linearizability.Check(context.Background(), rec.history(),
				linearizability.Options{Model: w.Model(), TimeLimit: 30 * time.Second})
			if err != nil {
				t.Fatalf("Check rejected the history: %v", err)
			}
			if res.Verdict != tc.want {
				t.Errorf("verdict %s (%s), want %s; counts %+v", res.Verdict, res.Reason, tc.want, w.Counts())
			}
		})
	}
}
