package debezium

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small JSON scanner specialised for change events.
//
// encoding/json decoding into interface values is the dominant cost of a
// change event when used directly (reflection, a map per object, a second
// map per row to build Row.Fields). The scanner produces exactly what
// json.Decoder with UseNumber would (nil, bool, json.Number, string, []any,
// map[string]any; FuzzJSON checks the equivalence), but it also
//
//   - lets the decoder look at an object's members as byte spans first, so it
//     can tell an envelope from a flat row before building anything, parse a
//     row straight into map[string]Field, and recognise a repeated Connect
//     schema by its bytes without decoding it again;
//   - bounds nesting at maxDepth, so hostile input cannot drive deep
//     recursion (encoding/json allows 10000 levels).
//
// Nothing here allocates in proportion to a size read from the input: every
// allocation is bounded by the input length.

// maxDepth bounds the nesting of arrays and objects. Change events are
// shallow (wrapper → envelope → row → column → at most a struct such as a
// VariableScaleDecimal or a map column), so 64 leaves ample room for JSON
// columns decoded as maps while keeping stack use small.
const maxDepth = 64

// syntaxError describes malformed JSON input by byte offset.
type syntaxError struct {
	Offset int
	Msg    string
}

func (e *syntaxError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// scanner reads JSON from data. pos is the next byte to read; depth the
// current nesting.
type scanner struct {
	data  []byte
	pos   int
	depth int
}

func (s *scanner) errAt(off int, msg string) error { return &syntaxError{Offset: off, Msg: msg} }

func (s *scanner) unexpected() error {
	if s.pos >= len(s.data) {
		return s.errAt(s.pos, "unexpected end of input")
	}
	return s.errAt(s.pos, "unexpected character "+strconv.QuoteRune(rune(s.data[s.pos])))
}

// ws skips insignificant whitespace.
func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) enter() error {
	s.depth++
	if s.depth > maxDepth {
		return s.errAt(s.pos, "nesting deeper than "+strconv.Itoa(maxDepth)+" levels")
	}
	return nil
}

// end checks that only whitespace follows.
func (s *scanner) end() error {
	s.ws()
	if s.pos != len(s.data) {
		return s.errAt(s.pos, "unexpected data after the JSON value")
	}
	return nil
}

// strFlags classifies bytes inside a string: 1 ends the fast path (quote,
// backslash, control character), 2 marks a non-ASCII byte.
var strFlags = func() (t [256]uint8) {
	for i := 0; i < 0x20; i++ {
		t[i] = 1
	}
	t['"'], t['\\'] = 1, 1
	for i := 0x80; i < 0x100; i++ {
		t[i] = 2
	}
	return t
}()

// rawString scans a string starting at the opening quote. It returns the
// span of the bytes between the quotes and whether they need decoding
// (escapes or non-ASCII bytes, which may be invalid UTF-8).
func (s *scanner) rawString() (start, end int, slow bool, err error) {
	s.pos++ // opening quote
	start = s.pos
	d := s.data
	for {
		i := s.pos
		for i < len(d) && strFlags[d[i]] != 1 {
			if strFlags[d[i]] == 2 {
				slow = true
			}
			i++
		}
		s.pos = i
		if i >= len(d) {
			return 0, 0, false, s.errAt(i, "unterminated string")
		}
		switch d[i] {
		case '"':
			s.pos++
			return start, i, slow, nil
		case '\\':
			slow = true
			if i+1 >= len(d) {
				return 0, 0, false, s.errAt(i, "unterminated string")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos = i + 2
			case 'u':
				if i+6 > len(d) || !isHex4(d[i+2:i+6]) {
					return 0, 0, false, s.errAt(i, "invalid \\u escape")
				}
				s.pos = i + 6
			default:
				return 0, 0, false, s.errAt(i, "invalid escape character")
			}
		default:
			return 0, 0, false, s.errAt(i, "control character in string")
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// str scans a string and returns its decoded value.
func (s *scanner) str() (string, error) {
	start, end, slow, err := s.rawString()
	if err != nil {
		return "", err
	}
	return decodeString(s.data[start:end], slow), nil
}

// decodeString decodes the validated inner bytes of a string. Like
// encoding/json, invalid UTF-8 bytes and lone surrogates become U+FFFD.
func decodeString(b []byte, slow bool) string {
	if !slow || (!hasBackslash(b) && utf8.Valid(b)) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\\':
			switch b[i+1] {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := hex4(b[i+2 : i+6])
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, hex4(b[i+2:i+6])); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
				continue
			default: // '"', '\\', '/'
				out = append(out, b[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, b[i:i+size]...)
			}
			i += size
		}
	}
	return string(out)
}

func hasBackslash(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// number scans a number per the JSON grammar and returns its span.
func (s *scanner) number() (start, end int, err error) {
	d := s.data
	i := s.pos
	start = i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return 0, 0, s.unexpected()
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return 0, 0, s.errAt(i, "invalid number")
		}
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return 0, 0, s.errAt(i, "invalid number")
		}
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return start, i, nil
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.errAt(s.pos, "invalid literal")
	}
	s.pos += len(lit)
	return nil
}

// value parses one value the way json.Decoder with UseNumber does.
func (s *scanner) value() (any, error) {
	switch c := s.peek(); c {
	case '{':
		return s.object()
	case '[':
		return s.array()
	case '"':
		return s.str()
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	case 'n':
		return nil, s.literal("null")
	default:
		start, end, err := s.number()
		if err != nil {
			return nil, err
		}
		return json.Number(s.data[start:end]), nil
	}
}

func (s *scanner) object() (map[string]any, error) {
	m := make(map[string]any)
	err := s.members(func(ks, ke int, slow bool) error {
		v, err := s.value()
		if err != nil {
			return err
		}
		m[decodeString(s.data[ks:ke], slow)] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (s *scanner) array() ([]any, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	s.pos++ // '['
	a := []any{}
	if s.peek() == ']' {
		s.pos++
		s.depth--
		return a, nil
	}
	for {
		v, err := s.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return a, nil
		default:
			return nil, s.unexpected()
		}
	}
}

// members walks an object starting at '{'. For each member it calls fn with
// the span of the raw key bytes between the quotes (decode them with
// decodeString(s.data[ks:ke], slow)) and the scanner positioned before the
// value; fn must consume exactly the value.
func (s *scanner) members(fn func(ks, ke int, slow bool) error) error {
	if s.peek() != '{' {
		return s.unexpected()
	}
	if err := s.enter(); err != nil {
		return err
	}
	s.pos++
	if s.peek() == '}' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.unexpected()
		}
		ks, ke, slow, err := s.rawString()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.unexpected()
		}
		s.pos++
		if err := fn(ks, ke, slow); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.depth--
			return nil
		default:
			return s.unexpected()
		}
	}
}

// skip validates and skips one value.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '{':
		return s.members(func(int, int, bool) error { return s.skip() })
	case '[':
		if err := s.enter(); err != nil {
			return err
		}
		s.pos++
		if s.peek() == ']' {
			s.pos++
			s.depth--
			return nil
		}
		for {
			if err := s.skip(); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.pos++
			case ']':
				s.pos++
				s.depth--
				return nil
			default:
				return s.unexpected()
			}
		}
	case '"':
		_, _, _, err := s.rawString()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, _, err := s.number()
		return err
	}
}

// skipTrusted skips one value of input that is already known to be valid
// JSON (identical to bytes validated before): it only matches brackets and
// strings, which is several times faster than skip.
func (s *scanner) skipTrusted() {
	d := s.data
	s.ws()
	if s.pos >= len(d) {
		return
	}
	switch d[s.pos] {
	case '{', '[':
	case '"':
		s.pos++
		s.skipStringTail()
		return
	default:
		for s.pos < len(d) {
			switch d[s.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.pos++
		}
		return
	}
	level := 0
	for s.pos < len(d) {
		c := d[s.pos]
		s.pos++
		switch c {
		case '{', '[':
			level++
		case '}', ']':
			level--
			if level == 0 {
				return
			}
		case '"':
			s.skipStringTail()
		}
	}
}

// skipStringTail skips past the closing quote of a trusted string.
func (s *scanner) skipStringTail() {
	d := s.data
	for s.pos < len(d) {
		c := d[s.pos]
		s.pos++
		switch c {
		case '\\':
			s.pos++
		case '"':
			return
		}
	}
}

// parseJSON parses a whole document the way json.Decoder with UseNumber
// does, rejecting trailing data and nesting deeper than maxDepth.
func parseJSON(data []byte) (any, error) {
	s := scanner{data: data}
	v, err := s.value()
	if err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return v, nil
}
