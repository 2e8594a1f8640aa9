package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// stdParse is the reference: json.Decoder with UseNumber, one document.
func stdParse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

// A Debezium change event (Postgres update) and a Segment track event, so
// the fuzzer starts from the shapes the decoders see.
const (
	changeEventSeed = `{"op":"u","ts_ms":1700000000999,"source":{"version":"3.7.0.Final","connector":"postgresql","name":"pg","ts_ms":1700000000123,
 "ts_us":1700000000123456,"ts_ns":1700000000123456000,"snapshot":"false","db":"shop",
 "sequence":"[\"100\",\"200\"]","schema":"public","table":"customers","txId":771,"lsn":33554432,"xmin":null},` +
		`"before":{"id":7,"email":"ann@example.com","balance":"AeI6","updated_at":1700000000123456,"birthday":7000},` +
		`"after":{"id":7,"email":"ann@example.com","balance":"AeI6","updated_at":1700000000123456,"birthday":7000}}`
	segmentEventSeed = `{"type":"track","event":"Order Completed","userId":97980,"properties":{"total":27.5,
 "products":[{"sku":"45790-32","price":19.99,"tags":[]}]},"context":{"traits":{"email":"peter@example.com"},
 "locale":"en-US","page":{"path":"/checkout"}},"timestamp":"2024-05-01T10:00:00.123Z"}`
)

var jsonSeeds = []string{
	`null`, `true`, `false`, `0`, `-0`, `-1.5e-3`, `1E+2`, `12345678901234567890123`, `""`, `"a"`,
	`"\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, "\"\xff\xfe\"", "\"\xe2\x82\"",
	`[]`, `{}`, `[1,[2,[3]]]`, `{"a":{"b":[{"c":null}]}}`, `{"a":1,"a":2}`, ` { "k" : [ 1 , "x" ] } `,
	`01`, `1.`, `.5`, `-`, `1e`, `tru`, `nul`, `[1,]`, `{"a":1,}`, `{"a"}`, `{1:2}`, `"\x"`, "\"a\x01\"", `"\u12"`,
	`[1] [2]`, `{} x`, "\xef\xbb\xbf{}", `"abc`, `[`, `{"a":`, `"\`, `["\`, `{"a":"\`,
}

func TestParseMatchesEncodingJSON(t *testing.T) {
	for _, in := range jsonSeeds {
		compareWithStd(t, []byte(in))
	}
}

// exact returns a copy of data whose capacity is its length, so that
// slicing past the end panics instead of reading spare capacity.
func exact(data []byte) []byte {
	return append([]byte(nil), data...)[:len(data):len(data)]
}

func compareWithStd(t *testing.T, data []byte) {
	t.Helper()
	data = exact(data)
	got, err := Parse(data)
	want, stdErr := stdParse(data)
	var se *syntaxError
	if err != nil && errors.As(err, &se) && strings.Contains(se.Msg, "nesting deeper") {
		return // encoding/json allows deeper nesting on purpose
	}
	if (err == nil) != (stdErr == nil) {
		t.Fatalf("input %q: Parse err %v, encoding/json err %v", data, err, stdErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("input %q: Parse %#v, encoding/json %#v", data, got, want)
	}
	// The validating skip must agree with the parser.
	s := Scanner{Data: data}
	skipErr := s.Skip()
	if skipErr == nil {
		skipErr = s.End()
	}
	if (skipErr == nil) != (err == nil) {
		t.Fatalf("input %q: Skip err %v, Parse err %v", data, skipErr, err)
	}
	// On valid input the trusted skip must land where the validating one
	// does; on any input it must stay within the data, because callers
	// slice Data up to Pos (the Debezium schema cache does so on
	// unvalidated input).
	a, b := Scanner{Data: data}, Scanner{Data: data}
	_ = a.Skip()
	b.SkipTrusted()
	if b.Pos < 0 || b.Pos > len(data) {
		t.Fatalf("input %q: SkipTrusted ends at %d, outside the data", data, b.Pos)
	}
	_ = data[:b.Pos]
	if err == nil && a.Pos != b.Pos {
		t.Fatalf("input %q: Skip ends at %d, SkipTrusted at %d", data, a.Pos, b.Pos)
	}
	compareTrustedLookups(t, data, got, err == nil, a.Pos)
}

// compareTrustedLookups checks MemberTrusted and ElementTrusted against
// the parsed value v of data (valid tells whether data parsed; end is where
// the value ends): every member and element is found with its value (the
// last of a repeated key), nothing else is, and MemberTrusted ends after
// the object. On invalid input they must return and stay within the data.
func compareTrustedLookups(t *testing.T, data []byte, v any, valid bool, end int) {
	t.Helper()
	valueAt := func(pos int) any {
		s := Scanner{Data: data, Pos: pos}
		v, err := s.Value()
		if err != nil {
			t.Fatalf("input %q: value at %d: %v", data, pos, err)
		}
		return v
	}
	if !valid {
		for _, key := range []string{"a", ""} {
			s := Scanner{Data: data}
			if pos, _ := s.MemberTrusted(key); s.Pos < 0 || s.Pos > len(data) || pos < 0 || pos > len(data) {
				t.Fatalf("input %q: MemberTrusted at %d, Pos %d, outside the data", data, pos, s.Pos)
			}
		}
		for i := range 3 {
			s := Scanner{Data: data}
			if pos, _ := s.ElementTrusted(i); s.Pos < 0 || s.Pos > len(data) || pos < 0 || pos > len(data) {
				t.Fatalf("input %q: ElementTrusted at %d, Pos %d, outside the data", data, pos, s.Pos)
			}
		}
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for key, want := range x {
			s := Scanner{Data: data}
			pos, ok := s.MemberTrusted(key)
			if !ok || !reflect.DeepEqual(valueAt(pos), want) {
				t.Fatalf("input %q: MemberTrusted(%q) = %d, %v; want the value %#v", data, key, pos, ok, want)
			}
			if s.Pos != end {
				t.Fatalf("input %q: MemberTrusted ends at %d, the object at %d", data, s.Pos, end)
			}
		}
		s := Scanner{Data: data}
		if _, ok := s.MemberTrusted("no such key"); ok {
			t.Fatalf("input %q: MemberTrusted found a missing key", data)
		}
	case []any:
		for i, want := range x {
			s := Scanner{Data: data}
			pos, ok := s.ElementTrusted(i)
			if !ok || !reflect.DeepEqual(valueAt(pos), want) {
				t.Fatalf("input %q: ElementTrusted(%d) = %d, %v; want the value %#v", data, i, pos, ok, want)
			}
		}
		for _, i := range []int{len(x), -1} {
			s := Scanner{Data: data}
			if _, ok := s.ElementTrusted(i); ok {
				t.Fatalf("input %q: ElementTrusted(%d) found an element", data, i)
			}
		}
	default:
		s := Scanner{Data: data}
		if _, ok := s.MemberTrusted(""); ok {
			t.Fatalf("input %q: MemberTrusted found a member of a non-object", data)
		}
		s = Scanner{Data: data}
		if _, ok := s.ElementTrusted(0); ok {
			t.Fatalf("input %q: ElementTrusted found an element of a non-array", data)
		}
	}
}

func TestTrustedLookups(t *testing.T) {
	data := []byte(` { "a" : 1 , "b\u0061" : [ 2 , { "c" : 3 } ] , "a" : "last" , "caf\u00e9" : true, "x\"y" : null } `)
	for _, tc := range []struct {
		key  string
		want any
		ok   bool
	}{
		{"a", "last", true},
		{"ba", []any{json.Number("2"), map[string]any{"c": json.Number("3")}}, true},
		{"café", true, true},
		{`x"y`, nil, true},
		{"b", nil, false},
		{"", nil, false},
	} {
		s := Scanner{Data: data}
		pos, ok := s.MemberTrusted(tc.key)
		if ok != tc.ok {
			t.Errorf("MemberTrusted(%q) ok = %v", tc.key, ok)
			continue
		}
		if ok {
			vs := Scanner{Data: data, Pos: pos}
			if v, err := vs.Value(); err != nil || !reflect.DeepEqual(v, tc.want) {
				t.Errorf("MemberTrusted(%q): value %#v, %v; want %#v", tc.key, v, err, tc.want)
			}
		}
	}
	arr := []byte(`[ 10 , [ ] , "x" ]`)
	for i, want := range []any{json.Number("10"), []any{}, "x", nil} {
		s := Scanner{Data: arr}
		pos, ok := s.ElementTrusted(i)
		if want == nil {
			if ok {
				t.Errorf("ElementTrusted(%d) found %d", i, pos)
			}
			continue
		}
		vs := Scanner{Data: arr, Pos: pos}
		if v, err := vs.Value(); !ok || err != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("ElementTrusted(%d) = %#v, %v, %v; want %#v", i, v, ok, err, want)
		}
	}
}

func TestStringEqual(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		slow bool
		str  string
		want bool
	}{
		{`plain`, false, "plain", true},
		{`plain`, false, "plain2", false},
		{`caf\u00e9`, true, "café", true},
		{"caf\xc3\xa9", true, "café", true},
		{"bad\xff", true, "bad\uFFFD", true},
		{"bad\xff", true, "bad\xff", false},
		{`a\"b`, true, `a"b`, true},
	} {
		if got := StringEqual([]byte(tc.raw), tc.slow, tc.str); got != tc.want {
			t.Errorf("StringEqual(%q, %v, %q) = %v", tc.raw, tc.slow, tc.str, got)
		}
	}
}

func TestParseDepth(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Parse([]byte(ok)); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	bad := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Errorf("depth %d: err = %v", MaxDepth+1, err)
	}
	obj := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	if _, err := Parse([]byte(obj)); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Errorf("objects %d deep: err = %v", MaxDepth+1, err)
	}
}

// TestSkipTrustedTrailingBackslash is the regression test for a string
// ending in a backslash at the end of the input: SkipTrusted used to step
// one byte past the end, and slicing Data up to Pos then panicked.
func TestSkipTrustedTrailingBackslash(t *testing.T) {
	for _, in := range []string{`"\`, `{"a":"\`, `["\`, `"ab\`} {
		s := Scanner{Data: exact([]byte(in))}
		s.SkipTrusted()
		if s.Pos != len(in) {
			t.Errorf("SkipTrusted(%q) ends at %d, want %d", in, s.Pos, len(in))
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{``, "invalid JSON at offset 0: unexpected end of input"},
		{`{} x`, "invalid JSON at offset 3: unexpected data after the JSON value"},
		{`[1,]`, "invalid JSON at offset 3: unexpected character ']'"},
		{`{"a" 1}`, "invalid JSON at offset 5: unexpected character '1'"},
		{`"a`, "invalid JSON at offset 2: unterminated string"},
	} {
		if _, err := Parse([]byte(tc.in)); err == nil || err.Error() != tc.msg {
			t.Errorf("Parse(%q) error %v, want %q", tc.in, err, tc.msg)
		}
	}
}

// TestExportedEntryPoints checks Object, Array and Members reject a value
// of the wrong kind rather than misreading it.
func TestExportedEntryPoints(t *testing.T) {
	s := Scanner{Data: []byte(` [1]`)}
	if _, err := s.Object(); err == nil {
		t.Error("Object accepted an array")
	}
	s = Scanner{Data: []byte(` {}`)}
	if _, err := s.Array(); err == nil {
		t.Error("Array accepted an object")
	}
	s = Scanner{Data: []byte(` [ 1 , {"a":[]} ] `)}
	if v, err := s.Array(); err != nil || !reflect.DeepEqual(v, []any{json.Number("1"), map[string]any{"a": []any{}}}) {
		t.Errorf("Array = %#v, %v", v, err)
	}
	if err := s.End(); err != nil {
		t.Error(err)
	}
}

func TestDecodeString(t *testing.T) {
	for _, tc := range []struct {
		in   string
		slow bool
		want string
	}{
		{`plain`, false, "plain"},
		{`caf\u00e9`, true, "café"},
		{"caf\xc3\xa9", true, "café"},
		{"bad\xff", true, "bad\uFFFD"},
		{`\ud83d\ude00 \ud800`, true, "😀 \uFFFD"},
		{`a\"b\\c\/d\n`, true, "a\"b\\c/d\n"},
	} {
		if got := DecodeString([]byte(tc.in), tc.slow); got != tc.want {
			t.Errorf("DecodeString(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzJSON checks the scanner against encoding/json: same acceptance, same
// values, and Skip/SkipTrusted agree with it.
func FuzzJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(changeEventSeed))
	f.Add([]byte(segmentEventSeed))
	f.Fuzz(func(t *testing.T, data []byte) {
		compareWithStd(t, data)
	})
}

func BenchmarkParse(b *testing.B) {
	for _, in := range []struct{ name, data string }{
		{"change-event", changeEventSeed},
		{"segment-event", segmentEventSeed},
	} {
		data := []byte(in.data)
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
