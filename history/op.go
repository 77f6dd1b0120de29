// Package history holds the operation record of a lab run: the Jepsen-style op
// type, an append-only JSON Lines writer and a tolerant reader, and Jepsen EDN
// import and export.
package history

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Type is the kind of an op record: an invocation or one of three completions.
type Type string

const (
	// Invoke is recorded before an operation is sent.
	Invoke Type = "invoke"
	// OK means the operation certainly took effect (a CAS whose comparison
	// failed is OK with value false).
	OK Type = "ok"
	// Fail means the operation certainly did not take effect.
	Fail Type = "fail"
	// Info means the outcome is unknown: it may take effect at any time after
	// its invocation. Nemesis ops are recorded as Info too.
	Info Type = "info"
)

// Process identifies who performed an op: a client process number (0, 1, ...)
// or the nemesis.
type Process int

// Nemesis is the process of fault-injection ops. It is written as "nemesis".
const Nemesis Process = -1

// String returns the process number, or "nemesis".
func (p Process) String() string {
	if p == Nemesis {
		return "nemesis"
	}
	return strconv.Itoa(int(p))
}

// MarshalJSON writes a client process as a number and the nemesis as "nemesis".
func (p Process) MarshalJSON() ([]byte, error) {
	if p == Nemesis {
		return []byte(`"nemesis"`), nil
	}
	return []byte(strconv.Itoa(int(p))), nil
}

// UnmarshalJSON reads a number or the string "nemesis".
func (p *Process) UnmarshalJSON(b []byte) error {
	if string(b) == `"nemesis"` {
		*p = Nemesis
		return nil
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return fmt.Errorf("process must be a number or \"nemesis\", got %s", b)
	}
	*p = Process(n)
	return nil
}

// Common values of Op.F.
const (
	FRead  = "read"  // value: nil on invoke, the value read (or nil) on ok
	FWrite = "write" // value: the integer written
	FCAS   = "cas"   // value: [old, new]; an ok completion has OK=false when the comparison failed
	FAdd   = "add"   // set workload: the unique integer added
)

// Op is one record of a history, as in Jepsen: an invocation, or the
// completion of an earlier invocation by the same process.
//
// Value holds, after reading or before writing:
//   - nil (a read invocation, a read of a never-written key),
//   - int64 (a write, an add, a read's result),
//   - []int64 (a cas [old new]; a set read's elements),
//   - for nemesis ops, free-form JSON-able data describing the fault.
type Op struct {
	Index   int64   `json:"index"`
	Process Process `json:"process"`
	Type    Type    `json:"type"`
	F       string  `json:"f"`
	Key     string  `json:"key,omitempty"`
	Value   any     `json:"value"`
	// OK is the result of a CAS completion: false when the comparison failed.
	// It is nil for every other op.
	OK *bool `json:"ok,omitempty"`
	// Time is nanoseconds since the test began, on the controller's monotonic clock.
	Time  int64  `json:"time"`
	Node  string `json:"node,omitempty"`
	Error string `json:"error,omitempty"`
}

// IsNemesis reports whether the op was performed by the nemesis.
func (o Op) IsNemesis() bool { return o.Process == Nemesis }

// Int returns v as an integer when it is one (int, int64, float64 with an
// integral value or json.Number).
func Int(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}

// Ints returns v as a list of integers when it is one.
func Ints(v any) ([]int64, bool) {
	switch x := v.(type) {
	case []int64:
		return x, true
	case []any:
		out := make([]int64, 0, len(x))
		for _, e := range x {
			n, ok := Int(e)
			if !ok {
				return nil, false
			}
			out = append(out, n)
		}
		return out, true
	}
	return nil, false
}
