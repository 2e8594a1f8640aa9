// Package jsonscan is a small JSON scanner specialised for the event
// decoders (Debezium change events, Segment events).
//
// encoding/json decoding into interface values is the dominant cost of an
// event when used directly (reflection, a map per object, and for a change
// event a second map per row to build Row.Fields). The scanner produces
// exactly what json.Decoder with UseNumber would (nil, bool, json.Number,
// string, []any, map[string]any; FuzzJSON checks the equivalence), but it
// also
//
//   - lets a decoder look at an object's members as byte spans first (see
//     Scanner.Members), so the Debezium decoder can tell an envelope from a
//     flat row before building anything, parse a row straight into
//     map[string]Field, and recognise a repeated Connect schema by its bytes
//     without decoding it again;
//   - bounds nesting at MaxDepth, so hostile input cannot drive deep
//     recursion (encoding/json allows 10000 levels).
//
// Nothing here allocates in proportion to a size read from the input: every
// allocation is bounded by the input length.
package jsonscan

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of arrays and objects. Events are shallow: a
// change event is wrapper → envelope → row → column → at most a struct such
// as a VariableScaleDecimal or a map column, a Segment event reaches
// context.traits.address.city in four levels. 64 leaves ample room for JSON
// columns and custom properties decoded as maps while keeping stack use
// small.
const MaxDepth = 64

// syntaxError describes malformed JSON input by byte offset.
type syntaxError struct {
	Offset int
	Msg    string
}

func (e *syntaxError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Scanner reads JSON from Data. Pos is the next byte to read. The zero
// value with Data set scans from the start of Data.
//
// Callers use Data and Pos directly: a decoder keeps the spans that Members,
// RawString and Number report and slices Data with them, and may set Pos
// back to the start of a value it scanned before to read that value again.
// The methods keep Pos within [0, len(Data)] (so Data[start:Pos] is always
// a valid slice), provided a caller only sets it to positions the scanner
// reported. The nesting depth is tracked internally and is back to its
// previous value after every complete value.
type Scanner struct {
	Data  []byte
	Pos   int
	depth int
}

func (s *Scanner) errAt(off int, msg string) error { return &syntaxError{Offset: off, Msg: msg} }

func (s *Scanner) unexpected() error {
	if s.Pos >= len(s.Data) {
		return s.errAt(s.Pos, "unexpected end of input")
	}
	return s.errAt(s.Pos, "unexpected character "+strconv.QuoteRune(rune(s.Data[s.Pos])))
}

// WS skips insignificant whitespace.
func (s *Scanner) WS() {
	for s.Pos < len(s.Data) {
		switch s.Data[s.Pos] {
		case ' ', '\t', '\n', '\r':
			s.Pos++
		default:
			return
		}
	}
}

// Peek returns the next non-space byte without consuming it, 0 at the end.
func (s *Scanner) Peek() byte {
	s.WS()
	if s.Pos < len(s.Data) {
		return s.Data[s.Pos]
	}
	return 0
}

func (s *Scanner) enter() error {
	s.depth++
	if s.depth > MaxDepth {
		return s.errAt(s.Pos, "nesting deeper than "+strconv.Itoa(MaxDepth)+" levels")
	}
	return nil
}

// End checks that only whitespace follows.
func (s *Scanner) End() error {
	s.WS()
	if s.Pos != len(s.Data) {
		return s.errAt(s.Pos, "unexpected data after the JSON value")
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

// RawString scans a string starting at the opening quote: Pos must be at
// it, as after Peek returned '"'. It returns the span of the bytes between
// the quotes and whether they need decoding (escapes or non-ASCII bytes,
// which may be invalid UTF-8).
func (s *Scanner) RawString() (start, end int, slow bool, err error) {
	s.Pos++ // opening quote
	start = s.Pos
	d := s.Data
	for {
		i := s.Pos
		for i < len(d) && strFlags[d[i]] != 1 {
			if strFlags[d[i]] == 2 {
				slow = true
			}
			i++
		}
		s.Pos = i
		if i >= len(d) {
			return 0, 0, false, s.errAt(i, "unterminated string")
		}
		switch d[i] {
		case '"':
			s.Pos++
			return start, i, slow, nil
		case '\\':
			slow = true
			if i+1 >= len(d) {
				return 0, 0, false, s.errAt(i, "unterminated string")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.Pos = i + 2
			case 'u':
				if i+6 > len(d) || !isHex4(d[i+2:i+6]) {
					return 0, 0, false, s.errAt(i, "invalid \\u escape")
				}
				s.Pos = i + 6
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

// Str scans a string starting at the opening quote and returns its decoded
// value.
func (s *Scanner) Str() (string, error) {
	start, end, slow, err := s.RawString()
	if err != nil {
		return "", err
	}
	return DecodeString(s.Data[start:end], slow), nil
}

// DecodeString decodes the validated inner bytes of a string, as reported
// by RawString or Members; slow is their flag (false: b is plain ASCII
// without escapes and is returned as is). Like encoding/json, invalid UTF-8
// bytes and lone surrogates become U+FFFD.
func DecodeString(b []byte, slow bool) string {
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

// Number scans a number per the JSON grammar starting at Pos and returns
// its span in Data.
func (s *Scanner) Number() (start, end int, err error) {
	d := s.Data
	i := s.Pos
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
		s.Pos = i
		return 0, 0, s.unexpected()
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.Pos = i
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
			s.Pos = i
			return 0, 0, s.errAt(i, "invalid number")
		}
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	}
	s.Pos = i
	return start, i, nil
}

// Literal consumes lit (true, false or null) at Pos.
func (s *Scanner) Literal(lit string) error {
	if len(s.Data)-s.Pos < len(lit) || string(s.Data[s.Pos:s.Pos+len(lit)]) != lit {
		return s.errAt(s.Pos, "invalid literal")
	}
	s.Pos += len(lit)
	return nil
}

// Value parses one value the way json.Decoder with UseNumber does.
func (s *Scanner) Value() (any, error) {
	switch c := s.Peek(); c {
	case '{':
		return s.Object()
	case '[':
		return s.Array()
	case '"':
		return s.Str()
	case 't':
		return true, s.Literal("true")
	case 'f':
		return false, s.Literal("false")
	case 'n':
		return nil, s.Literal("null")
	default:
		start, end, err := s.Number()
		if err != nil {
			return nil, err
		}
		return json.Number(s.Data[start:end]), nil
	}
}

// Object parses the object at Pos (after optional whitespace) the way
// json.Decoder with UseNumber does.
func (s *Scanner) Object() (map[string]any, error) {
	m := make(map[string]any)
	err := s.Members(func(ks, ke int, slow bool) error {
		v, err := s.Value()
		if err != nil {
			return err
		}
		m[DecodeString(s.Data[ks:ke], slow)] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Array parses the array at Pos (after optional whitespace) the way
// json.Decoder with UseNumber does: an empty array is []any{}, not nil.
func (s *Scanner) Array() ([]any, error) {
	if s.Peek() != '[' {
		return nil, s.unexpected()
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	s.Pos++ // '['
	a := []any{}
	if s.Peek() == ']' {
		s.Pos++
		s.depth--
		return a, nil
	}
	for {
		v, err := s.Value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		switch s.Peek() {
		case ',':
			s.Pos++
		case ']':
			s.Pos++
			s.depth--
			return a, nil
		default:
			return nil, s.unexpected()
		}
	}
}

// Members walks an object starting at '{'. For each member it calls fn with
// the span of the raw key bytes between the quotes (decode them with
// DecodeString(s.Data[ks:ke], slow)) and the Scanner positioned before the
// value; fn must consume exactly the value.
func (s *Scanner) Members(fn func(ks, ke int, slow bool) error) error {
	if s.Peek() != '{' {
		return s.unexpected()
	}
	if err := s.enter(); err != nil {
		return err
	}
	s.Pos++
	if s.Peek() == '}' {
		s.Pos++
		s.depth--
		return nil
	}
	for {
		if s.Peek() != '"' {
			return s.unexpected()
		}
		ks, ke, slow, err := s.RawString()
		if err != nil {
			return err
		}
		if s.Peek() != ':' {
			return s.unexpected()
		}
		s.Pos++
		if err := fn(ks, ke, slow); err != nil {
			return err
		}
		switch s.Peek() {
		case ',':
			s.Pos++
		case '}':
			s.Pos++
			s.depth--
			return nil
		default:
			return s.unexpected()
		}
	}
}

// Skip validates and skips one value.
func (s *Scanner) Skip() error {
	switch c := s.Peek(); c {
	case '{':
		return s.Members(func(int, int, bool) error { return s.Skip() })
	case '[':
		if err := s.enter(); err != nil {
			return err
		}
		s.Pos++
		if s.Peek() == ']' {
			s.Pos++
			s.depth--
			return nil
		}
		for {
			if err := s.Skip(); err != nil {
				return err
			}
			switch s.Peek() {
			case ',':
				s.Pos++
			case ']':
				s.Pos++
				s.depth--
				return nil
			default:
				return s.unexpected()
			}
		}
	case '"':
		_, _, _, err := s.RawString()
		return err
	case 't':
		return s.Literal("true")
	case 'f':
		return s.Literal("false")
	case 'n':
		return s.Literal("null")
	default:
		_, _, err := s.Number()
		return err
	}
}

// SkipTrusted skips one value of input that is already known to be valid
// JSON (identical to bytes validated before): it only matches brackets and
// strings, which is several times faster than Skip.
//
// On input that is not valid JSON it stops somewhere, at the latest at the
// end of Data, without reporting anything. That makes it usable as a cheap
// guess of a value's extent in unvalidated input, as long as the guess is
// then checked (the Debezium decoder compares the span with schemas it has
// validated before).
func (s *Scanner) SkipTrusted() {
	d := s.Data
	s.WS()
	if s.Pos >= len(d) {
		return
	}
	switch d[s.Pos] {
	case '{', '[':
	case '"':
		s.Pos++
		s.skipStringTail()
		return
	default:
		for s.Pos < len(d) {
			switch d[s.Pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.Pos++
		}
		return
	}
	level := 0
	for s.Pos < len(d) {
		c := d[s.Pos]
		s.Pos++
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

// MemberTrusted finds the member named key in the object at Pos (after
// optional whitespace) of input already known to be valid JSON, for a
// decoder that kept the span of an object instead of building a map, and
// returns the position where the member's value starts. A key that occurs
// more than once finds its last member, the one a map built from the
// object holds. Pos ends after the object.
//
// Values are passed over as by SkipTrusted, so finding a member of a small
// object costs a pass over its bytes and allocates nothing for keys without
// escapes. On input that is not valid JSON the result is meaningless, but
// Pos stays within Data and the method returns.
func (s *Scanner) MemberTrusted(key string) (pos int, ok bool) {
	if s.Peek() != '{' {
		return 0, false
	}
	s.Pos++
	for s.Peek() == '"' {
		ks, ke, slow, err := s.RawString()
		if err != nil {
			return 0, false
		}
		if s.Peek() == ':' {
			s.Pos++
		}
		s.WS()
		if StringEqual(s.Data[ks:ke], slow, key) {
			pos, ok = s.Pos, true
		}
		s.SkipTrusted()
		if s.Peek() == ',' {
			s.Pos++
		}
	}
	if s.Pos < len(s.Data) { // the closing brace
		s.Pos++
	}
	return pos, ok
}

// ElementTrusted finds element i (counting from 0) of the array at Pos
// (after optional whitespace) of input already known to be valid JSON and
// returns the position where it starts; Pos is left there. ok is false if
// the array has no element i or the value at Pos is not an array. Like
// MemberTrusted it only matches brackets and strings, stays within Data and
// returns on any input.
func (s *Scanner) ElementTrusted(i int) (pos int, ok bool) {
	if i < 0 || s.Peek() != '[' {
		return 0, false
	}
	s.Pos++
	if s.Peek() == ']' {
		s.Pos++
		return 0, false
	}
	for n := 0; ; n++ {
		s.WS()
		if n == i {
			return s.Pos, true
		}
		s.SkipTrusted()
		if s.Peek() != ',' {
			return 0, false
		}
		s.Pos++
	}
}

// StringEqual reports whether the string whose validated inner bytes are b
// (as reported by RawString or Members, slow being their flag) decodes to
// str. It allocates only for strings with escapes or invalid UTF-8.
func StringEqual(b []byte, slow bool, str string) bool {
	if !slow || (!hasBackslash(b) && utf8.Valid(b)) {
		return string(b) == str
	}
	return DecodeString(b, true) == str
}

// skipStringTail skips past the closing quote of a trusted string.
func (s *Scanner) skipStringTail() {
	d := s.Data
	i := s.Pos
	for i < len(d) {
		c := d[i]
		i++
		switch c {
		case '\\':
			i++
		case '"':
			s.Pos = i
			return
		}
	}
	// Unterminated, which only untrusted input can be. A final backslash
	// stepped past the end; callers slice Data up to Pos, so stop at it.
	s.Pos = len(d)
}

// Parse parses a whole document the way json.Decoder with UseNumber
// does (Decode followed by a check that only whitespace remains), rejecting
// trailing data and nesting deeper than MaxDepth.
func Parse(data []byte) (any, error) {
	s := Scanner{Data: data}
	v, err := s.Value()
	if err != nil {
		return nil, err
	}
	if err := s.End(); err != nil {
		return nil, err
	}
	return v, nil
}
