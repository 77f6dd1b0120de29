// Package linearizability judges lab histories: Porcupine models for one
// register and for many independent registers (checked per key, in
// parallel), sound pruning of crashed operations, explanations of
// violations in words, Porcupine's HTML visualisation with the nemesis's
// fault windows, and a set checker like Jepsen's set-full.
//
// The entry point is Check; its Result is what `labctl check` writes as
// results.json.
package linearizability

import (
	"encoding/json"
	"fmt"
)

// Verdict is the outcome of a check.
type Verdict string

const (
	// Valid: the history is consistent with the model.
	Valid Verdict = "valid"
	// Invalid: no order of the operations explains the history.
	Invalid Verdict = "invalid"
	// Unknown: the checker could not decide (time limit, no final read, ...).
	Unknown Verdict = "unknown"
)

func (v Verdict) rank() int {
	switch v {
	case Invalid:
		return 2
	case Unknown:
		return 1
	}
	return 0
}

// Merge combines verdicts: Invalid beats Unknown beats Valid. No verdicts at
// all merge to Valid.
func Merge(vs ...Verdict) Verdict {
	out := Valid
	for _, v := range vs {
		if v.rank() > out.rank() {
			out = v
		}
	}
	return out
}

// ExitCode is the process exit status for the verdict: 0 valid, 1 invalid,
// 2 unknown.
func (v Verdict) ExitCode() int {
	switch v {
	case Invalid:
		return 1
	case Unknown:
		return 2
	}
	return 0
}

// UnmarshalJSON accepts only the three verdicts.
func (v *Verdict) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	switch Verdict(s) {
	case Valid, Invalid, Unknown:
		*v = Verdict(s)
		return nil
	}
	return fmt.Errorf("verdict %q is not valid, invalid or unknown", s)
}
