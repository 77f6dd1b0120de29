package history

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func boolp(b bool) *bool { return &b }

// sample is a history touching every value form Op documents.
func sample() []Op {
	return []Op{
		{Index: 0, Time: 10, Process: 0, Type: Invoke, F: FWrite, Key: "7", Value: int64(3), Node: "n1"},
		{Index: 1, Time: 11, Process: 1, Type: Invoke, F: FRead, Key: "x"},
		{Index: 2, Time: 12, Process: Nemesis, Type: Info, F: "start-partition", Value: map[string]any{"n1": []any{"n2", "n3"}, "shape": "halves"}},
		{Index: 3, Time: 20, Process: 0, Type: OK, F: FWrite, Key: "7", Value: int64(3), Node: "n1"},
		{Index: 4, Time: 21, Process: 1, Type: OK, F: FRead, Key: "x", Value: int64(-4)},
		{Index: 5, Time: 22, Process: 2, Type: Invoke, F: FCAS, Key: "7", Value: []int64{3, 4}},
		{Index: 6, Time: 23, Process: 2, Type: OK, F: FCAS, Key: "7", Value: []int64{3, 4}, OK: boolp(false)},
		{Index: 7, Time: 24, Process: 3, Type: Invoke, F: FCAS, Key: "7", Value: []int64{3, 5}},
		{Index: 8, Time: 25, Process: 3, Type: OK, F: FCAS, Key: "7", Value: []int64{3, 5}, OK: boolp(true)},
		{Index: 9, Time: 26, Process: 4, Type: Invoke, F: FWrite, Key: "7", Value: int64(9)},
		{Index: 10, Time: 27, Process: 4, Type: Info, F: FWrite, Key: "7", Value: int64(9), Error: "indeterminate: timeout"},
		{Index: 11, Time: 28, Process: 5, Type: Invoke, F: FRead, Key: "s"},
		{Index: 12, Time: 29, Process: 5, Type: OK, F: FRead, Key: "s", Value: []int64{1, 2, 3}},
		{Index: 13, Time: 30, Process: Nemesis, Type: Info, F: "stop-partition", Value: []any{"healed", int64(2), 1.5, true}},
		{Index: 14, Time: 31, Process: 6, Type: Invoke, F: FWrite, Key: "7", Value: int64(10)},
		{Index: 15, Time: 32, Process: 6, Type: Fail, F: FWrite, Key: "7", Value: int64(10), Error: "no leader"},
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range sample() {
		if err := w.Write(op); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sample()) {
		t.Fatalf("round trip differs:\n got %#v\nwant %#v", got, sample())
	}
}

func TestEDNRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteEDN(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadEDN(&buf)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(got, sample()) {
		t.Fatalf("round trip differs:\n got %#v\nwant %#v\nedn:\n%s", got, sample(), buf.String())
	}
}

func TestRandomRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200; i++ {
		ops := randomOps(rng, 30, i%2 == 0)
		var j, e bytes.Buffer
		if err := WriteJSONL(&j, ops); err != nil {
			t.Fatal(err)
		}
		if err := WriteEDN(&e, ops); err != nil {
			t.Fatal(err)
		}
		gj, err := Read(&j)
		if err != nil {
			t.Fatal(err)
		}
		ge, err := ReadEDN(&e)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gj, ops) || !reflect.DeepEqual(ge, ops) {
			t.Fatalf("history %d: round trip differs\nwant %#v\njsonl %#v\nedn %#v", i, ops, gj, ge)
		}
	}
}

// randomOps makes a well-formed history with every op kind.
func randomOps(rng *rand.Rand, n int, keyed bool) []Op {
	var ops []Op
	open := map[Process]Op{}
	for i := 0; i < n; i++ {
		p := Process(rng.Intn(4))
		op := Op{Index: int64(i), Time: int64(i * 10), Process: p}
		if rng.Intn(8) == 0 {
			op.Process, op.Type, op.F, op.Value = Nemesis, Info, "kill", []any{"n1", "n2"}
		} else if inv, ok := open[p]; ok {
			delete(open, p)
			op.F, op.Key, op.Value = inv.F, inv.Key, inv.Value
			op.Type = []Type{OK, Fail, Info}[rng.Intn(3)]
			if op.Type == OK && op.F == FRead {
				op.Value = []any{nil, int64(rng.Intn(5))}[rng.Intn(2)]
			}
			if op.Type == OK && op.F == FCAS {
				op.OK = boolp(rng.Intn(2) == 0)
			}
			if op.Type != OK {
				op.Error = "timed-out"
			}
		} else {
			op.Type = Invoke
			if keyed {
				op.Key = []string{"1", "k", "22"}[rng.Intn(3)]
			}
			switch rng.Intn(4) {
			case 0:
				op.F = FRead
			case 1:
				op.F, op.Value = FWrite, int64(rng.Intn(100))
			case 2:
				op.F, op.Value = FCAS, []int64{int64(rng.Intn(5)), int64(rng.Intn(5))}
			case 3:
				op.F, op.Value = FAdd, int64(rng.Intn(100))
			}
			open[p] = op
		}
		ops = append(ops, op)
	}
	return ops
}

func TestReadTruncatedLastLine(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, sample()[:3]); err != nil {
		t.Fatal(err)
	}
	whole := buf.String()
	cut := whole[:len(whole)-15] // last line cut mid-way, no newline
	ops, err := Read(strings.NewReader(cut))
	if err != nil {
		t.Fatalf("truncated last line must be tolerated: %v", err)
	}
	if len(ops) != 2 {
		t.Fatalf("got %d ops, want 2", len(ops))
	}
	// A complete last line that is malformed is an error, not a truncation.
	_, err = Read(strings.NewReader(cut + "\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("want an error naming line 3, got %v", err)
	}
}

func TestReadErrorsNameLine(t *testing.T) {
	cases := map[string]string{
		"bad json":    "{\"index\":0,\"type\":\"invoke\",\"f\":\"read\",\"process\":0}\n{oops}\n{}\n",
		"bad type":    "{\"index\":0,\"type\":\"invoke\",\"f\":\"read\",\"process\":0}\n{\"type\":\"done\",\"f\":\"read\",\"process\":0}\n",
		"bad process": "\n{\"type\":\"ok\",\"f\":\"read\",\"process\":\"x\"}\n",
	}
	for name, in := range cases {
		_, err := Read(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: want an error naming line 2, got %v", name, err)
		}
	}
}

func TestReadJepsenEDN(t *testing.T) {
	// A Jepsen independent register history, as jepsen.independent writes it,
	// with a crash whose value is the error keyword.
	in := `{:type :invoke, :f :write, :value [3 1], :time 100, :process 0, :index 0}
{:type :invoke, :f :cas, :value [3 [1 2]], :time 110, :process 1, :index 1}
{:type :info, :f :start-partition, :value :majority, :time 115, :process :nemesis, :index 2}
#jepsen.history.Op{:type :ok, :f :write, :value [3 1], :time 120, :process 0, :index 3}
{:type :info, :f :cas, :value :timed-out, :time 130, :process 1, :index 4} ; crashed
{:type :invoke, :f :read, :value [3 nil], :time 140, :process 0, :index 5}
{:type :ok, :f :read, :value [3 2], :time 150, :process 0, :index 6}
{:type :invoke, :f :cas, :value [:k [2 5]], :time 160, :process 0, :index 7}
{:type :fail, :f :cas, :value [:k [2 5]], :time 170, :process 0, :index 8, :error [:cas-failed "x"]}
`
	ops, err := ReadEDN(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 9 {
		t.Fatalf("got %d ops", len(ops))
	}
	if ops[0].Key != "3" || ops[0].Value != int64(1) {
		t.Errorf("independent write: %+v", ops[0])
	}
	if got, _ := Ints(ops[1].Value); !reflect.DeepEqual(got, []int64{1, 2}) || ops[1].Key != "3" {
		t.Errorf("independent cas: %+v", ops[1])
	}
	if ops[2].Process != Nemesis || ops[2].F != "start-partition" || ops[2].Value != "majority" {
		t.Errorf("nemesis: %+v", ops[2])
	}
	if ops[4].Type != Info || ops[4].Error != "timed-out" || ops[4].Key != "3" {
		t.Errorf("crash: %+v", ops[4])
	}
	if got, _ := Ints(ops[4].Value); !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Errorf("crash value must be the attempted cas, got %#v", ops[4].Value)
	}
	if ops[5].Value != nil || ops[6].Value != int64(2) {
		t.Errorf("read: %+v %+v", ops[5], ops[6])
	}
	if ops[8].Type != Fail || ops[8].Key != "k" || ops[8].Error != `[:cas-failed "x"]` {
		t.Errorf("failed cas: %+v", ops[8])
	}
	// Plain (not independent) histories keep values as they are.
	plain := "[{:type :invoke :f :cas :value [1 2] :process 0 :time 1}\n{:type :fail :f :cas :value [1 2] :process 0 :time 2}]"
	ops, err = ReadEDN(strings.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	if ops[0].Key != "" || !reflect.DeepEqual(ops[0].Value, []int64{1, 2}) || ops[1].Index != 1 {
		t.Errorf("plain cas: %+v", ops)
	}
}

func TestReadEDNErrors(t *testing.T) {
	for _, in := range []string{
		"{:type :invoke :f :read :process 0}\n{:type :ok :f :read",
		"{:type :invoke :f :read :process 0}\n{:type :bogus :f :read :process 0}",
		"{:type :invoke :f :read :process 0}\n{:type :ok :f :read :process \"p\"}",
		"{:type :invoke :f :read :process 0}\n[1 2]",
		"{:type :invoke :f :read :process 0}\n{:type :ok :f :read :process 0 :time 1.5}",
	} {
		_, err := ReadEDN(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: want an error naming line 2, got %v", in, err)
		}
	}
}

func TestRecorderStampsInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRecorder(w, true)
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				op, err := r.Record(Op{Process: Process(p), Type: Invoke, F: FWrite, Value: int64(i)})
				if err != nil || op.Process != Process(p) {
					t.Error(err)
				}
			}
		}(p)
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ops, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 800 || !reflect.DeepEqual(ops, r.Ops()) {
		t.Fatalf("file has %d ops, recorder %d; they must agree", len(ops), len(r.Ops()))
	}
	for i, op := range ops {
		if op.Index != int64(i) || (i > 0 && op.Time < ops[i-1].Time) {
			t.Fatalf("op %d: index %d time %d after %d", i, op.Index, op.Time, ops[max(i-1, 0)].Time)
		}
	}
}

func TestWriterSurvivesCrash(t *testing.T) {
	// Every Write reaches the file before it returns: read it back while
	// the writer is still open, as after a crash of the lab.
	path := filepath.Join(t.TempDir(), "h.jsonl")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, op := range sample()[:5] {
		if err := w.Write(op); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := Read(bytes.NewReader(b))
	if err != nil || len(ops) != 5 {
		t.Fatalf("read %d ops before Close (%v), want 5", len(ops), err)
	}
}

func TestFaultEdge(t *testing.T) {
	cases := []struct {
		f    string
		kind string
		edge Edge
	}{
		{"start-partition", "partition", Begin}, {"stop-partition", "partition", End},
		{"kill", "kill", Begin}, {"start", "kill", End}, {"kill-leader", "kill", Begin},
		{"pause", "pause", Begin}, {"resume", "pause", End},
		{"bump-clock", "clock", Begin}, {"strobe-clock", "clock", Begin}, {"reset-clock", "clock", End},
		{"check-offsets", "check-offsets", Instant},
	}
	for _, c := range cases {
		if k, e := FaultEdge(c.f); k != c.kind || e != c.edge {
			t.Errorf("FaultEdge(%q) = %q, %v; want %q, %v", c.f, k, e, c.kind, c.edge)
		}
	}
}

func TestFaultWindows(t *testing.T) {
	n := func(i, tm int64, typ Type, f string, v any) Op {
		return Op{Index: i, Time: tm, Process: Nemesis, Type: typ, F: f, Value: v}
	}
	ops := []Op{
		n(0, 10, Invoke, "start-partition", nil),
		n(1, 12, Info, "start-partition", "halves"),
		{Index: 2, Time: 13, Process: 0, Type: Invoke, F: FRead},
		// Jepsen records a nemesis action as two info records of one F:
		// these two are the invocation and completion of one kill.
		n(3, 20, Info, "kill", "majority"),
		n(4, 25, Info, "kill", "n1 n2"),
		n(5, 30, Invoke, "stop-partition", nil),
		n(6, 31, Info, "stop-partition", nil),
		n(7, 40, Info, "start", "n1 n2"),
		n(8, 45, Info, "check-offsets", nil),
		n(9, 50, Info, "pause", "n3"),
		{Index: 10, Time: 60, Process: 0, Type: OK, F: FRead},
	}
	got := FaultWindows(ops)
	want := []Window{
		{Kind: "partition", Start: 10, End: 31, StartIndex: 0, EndIndex: 6, Description: "start-partition halves; stop-partition"},
		{Kind: "kill", Start: 20, End: 40, StartIndex: 3, EndIndex: 7, Description: "kill n1 n2; start n1 n2"},
		{Kind: "check-offsets", Start: 45, End: 45, Instant: true, StartIndex: 8, EndIndex: 8, Description: "check-offsets"},
		{Kind: "pause", Start: 50, End: 60, Open: true, StartIndex: 9, EndIndex: 10, Description: "pause n3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}
