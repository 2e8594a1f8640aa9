package schemas

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"
)

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x07\x1f\t\n\r", "bad \xff utf8", "\u2028\u2029", "ünïcødé 😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendJSONString(nil, s)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON for %q: %s", s, b)
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip %q -> %s -> %q", s, b, back)
		}
	})
}

func TestAppendJSONValues(t *testing.T) {
	cases := map[Value]string{
		Null:                              `null`,
		String("a\"b"):                    `"a\"b"`,
		Int(-42):                          `-42`,
		Float(1.5):                        `1.5`,
		Float(math.NaN()):                 `null`,
		Bool(true):                        `true`,
		{Kind: KindDecimal, Str: "12.50"}: `"12.50"`,
		Timestamp(1_700_000_000_123_456):  `"2023-11-14T22:13:20.123456Z"`,
		Date(19000):                       `"2022-01-08"`,
		{Kind: KindDecimal, Str: "-0.05"}: `"-0.05"`,
		String("tab\there"):               `"tab\there"`,
		String(string([]byte{'a', 0xff})): `"a\ufffd"`,
		String("\x07"):                    `"\u0007"`,
	}
	for v, want := range cases {
		if got := string(v.AppendJSON(nil)); got != want {
			t.Errorf("%v: got %s, want %s", v, got, want)
		}
	}
}

func TestDecimalArithmetic(t *testing.T) {
	a, err := ParseDecimal("10.005")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Rescale(2).String(); got != "10.01" {
		t.Errorf("rescale half away from zero: %s", got)
	}
	n, _ := ParseDecimal("-10.005")
	if got := n.Rescale(2).String(); got != "-10.01" {
		t.Errorf("negative rescale: %s", got)
	}
	b, _ := ParseDecimal("0.5")
	if got := a.Add(b).String(); got != "10.505" {
		t.Errorf("add: %s", got)
	}
	if a.Cmp(b) <= 0 || b.Cmp(a) >= 0 {
		t.Error("compare")
	}
	for _, bad := range []string{"", "-", ".", "1e5", "1.2.3", "abc"} {
		if _, err := ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", bad)
		}
	}
	if Compare(Value{Kind: KindDecimal, Str: "9.99"}, Value{Kind: KindDecimal, Str: "10.00"}) >= 0 {
		t.Error("decimals compare as text")
	}
}
