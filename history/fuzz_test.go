package history

import (
	"bytes"
	"testing"
)

// FuzzRead: malformed JSON Lines give an error, never a panic, and whatever
// reads back writes and reads again unchanged in length.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteJSONL(&buf, sample())
	f.Add(buf.Bytes())
	f.Add([]byte("{\"type\":\"ok\",\"f\":\"read\",\"process\":\"nemesis\",\"value\":[1,[2,{\"a\":1e400}]]}\n{\"ty"))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ops, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteJSONL(&out, ops); err != nil {
			return // e.g. NaN values cannot be encoded: an error, fine
		}
		again, err := Read(&out)
		if err != nil || len(again) != len(ops) {
			t.Fatalf("re-read of written ops failed: %v (%d vs %d)", err, len(again), len(ops))
		}
	})
}

// FuzzReadEDN: malformed EDN gives an error, never a panic; what reads
// back writes as EDN that reads again.
func FuzzReadEDN(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteEDN(&buf, sample())
	f.Add(buf.Bytes())
	f.Add([]byte(`{:type :info, :f :cas, :value :timed-out, :process 1} #_ [1 2] ; x` + "\n" + `#{1 \a "s\u0041"} 1/2 -3N 1.5M`))
	f.Add([]byte("[[[[[[[[[[[{:a}]]]]]]]]]]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ops, err := ReadEDN(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteEDN(&out, ops); err != nil {
			t.Fatal(err)
		}
		again, err := ReadEDN(&out)
		if err != nil || len(again) != len(ops) {
			t.Fatalf("re-read of written EDN failed: %v (%d vs %d)\n%s", err, len(again), len(ops), out.String())
		}
	})
}
