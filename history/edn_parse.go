package history

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A small reader for the subset of EDN that Jepsen histories use: nil,
// booleans, integers (with optional N), floats (with optional M), strings,
// characters, keywords, symbols, lists, vectors, maps, sets, tagged elements
// (the tag is dropped: #jepsen.history.Op{...} reads as its map), comments
// and #_ discards. Ratios read as floats.

type ednKeyword string // without the leading colon
type ednSymbol string

type ednPair struct{ k, v any }
type ednMap []ednPair

func (m ednMap) get(name string) (any, bool) {
	for _, p := range m {
		if k, ok := p.k.(ednKeyword); ok && string(k) == name {
			return p.v, true
		}
	}
	return nil, false
}

const ednMaxDepth = 512

type ednReader struct {
	s    string
	pos  int
	line int
}

type ednError struct {
	line int
	msg  string
}

func (e *ednError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func (r *ednReader) fail(format string, args ...any) error {
	return &ednError{line: r.line, msg: fmt.Sprintf(format, args...)}
}

func isEDNSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '\f'
}

func isEDNDelim(c byte) bool {
	return isEDNSpace(c) || strings.IndexByte("()[]{}\";", c) >= 0
}

// skip moves past whitespace, commas and comments.
func (r *ednReader) skip() {
	for r.pos < len(r.s) {
		c := r.s[r.pos]
		switch {
		case c == '\n':
			r.line++
			r.pos++
		case isEDNSpace(c):
			r.pos++
		case c == ';':
			for r.pos < len(r.s) && r.s[r.pos] != '\n' {
				r.pos++
			}
		default:
			return
		}
	}
}

var errEDNEnd = errors.New("end of input")

// next reads one value. It returns errEDNEnd at the end of input.
func (r *ednReader) next(depth int) (any, error) {
	if depth > ednMaxDepth {
		return nil, r.fail("nested deeper than %d", ednMaxDepth)
	}
	r.skip()
	if r.pos >= len(r.s) {
		return nil, errEDNEnd
	}
	c := r.s[r.pos]
	switch c {
	case '(':
		r.pos++
		return r.seq(')', depth)
	case '[':
		r.pos++
		return r.seq(']', depth)
	case '{':
		r.pos++
		items, err := r.seq('}', depth)
		if err != nil {
			return nil, err
		}
		return pairs(r, items)
	case ')', ']', '}':
		return nil, r.fail("unexpected %q", c)
	case '"':
		return r.str()
	case ':':
		r.pos++
		tok := r.token()
		if tok == "" {
			return nil, r.fail("empty keyword")
		}
		return ednKeyword(tok), nil
	case '\\':
		r.pos++
		if r.pos >= len(r.s) {
			return nil, r.fail("character literal cut short")
		}
		start := r.pos
		_, n := utf8.DecodeRuneInString(r.s[r.pos:])
		r.pos += n
		for r.pos < len(r.s) && !isEDNDelim(r.s[r.pos]) {
			r.pos++
		}
		switch name := r.s[start:r.pos]; name {
		case "newline":
			return "\n", nil
		case "space":
			return " ", nil
		case "tab":
			return "\t", nil
		case "return":
			return "\r", nil
		default:
			return name, nil
		}
	case '#':
		r.pos++
		if r.pos >= len(r.s) {
			return nil, r.fail("# at end of input")
		}
		switch r.s[r.pos] {
		case '{':
			r.pos++
			return r.seq('}', depth)
		case '_':
			r.pos++
			if _, err := r.next(depth + 1); err != nil {
				if err == errEDNEnd {
					return nil, r.fail("#_ at end of input")
				}
				return nil, err
			}
			return r.next(depth)
		}
		tag := r.token()
		if tag == "" {
			return nil, r.fail("bad # dispatch")
		}
		v, err := r.next(depth + 1)
		if err == errEDNEnd {
			return nil, r.fail("tag #%s without a value", tag)
		}
		return v, err
	}
	tok := r.token()
	if tok == "" {
		return nil, r.fail("unexpected %q", c)
	}
	return atom(r, tok)
}

func (r *ednReader) token() string {
	start := r.pos
	for r.pos < len(r.s) && !isEDNDelim(r.s[r.pos]) {
		r.pos++
	}
	return r.s[start:r.pos]
}

func (r *ednReader) seq(end byte, depth int) ([]any, error) {
	items := []any{}
	for {
		r.skip()
		if r.pos >= len(r.s) {
			return nil, r.fail("missing %q", end)
		}
		if r.s[r.pos] == end {
			r.pos++
			return items, nil
		}
		v, err := r.next(depth + 1)
		if err != nil {
			if err == errEDNEnd {
				return nil, r.fail("missing %q", end)
			}
			return nil, err
		}
		items = append(items, v)
	}
}

func pairs(r *ednReader, items []any) (ednMap, error) {
	if len(items)%2 != 0 {
		return nil, r.fail("map with an odd number of forms")
	}
	m := make(ednMap, 0, len(items)/2)
	for i := 0; i < len(items); i += 2 {
		m = append(m, ednPair{items[i], items[i+1]})
	}
	return m, nil
}

func (r *ednReader) str() (any, error) {
	r.pos++ // opening quote
	var b strings.Builder
	for r.pos < len(r.s) {
		c := r.s[r.pos]
		switch c {
		case '"':
			r.pos++
			return b.String(), nil
		case '\n':
			r.line++
		case '\\':
			r.pos++
			if r.pos >= len(r.s) {
				return nil, r.fail("string cut short")
			}
			switch e := r.s[r.pos]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\':
				b.WriteByte(e)
			case 'u':
				if r.pos+4 >= len(r.s) {
					return nil, r.fail("bad \\u escape")
				}
				n, err := strconv.ParseUint(r.s[r.pos+1:r.pos+5], 16, 32)
				if err != nil {
					return nil, r.fail("bad \\u escape")
				}
				b.WriteRune(rune(n))
				r.pos += 4
			default:
				b.WriteByte(e)
			}
			r.pos++
			continue
		}
		b.WriteByte(c)
		r.pos++
	}
	return nil, r.fail("string without closing quote")
}

func atom(r *ednReader, tok string) (any, error) {
	switch tok {
	case "nil":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	c := tok[0]
	if c >= '0' && c <= '9' || (len(tok) > 1 && (c == '-' || c == '+') && tok[1] >= '0' && tok[1] <= '9') {
		return number(r, tok)
	}
	return ednSymbol(tok), nil
}

func number(r *ednReader, tok string) (any, error) {
	t := strings.TrimSuffix(tok, "N")
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return n, nil
	}
	if i := strings.IndexByte(t, '/'); i > 0 {
		a, err1 := strconv.ParseFloat(t[:i], 64)
		b, err2 := strconv.ParseFloat(t[i+1:], 64)
		if err1 == nil && err2 == nil && b != 0 {
			return a / b, nil
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(t, "M"), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, r.fail("bad number %q", tok)
	}
	return f, nil
}
