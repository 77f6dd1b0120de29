package node

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// applyCmd applies c at the next index of f and returns the Result.
func applyCmd(t *testing.T, f *FSM, idx *uint64, c Command) Result {
	t.Helper()
	data, err := EncodeCommand(c)
	if err != nil {
		t.Fatalf("encode %+v: %v", c, err)
	}
	*idx++
	r, ok := f.Apply(&raft.Log{Index: *idx, Term: 1, Type: raft.LogCommand, Data: data}).(Result)
	if !ok {
		t.Fatalf("Apply returned %T, want Result", r)
	}
	return r
}

// randomCommands returns a reproducible mix of writes, CASes, adds and retries.
func randomCommands(seed uint64, n int) []Command {
	rng := rand.New(rand.NewPCG(seed, 1))
	seqs := map[string]uint64{}
	var out []Command
	for i := 0; i < n; i++ {
		cid := fmt.Sprintf("p%d", rng.IntN(5))
		if rng.IntN(10) == 0 && seqs[cid] > 0 && len(out) > 0 {
			// retry of this client's latest command
			for j := len(out) - 1; j >= 0; j-- {
				if out[j].ClientID == cid {
					out = append(out, out[j])
					break
				}
			}
			continue
		}
		seqs[cid]++
		key := fmt.Sprintf("k%d", rng.IntN(4))
		c := Command{Key: key, ClientID: cid, Seq: seqs[cid]}
		switch rng.IntN(3) {
		case 0:
			c.Op, c.Value = OpWrite, int64(rng.IntN(5))
		case 1:
			c.Op, c.From, c.To = OpCAS, int64(rng.IntN(5)), int64(rng.IntN(5))
		default:
			c.Op, c.Element = OpAdd, int64(rng.IntN(100))
		}
		out = append(out, c)
	}
	return out
}

func snapshotBytes(t *testing.T, f *FSM) []byte {
	t.Helper()
	s, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := s.Persist(sink); err != nil {
		t.Fatal(err)
	}
	s.Release()
	return sink.Bytes()
}

type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { m.cancelled = true; return nil }
func (m *memSink) Close() error  { return nil }

func TestFSMDeterministic(t *testing.T) {
	cmds := randomCommands(42, 2000)
	var results [2][]Result
	var fs [2]*FSM
	for run := 0; run < 2; run++ {
		f := NewFSM()
		var idx uint64
		for _, c := range cmds {
			results[run] = append(results[run], applyCmd(t, f, &idx, c))
		}
		fs[run] = f
	}
	for i := range results[0] {
		if results[0][i] != results[1][i] {
			t.Fatalf("command %d (%+v): results differ between replicas: %+v vs %+v", i, cmds[i], results[0][i], results[1][i])
		}
	}
	i0, d0 := fs[0].Digest()
	i1, d1 := fs[1].Digest()
	if i0 != i1 || d0 != d1 {
		t.Fatalf("replicas diverged: (%d, %s) vs (%d, %s)", i0, d0, i1, d1)
	}
	if !bytes.Equal(snapshotBytes(t, fs[0]), snapshotBytes(t, fs[1])) {
		t.Fatal("snapshots of identical states differ (map order leaking into the encoding?)")
	}
	// A different history must give a different digest, or the check is blind.
	other := NewFSM()
	var idx uint64
	for _, c := range randomCommands(43, 2000) {
		applyCmd(t, other, &idx, c)
	}
	if _, d := other.Digest(); d == d0 {
		t.Fatal("different histories produced the same digest")
	}
}

func TestFSMCAS(t *testing.T) {
	f := NewFSM()
	var idx uint64
	if r := applyCmd(t, f, &idx, Command{Op: OpCAS, Key: "x", From: 0, To: 1}); r.OK || r.Err != "" {
		t.Fatalf("CAS on a never-written key: got %+v, want ok=false (a missing key is not 0)", r)
	}
	if _, ok := f.Read("x"); ok {
		t.Fatal("failed CAS created the key")
	}
	applyCmd(t, f, &idx, Command{Op: OpWrite, Key: "x", Value: 1})
	if r := applyCmd(t, f, &idx, Command{Op: OpCAS, Key: "x", From: 2, To: 3}); r.OK {
		t.Fatalf("CAS 2->3 on x=1 succeeded: %+v", r)
	}
	if v, _ := f.Read("x"); v != 1 {
		t.Fatalf("failed CAS changed x to %d", v)
	}
	if r := applyCmd(t, f, &idx, Command{Op: OpCAS, Key: "x", From: 1, To: 3}); !r.OK {
		t.Fatalf("CAS 1->3 on x=1 failed: %+v", r)
	}
	if v, _ := f.Read("x"); v != 3 {
		t.Fatalf("after CAS 1->3: x=%d", v)
	}
	if r := applyCmd(t, f, &idx, Command{Op: "frobnicate", Key: "x"}); r.Err == "" {
		t.Fatal("unknown op accepted")
	}
}

func TestFSMDedupRetries(t *testing.T) {
	f := NewFSM()
	var idx uint64
	applyCmd(t, f, &idx, Command{Op: OpWrite, Key: "x", Value: 1, ClientID: "a", Seq: 1})
	cas := Command{Op: OpCAS, Key: "x", From: 1, To: 2, ClientID: "a", Seq: 2}
	if r := applyCmd(t, f, &idx, cas); !r.OK {
		t.Fatalf("first CAS: %+v", r)
	}
	// Another client moves x on; then a's CAS is retried (its reply was lost).
	applyCmd(t, f, &idx, Command{Op: OpWrite, Key: "x", Value: 1, ClientID: "b", Seq: 1})
	if r := applyCmd(t, f, &idx, cas); !r.OK {
		t.Fatalf("retried CAS must return the cached true, got %+v", r)
	}
	if v, _ := f.Read("x"); v != 1 {
		t.Fatalf("retried CAS was applied twice: x=%d, want 1", v)
	}
	// Retried plain write must not clobber b's later write either.
	w := Command{Op: OpWrite, Key: "y", Value: 7, ClientID: "a", Seq: 3}
	applyCmd(t, f, &idx, w)
	applyCmd(t, f, &idx, Command{Op: OpWrite, Key: "y", Value: 8, ClientID: "b", Seq: 2})
	applyCmd(t, f, &idx, w)
	if v, _ := f.Read("y"); v != 8 {
		t.Fatalf("retried write re-applied: y=%d, want 8", v)
	}
	// A delayed duplicate of an older request is refused.
	if r := applyCmd(t, f, &idx, Command{Op: OpWrite, Key: "y", Value: 0, ClientID: "a", Seq: 1}); r.Err != ErrStaleRequest {
		t.Fatalf("stale seq: got %+v, want %q", r, ErrStaleRequest)
	}
	// Adds are deduplicated too (and sets ignore duplicates anyway).
	add := Command{Op: OpAdd, Key: "s", Element: 5, ClientID: "c", Seq: 1}
	applyCmd(t, f, &idx, add)
	applyCmd(t, f, &idx, add)
	if got := f.ReadSet("s"); len(got) != 1 || got[0] != 5 {
		t.Fatalf("set s = %v, want [5]", got)
	}
	// Without a client id there is no dedup.
	applyCmd(t, f, &idx, Command{Op: OpWrite, Key: "z", Value: 1})
	applyCmd(t, f, &idx, Command{Op: OpWrite, Key: "z", Value: 2})
	if v, _ := f.Read("z"); v != 2 {
		t.Fatalf("z=%d, want 2", v)
	}
}

func TestFSMSnapshotRestoreRoundTrip(t *testing.T) {
	f := NewFSM()
	var idx uint64
	for _, c := range randomCommands(7, 500) {
		applyCmd(t, f, &idx, c)
	}
	applyCmd(t, f, &idx, Command{Op: OpMemberAdd, MemberID: "n4", MemberHTTP: "10.0.0.4:8080"})
	cas := Command{Op: OpCAS, Key: "q", From: 0, To: 9, ClientID: "zz", Seq: 1}
	applyCmd(t, f, &idx, Command{Op: OpWrite, Key: "q", Value: 0})
	if r := applyCmd(t, f, &idx, cas); !r.OK {
		t.Fatalf("CAS: %+v", r)
	}
	snap := snapshotBytes(t, f)
	wantIdx, want := f.Digest()

	// Apply more after the snapshot: the snapshot must not see it (copy, not live map).
	applyCmd(t, f, &idx, Command{Op: OpWrite, Key: "late", Value: 1})

	g := NewFSM()
	var gi uint64
	applyCmd(t, g, &gi, Command{Op: OpWrite, Key: "junk", Value: 1}) // prior state to be discarded
	if err := g.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	gotIdx, got := g.Digest()
	if gotIdx != wantIdx || got != want {
		t.Fatalf("restored state (%d, %s) != snapshot state (%d, %s)", gotIdx, got, wantIdx, want)
	}
	if _, ok := g.Read("junk"); ok {
		t.Fatal("Restore kept state from before the snapshot")
	}
	if _, ok := g.Read("late"); ok {
		t.Fatal("snapshot saw a write applied after Snapshot()")
	}
	if a, ok := g.MemberHTTP("n4"); !ok || a != "10.0.0.4:8080" {
		t.Fatalf("member metadata lost: %q %v", a, ok)
	}
	// Sessions survived: the retried CAS is answered from the cache, not re-run.
	gi = gotIdx
	applyCmd(t, g, &gi, Command{Op: OpWrite, Key: "q", Value: 0, ClientID: "other", Seq: 1})
	if r := applyCmd(t, g, &gi, cas); !r.OK {
		t.Fatalf("retried CAS after restore: %+v, want cached ok", r)
	}
	if v, _ := g.Read("q"); v != 0 {
		t.Fatalf("retried CAS re-applied after restore: q=%d, want 0", v)
	}
	// Garbage is rejected, not half-restored.
	h := NewFSM()
	if err := h.Restore(io.NopCloser(bytes.NewReader([]byte("{not json")))); err == nil {
		t.Fatal("Restore accepted garbage")
	}
	if err := h.Restore(io.NopCloser(bytes.NewReader([]byte(`{"version": 9}`)))); err == nil {
		t.Fatal("Restore accepted an unknown version")
	}
}

func TestClock(t *testing.T) {
	base := testTime()
	now := base
	c := newClockAt(func() time.Time { return now })
	if off := c.Offset(); off != 0 {
		t.Fatalf("fresh clock offset %v", off)
	}
	if err := c.Apply(ClockOffset, 5*time.Second, 0); err != nil {
		t.Fatal(err)
	}
	if off := c.Offset(); off != 5*time.Second {
		t.Fatalf("offset: %v", off)
	}
	if err := c.Apply(ClockJump, -2*time.Second, 0); err != nil {
		t.Fatal(err)
	}
	if off := c.Offset(); off != 3*time.Second {
		t.Fatalf("after jump: %v", off)
	}
	if err := c.Apply(ClockRate, 0, 0.5); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Second)
	if off := c.Offset(); off != -2*time.Second {
		t.Fatalf("after 10s at rate 0.5: offset %v, want -2s", off)
	}
	if got := c.Now(); !got.Equal(base.Add(8 * time.Second)) {
		t.Fatalf("Now %v, want %v", got, base.Add(8*time.Second))
	}
	for _, bad := range []float64{0, -1, 1e9} {
		if err := c.Apply(ClockRate, 0, bad); err == nil {
			t.Fatalf("rate %v accepted", bad)
		}
	}
	if err := c.Apply("warp", 0, 0); err == nil {
		t.Fatal("unknown action accepted")
	}
	if err := c.Apply(ClockReset, 0, 0); err != nil || c.Offset() != 0 || c.Rate() != 1 {
		t.Fatalf("reset: err %v offset %v rate %v", err, c.Offset(), c.Rate())
	}
}

func testTime() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
