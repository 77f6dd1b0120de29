package linearizability

import (
	"context"
	"fmt"
	"html"
	"math"

	"github.com/anishathalye/porcupine"
)

type opKind uint8

const (
	kRead opKind = iota
	kWrite
	kCAS
)

// regOp is one client operation on a register: an invocation with its
// completion. Crashed operations (info, or no completion) have
// ret = math.MaxInt64 unless pruning bounded them.
type regOp struct {
	kind    opKind
	key     string
	client  int   // dense per key, for the visualisation's rows
	call    int64 // invocation time
	ret     int64 // completion time, or math.MaxInt64
	crashed bool  // outcome unknown: output unknown to the model
	a, b    int64 // write: a; cas: a -> b; ok read: a (unless readNil)
	readNil bool  // an ok read of a never-written register
	casOK   bool  // an ok cas: whether the comparison succeeded
	inv     int64 // history index of the invocation
	done    int64 // history index of the completion, -1 if none
	node    string
	bounded bool // pruning rule P2 gave it a finite return
}

// writes reports the value op may write: a write's value or a cas's new
// value, unless the cas certainly failed its comparison.
func (o *regOp) writes() (int64, bool) {
	switch o.kind {
	case kWrite:
		return o.a, true
	case kCAS:
		if o.crashed || o.casOK {
			return o.b, true
		}
	}
	return 0, false
}

// observes reports the value an ok op saw: a read's value, or a successful
// cas's old value.
func (o *regOp) observes() (int64, bool) {
	if o.crashed {
		return 0, false
	}
	switch o.kind {
	case kRead:
		return o.a, !o.readNil
	case kCAS:
		return o.a, o.casOK
	}
	return 0, false
}

func (o *regOp) describe() string {
	switch o.kind {
	case kRead:
		if o.readNil {
			return "read nil"
		}
		return fmt.Sprintf("read %d", o.a)
	case kWrite:
		return fmt.Sprintf("write %d", o.a)
	}
	return fmt.Sprintf("cas %d→%d", o.a, o.b)
}

// Porcupine's view of a regOp.
type regInput struct {
	kind opKind
	a, b int64
}

type regOutput struct {
	known bool // false: crashed, the output is unknown
	isNil bool
	v     int64
	ok    bool
}

type regState struct {
	v   int64
	set bool // false: never written (nil)
}

func (o *regOp) operation(meta int) porcupine.Operation {
	in := regInput{kind: o.kind, a: o.a, b: o.b}
	out := regOutput{known: !o.crashed, isNil: o.readNil, v: o.a, ok: o.casOK}
	return porcupine.Operation{ClientId: o.client, Input: in, Call: o.call, Output: out, Return: o.ret, Metadata: meta}
}

// registerStep is the sequential specification of a register with read,
// write and compare-and-set. A crashed op's output is unknown: any output is
// accepted, but its effect applies (a crashed cas still swaps when the
// comparison matches); placed last, it is as if it never happened.
func registerStep(state, input, output any) (bool, any) {
	s := state.(regState)
	in := input.(regInput)
	out := output.(regOutput)
	switch in.kind {
	case kRead:
		if out.isNil {
			return !s.set, s
		}
		return s.set && s.v == out.v, s
	case kWrite:
		return true, regState{v: in.a, set: true}
	case kCAS:
		match := s.set && s.v == in.a
		if !out.known || out.ok {
			if match {
				return true, regState{v: in.b, set: true}
			}
			return !out.known, s
		}
		return !match, s
	}
	return false, s
}

func describeState(state any) string {
	s := state.(regState)
	if !s.set {
		return "nil"
	}
	return fmt.Sprint(s.v)
}

// registerModel is the Porcupine model of one register; ops is the key's
// operations, which Metadata indexes, for the visualisation.
func registerModel(ops []regOp) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return regState{} },
		Step: registerStep,
		StepContext: func(_ context.Context, state, input, output any) (bool, any) {
			return registerStep(state, input, output)
		},
		Equal: func(a, b any) bool { return a.(regState) == b.(regState) },
		Hash: func(state any) uint64 {
			s := state.(regState)
			if !s.set {
				return 0x9e3779b97f4a7c15
			}
			return uint64(s.v) * 0xff51afd7ed558ccd
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(regInput), output.(regOutput)
			var s string
			switch in.kind {
			case kRead:
				s = "read()"
				if out.known {
					if out.isNil {
						s += " → nil"
					} else {
						s += fmt.Sprintf(" → %d", out.v)
					}
				}
			case kWrite:
				s = fmt.Sprintf("write(%d)", in.a)
			case kCAS:
				s = fmt.Sprintf("cas(%d→%d)", in.a, in.b)
				if out.known {
					s += map[bool]string{true: " → ok", false: " → failed"}[out.ok]
				}
			}
			if !out.known {
				s += " → ? (crashed)"
			}
			return s
		},
		DescribeState: func(state any) string { return html.EscapeString(describeState(state)) },
		DescribeOperationMetadata: func(info any) string {
			i, ok := info.(int)
			if !ok || i < 0 || i >= len(ops) {
				return ""
			}
			o := &ops[i]
			s := fmt.Sprintf("op #%d", o.inv)
			if o.done >= 0 {
				s += fmt.Sprintf(" → #%d", o.done)
			}
			if o.node != "" {
				s += " on " + o.node
			}
			if o.bounded {
				s += " (crashed; return bounded by its first observer)"
			} else if o.crashed {
				s += " (crashed)"
			}
			return html.EscapeString(s)
		},
	}
}

const never = math.MaxInt64
