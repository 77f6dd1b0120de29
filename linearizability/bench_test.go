package linearizability

import (
	"context"
	"math/rand"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/raftlab/raftlab/history"
)

// Benchmarks on generated histories. Run them one at a time with
// -benchtime=1x, e.g.
//
//	go test -run '^$' -bench 'Check1M' -benchtime=1x ./linearizability
//
// The Raw variants feed the same histories to Porcupine directly (a model
// partitioned by key, no pruning, a 20 s timeout) so the gain is a ratio.

// bigHistory: 1,000,000 operations (2,000,000 records) over 1,000 keys, 5
// clients per key, 1 % crashed, reads, writes and cas.
func bigHistory() []history.Op {
	rng := rand.New(rand.NewSource(1))
	return genHistory(rng, genConfig{procs: 5, ops: 1_000_000 / 1000, keys: 1000, crashP: 0.01, failP: 0.01,
		readP: 0.5, casP: 0.2, dur: 1000, nemesis: true})
}

// crashedHistory: one key, 5 clients, 3,000 operations of which 1,000 or
// more are crashed writes (half of all ops crash), and one read changed to a
// stale value: invalid.
func crashedHistory(b *testing.B) ([]history.Op, int) {
	rng := rand.New(rand.NewSource(3))
	for try := 0; ; try++ {
		if try == 100 {
			b.Fatal("could not generate the history")
		}
		ops := genHistory(rng, genConfig{procs: 5, ops: 3000, crashP: 0.5, readP: 0.33, dur: 1000})
		crashed := 0
		for _, op := range ops {
			if op.Type == history.Info && op.F == history.FWrite {
				crashed++
			}
		}
		if crashed < 1000 {
			continue
		}
		bad, how, ok := mutateInvalid(rng, ops)
		if ok && how == "stale" {
			return bad, crashed
		}
	}
}

func benchCheck(b *testing.B, ops []history.Op, model string, want Verdict) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Check(context.Background(), ops, Options{Model: model})
		if err != nil {
			b.Fatal(err)
		}
		if res.Verdict != want {
			b.Fatalf("verdict %s, want %s: %s", res.Verdict, want, res.Reason)
		}
	}
}

func benchRaw(b *testing.B, ops []history.Op, want porcupine.CheckResult) {
	khs, err := registerHistories(ops, false)
	if err != nil {
		b.Fatal(err)
	}
	var all []porcupine.Operation
	for _, kh := range khs {
		for i := range kh.ops {
			op := kh.ops[i].operation(i)
			op.Metadata = kh.key
			all = append(all, op)
		}
	}
	model := registerModel(nil)
	model.Partition = func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range h {
			k := op.Metadata.(string)
			if _, ok := byKey[k]; !ok {
				order = append(order, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(order))
		for _, k := range order {
			out = append(out, byKey[k])
		}
		return out
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got := porcupine.CheckOperationsTimeout(model, all, 20*time.Second)
		if got == porcupine.Unknown {
			b.ReportMetric(1, "timed_out")
		} else if got != want {
			b.Fatalf("porcupine says %s, want %s", got, want)
		}
	}
}

func BenchmarkCheck1MOps1000Keys(b *testing.B) { benchCheck(b, bigHistory(), ModelRegisters, Valid) }
func BenchmarkRaw1MOps1000Keys(b *testing.B)   { benchRaw(b, bigHistory(), porcupine.Ok) }
func BenchmarkCheckCrashedInvalid(b *testing.B) {
	ops, crashed := crashedHistory(b)
	benchCheck(b, ops, ModelRegister, Invalid)
	b.ReportMetric(float64(crashed), "crashed_writes")
}

func BenchmarkRawCrashedInvalid(b *testing.B) {
	ops, crashed := crashedHistory(b)
	benchRaw(b, ops, porcupine.Illegal)
	b.ReportMetric(float64(crashed), "crashed_writes")
}
