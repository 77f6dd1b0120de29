package linearizability

import (
	"context"
	"reflect"
	"testing"

	"github.com/raftlab/raftlab/history"
)

func TestSetChecker(t *testing.T) {
	adds := func(extra ...rec) []history.Op {
		rs := []rec{
			inv(0, "add", 1, 0), okr(0, "add", 1, 10), // acknowledged
			inv(1, "add", 2, 0), info(1, "add", 2, 10), // crashed
			inv(2, "add", 3, 0), fail(2, "add", 3, 10), // failed
			inv(0, "add", 4, 11), okr(0, "add", 4, 20), // acknowledged
			inv(0, "add", 5, 30), // still running at the final read: may be absent
			inv(3, "read", nil, 25),
		}
		return build(append(rs, extra...)...)
	}
	cases := []struct {
		name    string
		read    []int64
		verdict Verdict
		field   func(SetKeyResult) []int64
		want    []int64
	}{
		{"valid", []int64{1, 4}, Valid, nil, nil},
		{"valid with recovered", []int64{1, 2, 4}, Valid, func(r SetKeyResult) []int64 { return r.Recovered }, []int64{2}},
		{"lost", []int64{4}, Invalid, func(r SetKeyResult) []int64 { return r.Lost }, []int64{1}},
		{"unexpected", []int64{1, 4, 99}, Invalid, func(r SetKeyResult) []int64 { return r.Unexpected }, []int64{99}},
		{"failed add present", []int64{1, 3, 4}, Invalid, func(r SetKeyResult) []int64 { return r.Unexpected }, []int64{3}},
		{"duplicated", []int64{1, 4, 4}, Invalid, func(r SetKeyResult) []int64 { return r.Duplicated }, []int64{4}},
	}
	for _, c := range cases {
		ops := adds(okr(3, "read", c.read, 40))
		res, err := Check(context.Background(), ops, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Model != ModelSet || res.Verdict != c.verdict {
			t.Fatalf("%s: model %s verdict %s (%s)", c.name, res.Model, res.Verdict, res.Reason)
		}
		if c.field != nil {
			if got := c.field(res.Set.Keys[0]); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
	}
	// Every node's final read counts: one node missing an acknowledged add
	// is invalid even when the last read to complete has it.
	ops := adds(okr(3, "read", []int64{4}, 40), inv(4, "read", nil, 41), okr(4, "read", []int64{1, 4}, 45))
	res, err := CheckSet(ops)
	if err != nil || res.Verdict != Invalid || !reflect.DeepEqual(res.Keys[0].Lost, []int64{1}) {
		t.Fatalf("one node lost an add: %v %s %+v", err, res.Verdict, res.Keys)
	}
	ops = adds(okr(3, "read", []int64{1, 4}, 40), inv(4, "read", nil, 41), okr(4, "read", []int64{1, 4}, 45))
	if res, err := CheckSet(ops); err != nil || res.Verdict != Valid {
		t.Fatalf("every node kept every add: %v %s (%s)", err, res.Verdict, res.Reason)
	}
	// No final read: unknown.
	res, err = CheckSet(adds())
	if err != nil || res.Verdict != Unknown {
		t.Fatalf("no read: %v %s", err, res.Verdict)
	}
	// Bad values are errors.
	if _, err := CheckSet(build(inv(0, "add", "x", 0))); err == nil {
		t.Error("non-integer add accepted")
	}
	if _, err := CheckSet(build(inv(0, "read", nil, 0), okr(0, "read", "x", 1))); err == nil {
		t.Error("non-list read accepted")
	}
}
