package debezium

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

var jsonSeeds = []string{
	`null`, `true`, `false`, `0`, `-0`, `-1.5e-3`, `1E+2`, `12345678901234567890123`, `""`, `"a"`,
	`"\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, "\"\xff\xfe\"", "\"\xe2\x82\"",
	`[]`, `{}`, `[1,[2,[3]]]`, `{"a":{"b":[{"c":null}]}}`, `{"a":1,"a":2}`, ` { "k" : [ 1 , "x" ] } `,
	`01`, `1.`, `.5`, `-`, `1e`, `tru`, `nul`, `[1,]`, `{"a":1,}`, `{"a"}`, `{1:2}`, `"\x"`, "\"a\x01\"", `"\u12"`,
	`[1] [2]`, `{} x`, "\xef\xbb\xbf{}", `"abc`, `[`, `{"a":`,
}

func TestParseJSONMatchesEncodingJSON(t *testing.T) {
	for _, in := range jsonSeeds {
		compareWithStd(t, []byte(in))
	}
}

func compareWithStd(t *testing.T, data []byte) {
	t.Helper()
	got, err := parseJSON(data)
	want, stdErr := stdParse(data)
	var se *syntaxError
	if err != nil && errors.As(err, &se) && strings.Contains(se.Msg, "nesting deeper") {
		return // encoding/json allows deeper nesting on purpose
	}
	if (err == nil) != (stdErr == nil) {
		t.Fatalf("input %q: parseJSON err %v, encoding/json err %v", data, err, stdErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("input %q: parseJSON %#v, encoding/json %#v", data, got, want)
	}
	// The validating skip must agree with the parser.
	s := scanner{data: data}
	skipErr := s.skip()
	if skipErr == nil {
		skipErr = s.end()
	}
	if (skipErr == nil) != (err == nil) {
		t.Fatalf("input %q: skip err %v, parse err %v", data, skipErr, err)
	}
	// On valid input the trusted skip must land where the validating one does.
	if err == nil {
		a, b := scanner{data: data}, scanner{data: data}
		_ = a.skip()
		b.skipTrusted()
		if a.pos != b.pos {
			t.Fatalf("input %q: skip ends at %d, skipTrusted at %d", data, a.pos, b.pos)
		}
	}
}

func TestParseJSONDepth(t *testing.T) {
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if _, err := parseJSON([]byte(ok)); err != nil {
		t.Errorf("depth %d: %v", maxDepth, err)
	}
	bad := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, err := parseJSON([]byte(bad)); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Errorf("depth %d: err = %v", maxDepth+1, err)
	}
}

// FuzzJSON checks the scanner against encoding/json: same acceptance, same
// values, and skip/skipTrusted agree with it.
func FuzzJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(envelope("u", pgRow, pgRow)))
	f.Fuzz(func(t *testing.T, data []byte) {
		compareWithStd(t, data)
	})
}
