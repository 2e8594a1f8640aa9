package debezium

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/internal/jsonscan"
)

func dec(s string) schemas.Value { return schemas.Value{Kind: schemas.KindDecimal, Str: s} }

func micros(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

// rowOf builds a one-column row "c" from JSON text and schema information.
func rowOf(t *testing.T, raw, typ, semantic string, params map[string]string) Row {
	t.Helper()
	v, err := jsonscan.Parse([]byte(raw))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", raw, err)
	}
	return Row{Fields: map[string]Field{"c": {Raw: v, Type: typ, Semantic: semantic, Params: params}}}
}

var scale2 = map[string]string{"scale": "2", "connect.decimal.precision": "10"}

func TestValueConversions(t *testing.T) {
	cases := []struct {
		name     string
		raw      string // JSON
		typ, sem string
		params   map[string]string
		hint     Hint
		want     schemas.Value
	}{
		// Temporal, Debezium semantic types.
		{name: "Date", raw: `16321`, typ: "int32", sem: semDate, want: schemas.Date(16321)}, // 2014-09-08
		{name: "Date before epoch", raw: `-1`, typ: "int32", sem: semDate, want: schemas.Date(-1)},
		{name: "Time ms", raw: `64264780`, typ: "int32", sem: semTime, want: schemas.Int(64264780000)}, // 17:51:04.78
		{name: "MicroTime", raw: `64264780123`, typ: "int64", sem: semMicroTime, want: schemas.Int(64264780123)},
		{name: "NanoTime", raw: `64264780123456`, typ: "int64", sem: semNanoTime, want: schemas.Int(64264780123)},
		{name: "Timestamp ms", raw: `1410198664780`, typ: "int64", sem: semTimestamp, want: schemas.Timestamp(1410198664780000)},
		{name: "MicroTimestamp", raw: `1529507596945104`, typ: "int64", sem: semMicroTimestamp, want: schemas.Timestamp(1529507596945104)},
		{name: "MicroTimestamp infinity", raw: `9223372036825200000`, typ: "int64", sem: semMicroTimestamp, want: schemas.Timestamp(9223372036825200000)},
		{name: "NanoTimestamp", raw: `1529507596945104123`, typ: "int64", sem: semNanoTimestamp, want: schemas.Timestamp(1529507596945104)},
		{name: "NanoTimestamp before epoch", raw: `-1`, typ: "int64", sem: semNanoTimestamp, want: schemas.Timestamp(-1)},
		{name: "ZonedTimestamp +00:00 ns", raw: `"2011-01-11T16:40:30.123456789+00:00"`, typ: "string", sem: semZonedTimestamp,
			want: schemas.Timestamp(micros("2011-01-11T16:40:30.123456Z"))},
		{name: "ZonedTimestamp Z", raw: `"2018-06-20T13:37:03Z"`, typ: "string", sem: semZonedTimestamp,
			want: schemas.Timestamp(micros("2018-06-20T13:37:03Z"))},
		{name: "ZonedTimestamp offset", raw: `"2018-06-20T15:37:03.5+02:00"`, typ: "string", sem: semZonedTimestamp,
			want: schemas.Timestamp(micros("2018-06-20T13:37:03.5Z"))},
		{name: "ZonedTimestamp legacy no offset", raw: `"2014-09-08T17:51:04.78"`, typ: "string", sem: semZonedTimestamp,
			want: schemas.Timestamp(1410198664780000)},
		{name: "ZonedTimestamp infinity", raw: `"infinity"`, typ: "string", sem: semZonedTimestamp, want: schemas.Timestamp(positiveInfinityMicros)},
		{name: "IsoDate", raw: `"2018-06-20"`, typ: "string", sem: semIsoDate, want: schemas.Date(17702)},
		{name: "IsoDate with offset", raw: `"2018-06-20Z"`, typ: "string", sem: semIsoDate, want: schemas.Date(17702)},
		{name: "IsoDate before epoch", raw: `"1969-12-31"`, typ: "string", sem: semIsoDate, want: schemas.Date(-1)},
		{name: "IsoTimestamp", raw: `"2018-06-20T13:37:03.123456"`, typ: "string", sem: semIsoTimestamp,
			want: schemas.Timestamp(micros("2018-06-20T13:37:03.123456Z"))},
		{name: "IsoTime", raw: `"13:37:03.5"`, typ: "string", sem: semIsoTime, want: schemas.Int(13*3600e6 + 37*60e6 + 3.5e6)},
		{name: "IsoTime with offset", raw: `"13:37:03Z"`, typ: "string", sem: semIsoTime, want: schemas.Int(13*3600e6 + 37*60e6 + 3e6)},
		// time.precision.mode=connect.
		{name: "connect Date", raw: `17702`, typ: "int32", sem: semConnectDate, want: schemas.Date(17702)},
		{name: "connect Time", raw: `1000`, typ: "int32", sem: semConnectTime, want: schemas.Int(1000000)},
		{name: "connect Timestamp", raw: `1529501823000`, typ: "int64", sem: semConnectTs, want: schemas.Timestamp(1529501823000000)},

		// Decimals: formats.md §1.6 worked examples (scale 2).
		{name: "Decimal 1234.50", raw: `"AeI6"`, typ: "bytes", sem: semDecimal, params: scale2, want: dec("1234.50")},
		{name: "Decimal 19.99", raw: `"B88="`, typ: "bytes", sem: semDecimal, params: scale2, want: dec("19.99")},
		{name: "Decimal -1.00", raw: `"nA=="`, typ: "bytes", sem: semDecimal, params: scale2, want: dec("-1.00")},
		{name: "Decimal 0.00", raw: `"AA=="`, typ: "bytes", sem: semDecimal, params: scale2, want: dec("0.00")},
		{name: "Decimal 12345.67 (legacy fixture)", raw: `"EtaH"`, typ: "bytes", sem: semDecimal, params: map[string]string{"scale": "2"}, want: dec("12345.67")},
		{name: "Decimal unpadded base64", raw: `"B88"`, typ: "bytes", sem: semDecimal, params: scale2, want: dec("19.99")},
		{name: "Decimal scale 0", raw: `"AeI6"`, typ: "bytes", sem: semDecimal, params: map[string]string{"scale": "0"}, want: dec("123450")},
		{name: "Decimal negative scale", raw: `"Ag=="`, typ: "bytes", sem: semDecimal, params: map[string]string{"scale": "-3"}, want: dec("2000")},
		{name: "Decimal scale from hint", raw: `"AeI6"`, typ: "bytes", sem: semDecimal, hint: Hint{Scale: 2}, want: dec("1234.50")},
		{name: "Decimal via hint, no schema", raw: `"B88="`, hint: Hint{Semantic: semDecimal, Scale: 2}, want: dec("19.99")},
		{name: "Decimal numeric format", raw: `12.5`, typ: "bytes", sem: semDecimal, params: scale2, want: dec("12.50")},
		{name: "Decimal numeric exponent", raw: `1.25E+1`, typ: "bytes", sem: semDecimal, params: scale2, want: dec("12.50")},
		{name: "Decimal numeric trailing zeros", raw: `12.500`, typ: "bytes", sem: semDecimal, params: scale2, want: dec("12.50")},
		{name: "decimal.handling.mode=string", raw: `"12.50"`, typ: "string", want: schemas.String("12.50")},
		{name: "decimal.handling.mode=double", raw: `12.5`, typ: "double", want: schemas.Float(12.5)},
		{name: "VariableScaleDecimal", raw: `{"scale":2,"value":"AeI6"}`, typ: "struct", sem: semVarDecimal, want: dec("1234.50")},
		{name: "VariableScaleDecimal scale 0", raw: `{"scale":0,"value":"nA=="}`, typ: "struct", sem: semVarDecimal, want: dec("-100")},

		// Literal types.
		{name: "int8", raw: `-128`, typ: "int8", want: schemas.Int(-128)},
		{name: "int32", raw: `1004`, typ: "int32", want: schemas.Int(1004)},
		{name: "int64 max", raw: `9223372036854775807`, typ: "int64", want: schemas.Int(math.MaxInt64)},
		{name: "float", raw: `1.5`, typ: "float", want: schemas.Float(1.5)},
		{name: "double integer text", raw: `3`, typ: "double", want: schemas.Float(3)},
		{name: "double Infinity", raw: `"Infinity"`, typ: "double", want: schemas.Float(math.Inf(1))},
		{name: "boolean", raw: `true`, typ: "boolean", want: schemas.Bool(true)},
		{name: "string", raw: `"Anne"`, typ: "string", want: schemas.String("Anne")},
		{name: "Json", raw: `"{\"a\":1}"`, typ: "string", sem: "io.debezium.data.Json", want: schemas.String(`{"a":1}`)},
		{name: "Uuid", raw: `"0e4d5dcd-a33b-11ea-80f1-02010a22a99e"`, typ: "string", sem: "io.debezium.data.Uuid", want: schemas.String("0e4d5dcd-a33b-11ea-80f1-02010a22a99e")},
		{name: "Enum", raw: `"gold"`, typ: "string", sem: "io.debezium.data.Enum", params: map[string]string{"allowed": "silver,gold"}, want: schemas.String("gold")},
		{name: "bytes stay base64 text", raw: `"AAEC"`, typ: "bytes", want: schemas.String("AAEC")},
		{name: "struct column as JSON text", raw: `{"y":2,"x":1}`, typ: "struct", sem: "pg.public.Address", want: schemas.String(`{"x":1,"y":2}`)},
		{name: "map column as JSON text", raw: `{"k":"<v>"}`, typ: "map", want: schemas.String(`{"k":"<v>"}`)},
		{name: "Year passes through", raw: `2024`, typ: "int32", sem: "io.debezium.time.Year", want: schemas.Int(2024)},

		// No schema, no hint: plain JSON typing.
		{name: "plain string", raw: `"x"`, want: schemas.String("x")},
		{name: "plain integer", raw: `42`, want: schemas.Int(42)},
		{name: "plain negative integer", raw: `-42`, want: schemas.Int(-42)},
		{name: "plain float", raw: `4.25`, want: schemas.Float(4.25)},
		{name: "plain exponent is a float", raw: `1e3`, want: schemas.Float(1000)},
		{name: "plain integer beyond int64", raw: `18446744073709551615`, want: schemas.Float(18446744073709551615)},
		{name: "plain bool", raw: `false`, want: schemas.Bool(false)},
		{name: "plain object", raw: `{"b":[1,"two"],"a":null}`, want: schemas.String(`{"a":null,"b":[1,"two"]}`)},
		{name: "plain array", raw: `[1,2.5]`, want: schemas.String(`[1,2.5]`)},
		{name: "null", raw: `null`, typ: "int64", sem: semMicroTimestamp, want: schemas.Null},

		// Hints.
		{name: "hint MicroTimestamp", raw: `1529507596945104`, hint: Hint{Semantic: semMicroTimestamp}, want: schemas.Timestamp(1529507596945104)},
		{name: "hint Date", raw: `17702`, hint: Hint{Semantic: semDate}, want: schemas.Date(17702)},
		{name: "hint ZonedTimestamp", raw: `"2018-06-20T13:37:03Z"`, hint: Hint{Semantic: semZonedTimestamp}, want: schemas.Timestamp(micros("2018-06-20T13:37:03Z"))},
		{name: "hint on a plain schema column", raw: `1529501823000`, typ: "int64", hint: Hint{Semantic: semConnectTs}, want: schemas.Timestamp(1529501823000000)},
		{name: "schema semantic beats hint", raw: `17702`, typ: "int32", sem: semDate, hint: Hint{Semantic: semMicroTimestamp}, want: schemas.Date(17702)},
		{name: "pass-through hint", raw: `"{}"`, hint: Hint{Semantic: "io.debezium.data.Json"}, want: schemas.String("{}")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rowOf(t, tc.raw, tc.typ, tc.sem, tc.params)
			got, present, err := r.Value("c", tc.hint)
			if err != nil || !present {
				t.Fatalf("Value = %v, %v, %v", got, present, err)
			}
			if got != tc.want && !(got.Kind == schemas.KindFloat && math.IsNaN(got.Float) && math.IsNaN(tc.want.Float)) {
				t.Errorf("Value = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValueNaN(t *testing.T) {
	got, _, err := rowOf(t, `"NaN"`, "double", "", nil).Value("c", Hint{})
	if err != nil || got.Kind != schemas.KindFloat || !math.IsNaN(got.Float) {
		t.Errorf("NaN double = %v, %v", got, err)
	}
}

func TestValueErrors(t *testing.T) {
	cases := []struct {
		name     string
		raw      string
		typ, sem string
		params   map[string]string
		hint     Hint
		contains string
	}{
		{name: "Date given a string", raw: `"2014-09-08"`, typ: "int32", sem: semDate, contains: "want an integer"},
		{name: "Date given a fraction", raw: `1.5`, typ: "int32", sem: semDate, contains: "want an integer"},
		{name: "Date out of int32", raw: `4294967296`, typ: "int32", sem: semDate, contains: "out of range"},
		{name: "Timestamp overflow", raw: `9223372036854775807`, typ: "int64", sem: semTimestamp, contains: "out of range"},
		{name: "ZonedTimestamp garbage", raw: `"yesterday"`, typ: "string", sem: semZonedTimestamp, contains: "ISO-8601"},
		{name: "ZonedTimestamp number", raw: `1529507596945`, typ: "string", sem: semZonedTimestamp, contains: "want a string"},
		{name: "IsoDate garbage", raw: `"2018-06-20junk"`, typ: "string", sem: semIsoDate, contains: "ISO-8601 date"},
		{name: "IsoTime garbage", raw: `"25:00"`, typ: "string", sem: semIsoTime, contains: "ISO-8601 time"},
		{name: "Decimal bad base64", raw: `"!!!"`, typ: "bytes", sem: semDecimal, params: scale2, contains: "not base64"},
		{name: "Decimal no bytes", raw: `""`, typ: "bytes", sem: semDecimal, params: scale2, contains: "no bytes"},
		{name: "Decimal bool", raw: `true`, typ: "bytes", sem: semDecimal, params: scale2, contains: "want base64"},
		{name: "Decimal bad scale parameter", raw: `"AA=="`, typ: "bytes", sem: semDecimal, params: map[string]string{"scale": "two"}, contains: "scale parameter"},
		{name: "Decimal huge scale", raw: `"AA=="`, typ: "bytes", sem: semDecimal, params: map[string]string{"scale": "2000000000"}, contains: "out of range"},
		{name: "Decimal too long", raw: `"` + strings.Repeat("AAAA", 1000) + `"`, typ: "bytes", sem: semDecimal, params: scale2, contains: "too long"},
		{name: "Decimal numeric too long", raw: strings.Repeat("9", 3000), typ: "bytes", sem: semDecimal, params: scale2, contains: "too long"},
		{name: "Decimal string mode too long", raw: `"` + strings.Repeat("9", 3000) + `"`, typ: "string", sem: semDecimal, params: scale2, contains: "too long"},
		{name: "Decimal numeric loses digits", raw: `12.345`, typ: "bytes", sem: semDecimal, params: scale2, contains: "fraction digits"},
		{name: "Decimal numeric huge exponent", raw: `1e999999999`, typ: "bytes", sem: semDecimal, params: scale2, contains: "exponent"},
		{name: "Decimal string mode not a number", raw: `"abc"`, typ: "string", sem: semDecimal, params: scale2, contains: "invalid decimal"},
		{name: "VariableScaleDecimal not a struct", raw: `"AeI6"`, typ: "struct", sem: semVarDecimal, contains: "struct"},
		{name: "VariableScaleDecimal no scale", raw: `{"value":"AeI6"}`, typ: "struct", sem: semVarDecimal, contains: "scale"},
		{name: "VariableScaleDecimal huge scale", raw: `{"scale":99999,"value":"AeI6"}`, typ: "struct", sem: semVarDecimal, contains: "out of range"},
		{name: "VariableScaleDecimal bad value", raw: `{"scale":2,"value":5}`, typ: "struct", sem: semVarDecimal, contains: "want base64"},
		{name: "int8 overflow", raw: `300`, typ: "int8", contains: "out of range for int8"},
		{name: "int64 given a string", raw: `"5"`, typ: "int64", contains: "want an integer"},
		{name: "int64 beyond range", raw: `9223372036854775808`, typ: "int64", contains: "want an integer"},
		{name: "boolean given a string", raw: `"true"`, typ: "boolean", contains: "want a boolean"},
		{name: "double given a word", raw: `"many"`, typ: "double", contains: "want a number"},
		{name: "string given a number", raw: `5`, typ: "string", contains: "want a string"},
		{name: "unknown hint", raw: `5`, hint: Hint{Semantic: "io.debezium.time.Bogus"}, contains: "unsupported type hint"},
		{name: "hint Decimal on decimal text", raw: `"12.50"`, hint: Hint{Semantic: semDecimal, Scale: 2}, contains: "not base64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rowOf(t, tc.raw, tc.typ, tc.sem, tc.params)
			got, present, err := r.Value("c", tc.hint)
			if err == nil {
				t.Fatalf("Value = %v, want an error", got)
			}
			if !present || got != schemas.Null {
				t.Errorf("on error got %v, present %v; want null, present", got, present)
			}
			if !strings.Contains(err.Error(), `column "c"`) || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q should name the column and mention %q", err, tc.contains)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Errorf("conversion error wraps ErrUnavailable: %v", err)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	c := mustDecode(t, envelope("u", "null", `{"id":7,"bio":"__debezium_unavailable_value","tags":["__debezium_unavailable_value"],
	  "photo":"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==","custom":"__debezium_unavailable_value_v2","note":null,"email":"x@y.z"}`))
	r := c.After
	for _, col := range []string{"bio", "tags", "photo", "custom"} {
		if !r.Unavailable(col) {
			t.Errorf("Unavailable(%q) = false", col)
		}
		v, present, err := r.Value(col, Hint{})
		if !errors.Is(err, ErrUnavailable) || !present || v != schemas.Null {
			t.Errorf("Value(%q) = %v, %v, %v; want null, present, ErrUnavailable", col, v, present, err)
		}
		if err != nil && !strings.Contains(err.Error(), col) {
			t.Errorf("error %q does not name the column", err)
		}
	}
	// The placeholder wins over a schema type it does not fit.
	r2 := rowOf(t, `"__debezium_unavailable_value"`, "int64", semMicroTimestamp, nil)
	if _, _, err := r2.Value("c", Hint{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("typed placeholder: err = %v", err)
	}
	for _, col := range []string{"id", "note", "email", "missing"} {
		if r.Unavailable(col) {
			t.Errorf("Unavailable(%q) = true", col)
		}
	}
	if v, present, err := r.Value("note", Hint{}); v != schemas.Null || !present || err != nil {
		t.Errorf("null column = %v, %v, %v", v, present, err)
	}
	if v, present, err := r.Value("missing", Hint{}); v != schemas.Null || present || err != nil {
		t.Errorf("missing column = %v, %v, %v", v, present, err)
	}
}

func TestKnownSemantic(t *testing.T) {
	for _, s := range []string{semDate, semMicroTimestamp, semZonedTimestamp, semDecimal, semVarDecimal, "io.debezium.data.Json"} {
		if !KnownSemantic(s) {
			t.Errorf("KnownSemantic(%q) = false", s)
		}
	}
	for _, s := range []string{"", "io.debezium.time.Bogus", "pg.public.customers.Value"} {
		if KnownSemantic(s) {
			t.Errorf("KnownSemantic(%q) = true", s)
		}
	}
}
