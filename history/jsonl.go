package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Writer appends ops to a JSON Lines file, one op per line, as they happen.
// Each Write reaches the operating system before it returns (one write call
// per op), so a crash of the lab loses at most the line being written; Close
// syncs the file to disk. A Writer is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	f   *os.File
	buf bytes.Buffer
	err error // first write error; later writes return it
}

// NewWriter creates (or truncates) the file at path and returns a Writer
// appending to it.
func NewWriter(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("history: create %s: %w", path, err)
	}
	return &Writer{f: f}, nil
}

// Write appends one op as a JSON line and hands it to the operating system.
func (w *Writer) Write(op Op) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.f == nil {
		return errors.New("history: write to a closed Writer")
	}
	w.buf.Reset()
	if err := encodeJSONLine(&w.buf, op); err != nil {
		return err // a bad op value; the file is unharmed
	}
	if _, err := w.f.Write(w.buf.Bytes()); err != nil {
		w.err = fmt.Errorf("history: write %s: %w", w.f.Name(), err)
		return w.err
	}
	return nil
}

// Sync commits what was written so far to stable storage.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	return w.f.Sync()
}

// Close syncs and closes the file. Closing twice is harmless.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	serr := f.Sync()
	cerr := f.Close()
	if serr != nil {
		return fmt.Errorf("history: sync %s: %w", f.Name(), serr)
	}
	if cerr != nil {
		return fmt.Errorf("history: close %s: %w", f.Name(), cerr)
	}
	return w.err
}

func encodeJSONLine(buf *bytes.Buffer, op Op) error {
	b, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("history: encode op %d: %w", op.Index, err)
	}
	buf.Write(b)
	buf.WriteByte('\n')
	return nil
}

// WriteJSONL writes ops to w as JSON Lines, the format of Writer.
func WriteJSONL(w io.Writer, ops []Op) error {
	bw := bufio.NewWriter(w)
	var buf bytes.Buffer
	for _, op := range ops {
		buf.Reset()
		if err := encodeJSONLine(&buf, op); err != nil {
			return err
		}
		if _, err := bw.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("history: write: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("history: write: %w", err)
	}
	return nil
}

// ReadFile reads a JSON Lines history file written by Writer. See Read.
func ReadFile(path string) ([]Op, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	ops, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ops, nil
}

// Read reads a JSON Lines history: one op object per line; blank lines are
// skipped. A last line that does not end in a newline and does not parse is
// taken to be a write cut short by a crash and is ignored, so a history from
// a crashed run stays checkable. Any other malformed line is an error naming
// its line number. Numbers in values are read as int64 when integral, and a
// list of integers as []int64, so Int and Ints work on the result.
func Read(r io.Reader) ([]Op, error) {
	var ops []Op
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("history: line %d: %w", line, err)
		}
		complete := len(b) > 0 && b[len(b)-1] == '\n'
		if len(bytes.TrimSpace(b)) > 0 {
			op, perr := ParseJSONLine(b)
			switch {
			case perr == nil:
				ops = append(ops, op)
			case !complete && err == io.EOF:
				// Truncated last line: a crash mid-write. Ignore it.
			default:
				return nil, fmt.Errorf("history: line %d: %w", line, perr)
			}
		}
		if err == io.EOF {
			return ops, nil
		}
	}
}

// ParseJSONLine parses one JSON Lines record into an Op and checks it (see
// Op.Validate).
func ParseJSONLine(b []byte) (Op, error) {
	var op Op
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&op); err != nil {
		return Op{}, fmt.Errorf("not a JSON op: %w", err)
	}
	if dec.More() {
		return Op{}, errors.New("more than one JSON value on the line")
	}
	op.Value = normalize(op.Value)
	if err := op.Validate(); err != nil {
		return Op{}, err
	}
	return op, nil
}

// Validate checks what every consumer relies on: a known type, an f and a
// process that is a client number or the nemesis.
func (o Op) Validate() error {
	switch o.Type {
	case Invoke, OK, Fail, Info:
	case "":
		return errors.New(`op has no "type" (want invoke, ok, fail or info)`)
	default:
		return fmt.Errorf("op type %q is not invoke, ok, fail or info", o.Type)
	}
	if o.F == "" {
		return errors.New(`op has no "f"`)
	}
	if o.Process < Nemesis {
		return fmt.Errorf("process %d is negative", o.Process)
	}
	return nil
}

// normalize turns decoded JSON values into the forms Op documents: integral
// numbers become int64, other numbers float64, lists of integers []int64.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
		return x
	case int:
		return int64(x)
	case []any:
		ints := make([]int64, 0, len(x))
		allInts := true
		for i, e := range x {
			x[i] = normalize(e)
			if n, ok := x[i].(int64); ok && allInts {
				ints = append(ints, n)
			} else {
				allInts = false
			}
		}
		if allInts {
			return ints
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	}
	return v
}
