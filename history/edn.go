package history

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Jepsen interop: history.edn as written by Jepsen, one op map per line, e.g.
//
//	{:index 0, :time 1234, :type :invoke, :process 0, :f :cas, :value [1 2]}
//	{:index 7, :time 9876, :type :info, :process :nemesis, :f :start-partition, :value [:isolated {...}]}
//
// Mapping to Op:
//   - :process N is Process(N); :process :nemesis is Nemesis.
//   - :type and :f are keywords (or strings); :f :txn etc. pass through as F.
//   - Independent keys (jepsen.independent): every client value is a [k v]
//     tuple. Whether a history uses them is decided by its first client op
//     that tells (a write or add of [k v] rather than an integer, a read
//     invocation of [k nil] rather than nil, a cas of [k [old new]] rather
//     than [old new]). k becomes Op.Key (an integer key as its decimal text).
//   - A cas value [old new] becomes []int64{old, new}; an :ok cas gets OK=true.
//   - An :info or :fail completion whose value is not a value of its f (say
//     :timed-out) keeps that text in Error and takes the invocation's value,
//     which is what was attempted.
//   - :error becomes Error: a keyword by its name, a string as is, anything
//     else as EDN text. :node becomes Node.
//   - Keywords elsewhere become strings, integer vectors []int64, other
//     vectors []any, maps map[string]any (keys by name or EDN text).
//   - A missing :index is the op's position.
//
// WriteEDN writes the same shape. One convention goes beyond Jepsen: an ok
// cas whose comparison failed (OK=false) is written as Jepsen records it, a
// :fail (so Jepsen's checkers drop it, which is sound), with :error
// :cas-compare-failed; ReadEDN turns exactly that back into OK=false.

// CASCompareFailed is the EDN :error of a cas whose comparison failed.
const CASCompareFailed = "cas-compare-failed"

// ReadEDNFile reads a Jepsen history.edn file. See ReadEDN.
func ReadEDNFile(path string) ([]Op, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	ops, err := ReadEDN(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ops, nil
}

// ReadEDN reads a Jepsen EDN history: a sequence of op maps (one per line as
// Jepsen writes them, or inside one vector). Errors name the line.
func ReadEDN(r io.Reader) ([]Op, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("history: read edn: %w", err)
	}
	rd := &ednReader{s: string(b), line: 1}
	type rawOp struct {
		m    ednMap
		line int
	}
	var raws []rawOp
	for {
		rd.skip()
		line := rd.line
		v, err := rd.next(0)
		if err == errEDNEnd {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("history: edn %w", err)
		}
		switch x := v.(type) {
		case ednMap:
			raws = append(raws, rawOp{x, line})
		case []any:
			for _, e := range x {
				m, ok := e.(ednMap)
				if !ok {
					return nil, fmt.Errorf("history: edn line %d: expected op maps in the list, got %s", line, ednText(e))
				}
				raws = append(raws, rawOp{m, line})
			}
		default:
			return nil, fmt.Errorf("history: edn line %d: expected an op map, got %s", line, ednText(v))
		}
	}
	ops := make([]Op, len(raws))
	indep := false
	decided := false
	for i, raw := range raws {
		op, err := ednOp(raw.m, int64(i))
		if err != nil {
			return nil, fmt.Errorf("history: edn line %d: %w", raw.line, err)
		}
		ops[i] = op
		if !decided && !op.IsNemesis() {
			if d, ok := decidesIndependent(op); ok {
				indep, decided = d, true
			}
		}
	}
	pending := map[Process]*Op{} // last invocation per process
	for i := range ops {
		op := &ops[i]
		if op.IsNemesis() {
			op.Value = ednToGo(op.Value)
			continue
		}
		var inv *Op
		if op.Type == Invoke {
			pending[op.Process] = op
		} else {
			inv = pending[op.Process]
			delete(pending, op.Process)
		}
		if err := fixClientOp(op, inv, indep); err != nil {
			return nil, fmt.Errorf("history: edn line %d: %w", raws[i].line, err)
		}
	}
	return ops, nil
}

// ednOp reads the fields of one op map; Value stays raw EDN.
func ednOp(m ednMap, pos int64) (Op, error) {
	op := Op{Index: pos}
	if v, ok := m.get("index"); ok && v != nil {
		n, ok := v.(int64)
		if !ok {
			return op, fmt.Errorf(":index must be an integer, got %s", ednText(v))
		}
		op.Index = n
	}
	if v, ok := m.get("time"); ok && v != nil {
		n, ok := v.(int64)
		if !ok {
			return op, fmt.Errorf(":time must be an integer, got %s", ednText(v))
		}
		op.Time = n
	}
	t, _ := m.get("type")
	op.Type = Type(ednName(t))
	f, _ := m.get("f")
	op.F = ednName(f)
	p, ok := m.get("process")
	switch x := p.(type) {
	case int64:
		if x < 0 || x > math.MaxInt32 {
			return op, fmt.Errorf(":process %d out of range", x)
		}
		op.Process = Process(x)
	case ednKeyword, ednSymbol, string:
		if ednName(x) != "nemesis" {
			return op, fmt.Errorf(":process must be an integer or :nemesis, got %s", ednText(x))
		}
		op.Process = Nemesis
	default:
		if !ok {
			return op, fmt.Errorf("op has no :process")
		}
		return op, fmt.Errorf(":process must be an integer or :nemesis, got %s", ednText(x))
	}
	op.Value, _ = m.get("value")
	if e, ok := m.get("error"); ok && e != nil {
		op.Error = ednName(e)
	}
	if n, ok := m.get("node"); ok && n != nil {
		op.Node = ednName(n)
	}
	if err := op.Validate(); err != nil {
		return op, err
	}
	return op, nil
}

// ednName is a keyword's or symbol's name, a string itself, anything else
// its EDN text.
func ednName(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case ednKeyword:
		return string(x)
	case ednSymbol:
		return string(x)
	case string:
		return x
	}
	return ednText(v)
}

func isPair(v any) ([]any, bool) {
	x, ok := v.([]any)
	return x, ok && len(x) == 2
}

// decidesIndependent reports, when op tells, whether its value is a [k v]
// tuple of jepsen.independent.
func decidesIndependent(op Op) (indep bool, decisive bool) {
	if op.Type != Invoke && op.Type != OK {
		return false, false
	}
	switch op.F {
	case FWrite, FAdd:
		if _, ok := op.Value.(int64); ok {
			return false, true
		}
		if _, ok := isPair(op.Value); ok {
			return true, true
		}
	case FRead:
		if op.Type == Invoke {
			if op.Value == nil {
				return false, true
			}
			if _, ok := isPair(op.Value); ok {
				return true, true
			}
		}
	case FCAS:
		if p, ok := isPair(op.Value); ok {
			if _, ok := isPair(p[1]); ok {
				return true, true
			}
			return false, true
		}
	}
	return false, false
}

func ednKey(k any) string {
	switch x := k.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ednName(k)
}

// isErrorValue reports whether v cannot be a value of a client op (a
// keyword, string or map: Jepsen's way of putting an error in :value).
func isErrorValue(v any) bool {
	switch v.(type) {
	case ednKeyword, ednSymbol, string, ednMap:
		return true
	}
	return false
}

func fixClientOp(op, inv *Op, indep bool) error {
	raw := op.Value
	if indep && raw != nil {
		if p, ok := isPair(raw); ok {
			op.Key = ednKey(p[0])
			raw = p[1]
		} else if op.Type == Invoke || op.Type == OK {
			return fmt.Errorf("expected a [key value] tuple (jepsen.independent), got %s", ednText(raw))
		}
	}
	if (op.Type == Info || op.Type == Fail) && isErrorValue(raw) {
		if op.Error == "" {
			op.Error = ednName(raw)
		}
		raw = nil
		if inv != nil && inv.F == op.F {
			op.Value = inv.Value
			if op.Key == "" {
				op.Key = inv.Key
			}
			raw = nil
			return finishCAS(op)
		}
	}
	if indep && raw == nil && op.Key == "" && inv != nil && op.Type != Invoke {
		op.Key = inv.Key
	}
	op.Value = ednToGo(raw)
	return finishCAS(op)
}

func finishCAS(op *Op) error {
	if op.F != FCAS {
		return nil
	}
	switch {
	case op.Type == OK:
		t := true
		op.OK = &t
	case op.Type == Fail && op.Error == CASCompareFailed:
		f := false
		op.Type, op.OK, op.Error = OK, &f, ""
	}
	return nil
}

// ednToGo converts parsed EDN to the value forms of Op.
func ednToGo(v any) any {
	switch x := v.(type) {
	case ednKeyword:
		return string(x)
	case ednSymbol:
		return string(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ednToGo(e)
		}
		return normalize(out)
	case ednMap:
		m := make(map[string]any, len(x))
		for _, p := range x {
			m[ednName(p.k)] = ednToGo(p.v)
		}
		return m
	}
	return v
}

// WriteEDNFile writes ops to path as a Jepsen history.edn. See WriteEDN.
func WriteEDNFile(path string, ops []Op) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if err := WriteEDN(f, ops); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// WriteEDN writes ops as Jepsen EDN, one op map per line. When any client op
// has a Key, client values are written as jepsen.independent [k v] tuples
// (an integer-looking key as an integer).
func WriteEDN(w io.Writer, ops []Op) error {
	indep := false
	for _, op := range ops {
		if !op.IsNemesis() && op.Key != "" {
			indep = true
			break
		}
	}
	bw := bufio.NewWriter(w)
	var b strings.Builder
	for _, op := range ops {
		b.Reset()
		typ, errText := string(op.Type), op.Error
		errKeyword := false
		if op.F == FCAS && op.Type == OK && op.OK != nil && !*op.OK {
			typ, errText, errKeyword = string(Fail), CASCompareFailed, true
		}
		fmt.Fprintf(&b, "{:index %d, :time %d, :type %s, :process ", op.Index, op.Time, ednKeywordText(typ))
		if op.IsNemesis() {
			b.WriteString(":nemesis")
		} else {
			b.WriteString(strconv.Itoa(int(op.Process)))
		}
		b.WriteString(", :f ")
		b.WriteString(ednKeywordText(op.F))
		b.WriteString(", :value ")
		if indep && !op.IsNemesis() {
			b.WriteByte('[')
			if op.Key == "" {
				b.WriteString("nil")
			} else if n, err := strconv.ParseInt(op.Key, 10, 64); err == nil && strconv.FormatInt(n, 10) == op.Key {
				b.WriteString(op.Key)
			} else {
				b.WriteString(strconv.Quote(op.Key))
			}
			b.WriteByte(' ')
			writeEDNValue(&b, op.Value)
			b.WriteByte(']')
		} else {
			writeEDNValue(&b, op.Value)
		}
		if op.Node != "" {
			b.WriteString(", :node ")
			b.WriteString(strconv.Quote(op.Node))
		}
		if errText != "" {
			b.WriteString(", :error ")
			if errKeyword {
				b.WriteString(":" + errText)
			} else {
				b.WriteString(strconv.Quote(errText))
			}
		}
		b.WriteString("}\n")
		if _, err := bw.WriteString(b.String()); err != nil {
			return fmt.Errorf("history: write edn: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("history: write edn: %w", err)
	}
	return nil
}

// ednKeywordText writes s as a keyword when it is a plain name, else as a
// string (ReadEDN accepts both).
func ednKeywordText(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\r,()[]{}\";:#\\'`~@^") || (s[0] >= '0' && s[0] <= '9') {
		return strconv.Quote(s)
	}
	return ":" + s
}

func writeEDNValue(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			b.WriteString("nil")
			return
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		b.WriteString(s)
	case string:
		b.WriteString(strconv.Quote(x))
	case []int64:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatInt(e, 10))
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeEDNValue(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(' ')
			writeEDNValue(b, x[k])
		}
		b.WriteByte('}')
	default:
		b.WriteString(strconv.Quote(fmt.Sprint(x)))
	}
}

// ednText renders a parsed EDN value for error messages.
func ednText(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case ednKeyword:
		return ":" + string(x)
	case ednSymbol:
		return string(x)
	case string:
		return strconv.Quote(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = ednText(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case ednMap:
		parts := make([]string, 0, 2*len(x))
		for _, p := range x {
			parts = append(parts, ednText(p.k), ednText(p.v))
		}
		return "{" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprint(v)
}
