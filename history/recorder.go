package history

import (
	"sync"
	"time"
)

// Recorder stamps ops with their place in the history and records them. The
// lab's clients and nemesis all record through one Recorder, so indices are
// dense and increasing and times are monotonic in index order. It is safe for
// concurrent use.
type Recorder struct {
	mu    sync.Mutex
	start time.Time
	w     *Writer
	next  int64
	keep  bool
	ops   []Op
}

// NewRecorder returns a Recorder whose clock starts now and which appends to
// w. With keep, it also keeps every op in memory for Ops. w may be nil
// (keep-only recording, for tests).
func NewRecorder(w *Writer, keep bool) *Recorder {
	return &Recorder{start: time.Now(), w: w, keep: keep}
}

// Start returns the instant op times are measured from.
func (r *Recorder) Start() time.Time { return r.start }

// Record sets op.Index to the next index and op.Time to the nanoseconds since
// Start (monotonic clock), appends it to the Writer and returns the stamped
// op. The op is stamped even when writing fails; the error says why.
func (r *Recorder) Record(op Op) (Op, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Index = r.next
	r.next++
	op.Time = int64(time.Since(r.start))
	if r.keep {
		r.ops = append(r.ops, op)
	}
	if r.w == nil {
		return op, nil
	}
	return op, r.w.Write(op)
}

// Ops returns a copy of the recorded ops when the Recorder keeps them, else nil.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}
