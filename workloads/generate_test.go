package workloads

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/raftlab/raftlab/history"
)

// genOps returns the first n ops of worker under cfg.
func genOps(name string, cfg Config, worker, n int) []history.Op {
	g := newGenerator(name, cfg, worker)
	out := make([]history.Op, n)
	for i := range out {
		out[i] = g.next()
	}
	return out
}

func TestGeneratorDeterminism(t *testing.T) {
	base := Config{Concurrency: 6, OpsPerKey: 30, ThreadsPerKey: 3, Seed: 42}
	other := base
	other.Seed = 43
	for _, tc := range []struct {
		name       string
		a, b       Config
		wa, wb     int
		wantEqual  bool
		whyCompare string
	}{
		{Register, base, base, 0, 0, true, "same seed, same worker"},
		{Registers, base, base, 4, 4, true, "same seed, same worker"},
		{Set, base, base, 2, 2, true, "same seed, same worker"},
		{Register, base, other, 0, 0, false, "another seed"},
		{Registers, base, other, 4, 4, false, "another seed"},
		{Register, base, base, 0, 1, false, "another worker"},
		{Registers, base, base, 0, 1, false, "another worker"},
		{Set, base, base, 0, 1, false, "another worker"},
	} {
		t.Run(fmt.Sprintf("%s/%s/%d-%d", tc.name, tc.whyCompare, tc.wa, tc.wb), func(t *testing.T) {
			a := genOps(tc.name, tc.a, tc.wa, 500)
			b := genOps(tc.name, tc.b, tc.wb, 500)
			if got := reflect.DeepEqual(a, b); got != tc.wantEqual {
				t.Errorf("sequences equal = %v, want %v (%s); first ops %v vs %v", got, tc.wantEqual, tc.whyCompare, a[:3], b[:3])
			}
		})
	}
}

func TestGeneratorShapes(t *testing.T) {
	cfg := Config{Concurrency: 7, OpsPerKey: 30, ThreadsPerKey: 3, Seed: 1}
	t.Run("register", func(t *testing.T) {
		fs := map[string]int{}
		for _, op := range genOps(Register, cfg, 3, 3000) {
			fs[op.F]++
			var vs []int64
			switch op.F {
			case history.FWrite:
				vs = []int64{op.Value.(int64)}
			case history.FCAS:
				vs = op.Value.([]int64)
			}
			for _, v := range vs {
				if v < 0 || v > 4 || op.Key != "register" {
					t.Fatalf("op %+v: want key register and values in 0..4", op)
				}
			}
		}
		for _, f := range []string{history.FRead, history.FWrite, history.FCAS} {
			if fs[f] < 800 {
				t.Errorf("%d %s ops in 3000, want about 1000 (mix %v)", fs[f], f, fs)
			}
		}
	})
	t.Run("registers", func(t *testing.T) {
		// 7 workers in groups of 3: {0,1,2} {3,4,5} {6}; 10 ops per worker
		// per key; group g uses keys g, g+3, g+6, ...
		written := map[string]map[int64]bool{}
		for w := range 7 {
			ops := genOps(Registers, cfg, w, 40)
			for i, op := range ops {
				want := fmt.Sprintf("k%d", w/3+3*(i/10))
				if op.Key != want {
					t.Fatalf("worker %d op %d on key %s, want %s", w, i, op.Key, want)
				}
				var v int64
				switch op.F {
				case history.FWrite:
					v = op.Value.(int64)
				case history.FCAS:
					v = op.Value.([]int64)[1]
					if old := op.Value.([]int64)[0]; old < 1 {
						t.Errorf("worker %d op %d: cas from %d, want a value some worker writes (>= 1)", w, i, old)
					}
				default:
					continue
				}
				if written[op.Key] == nil {
					written[op.Key] = map[int64]bool{}
				}
				if written[op.Key][v] {
					t.Errorf("key %s: value %d written twice (worker %d op %d)", op.Key, v, w, i)
				}
				written[op.Key][v] = true
			}
		}
	})
	t.Run("set", func(t *testing.T) {
		seen := map[int64]bool{}
		for w := range 7 {
			for _, op := range genOps(Set, cfg, w, 200) {
				v := op.Value.(int64)
				if op.F != history.FAdd || op.Key != "set" || seen[v] {
					t.Fatalf("op %+v: want a unique add to key set", op)
				}
				seen[v] = true
			}
		}
	})
	t.Run("key prefix", func(t *testing.T) {
		p := cfg
		p.KeyPrefix = "t2-"
		for _, name := range Names() {
			if op := genOps(name, p, 0, 1)[0]; op.Key[:3] != "t2-" {
				t.Errorf("%s key %q lacks the prefix t2-", name, op.Key)
			}
		}
	})
}
