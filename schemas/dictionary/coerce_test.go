package dictionary

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/schemas"
)

// attr parses a one-attribute dictionary and returns the attribute, named x
// unless def says otherwise. Going through Parse tests the normalizer and
// validator functions exactly as the pipeline builds them.
func attr(t *testing.T, def string) *Attribute {
	t.Helper()
	f := mustParse(t, "attributes:\n  x: "+def+"\n")
	return f.Attributes["x"]
}

func ts(s string) schemas.Value {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return schemas.TimestampOf(t)
}

func date(s string) schemas.Value {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return schemas.Date(t.Unix() / 86400)
}

func dec(s string) schemas.Value { return schemas.Value{Kind: schemas.KindDecimal, Str: s} }

type coerceCase struct {
	def  string        // attribute definition (YAML flow mapping)
	in   schemas.Value // input
	want schemas.Value // expected output when err is ""
	err  string        // expected error (exact) when not ""
}

func runCoerce(t *testing.T, cases []coerceCase) {
	t.Helper()
	for _, tc := range cases {
		name := tc.def + " " + tc.in.String()
		t.Run(name, func(t *testing.T) {
			a := attr(t, tc.def)
			got, err := a.Coerce(tc.in)
			switch {
			case tc.err != "" && err == nil:
				t.Fatalf("Coerce(%v) = %v, want error %q", tc.in, got, tc.err)
			case tc.err != "" && err.Error() != tc.err:
				t.Fatalf("Coerce(%v) error\n got  %s\n want %s", tc.in, err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("Coerce(%v): %v", tc.in, err)
			case tc.err == "" && got != tc.want:
				t.Fatalf("Coerce(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestCoerceToString(t *testing.T) {
	d := "{type: string}"
	runCoerce(t, []coerceCase{
		{d, schemas.String("a"), schemas.String("a"), ""},
		{d, schemas.Int(-42), schemas.String("-42"), ""},
		{d, schemas.Float(1.5), schemas.String("1.5"), ""},
		{d, schemas.Bool(true), schemas.String("true"), ""},
		{d, dec("1.50"), schemas.String("1.50"), ""},
		{d, ts("2024-05-01T12:30:00.5Z"), schemas.String("2024-05-01T12:30:00.5Z"), ""},
		{d, date("2024-05-01"), schemas.String("2024-05-01"), ""},
		{d, schemas.Null, schemas.Null, ""},
	})
}

func TestCoerceToInt(t *testing.T) {
	d := "{type: int}"
	runCoerce(t, []coerceCase{
		{d, schemas.Int(7), schemas.Int(7), ""},
		{d, schemas.Float(3), schemas.Int(3), ""},
		{d, schemas.Float(-3), schemas.Int(-3), ""},
		{d, schemas.Float(3.5), schemas.Null, `x: "3.5" has a fractional part; int needs a whole number`},
		{d, schemas.Float(1e19), schemas.Null, `x: "1e+19" is out of range for int`},
		{d, schemas.Float(math.NaN()), schemas.Null, `x: "NaN" is not a finite number`},
		{d, dec("42.00"), schemas.Int(42), ""},
		{d, dec("-42"), schemas.Int(-42), ""},
		{d, dec("42.50"), schemas.Null, `x: "42.50" has a fractional part; int needs a whole number`},
		{d, dec("99999999999999999999"), schemas.Null, `x: "99999999999999999999" is out of range for int`},
		{d, schemas.String("42"), schemas.Int(42), ""},
		{d, schemas.String(" -7 "), schemas.Int(-7), ""},
		{d, schemas.String("+7"), schemas.Int(7), ""},
		{d, schemas.String("42.0"), schemas.Int(42), ""},
		{d, schemas.String("4.2e1"), schemas.Int(42), ""},
		{d, schemas.String("9223372036854775807"), schemas.Int(math.MaxInt64), ""},
		{d, schemas.String("9223372036854775808"), schemas.Null, `x: "9223372036854775808" is out of range for int`},
		{d, schemas.String("abc"), schemas.Null, `x: "abc" is not an integer`},
		{d, schemas.String(""), schemas.Null, `x: "" is not an integer`},
		{d, schemas.String("0x10"), schemas.Null, `x: "0x10" is not an integer`},
		{d, schemas.Bool(true), schemas.Null, `x: bool "true" cannot be converted to int`},
		{d, ts("2024-05-01T00:00:00Z"), schemas.Null, `x: timestamp "2024-05-01T00:00:00Z" cannot be converted to int`},
		{d, schemas.Null, schemas.Null, ""},
	})
}

func TestCoerceToFloat(t *testing.T) {
	d := "{type: float}"
	runCoerce(t, []coerceCase{
		{d, schemas.Float(1.25), schemas.Float(1.25), ""},
		{d, schemas.Int(2), schemas.Float(2), ""},
		{d, dec("1.25"), schemas.Float(1.25), ""},
		{d, schemas.String("1e3"), schemas.Float(1000), ""},
		{d, schemas.String(" -0.5 "), schemas.Float(-0.5), ""},
		{d, schemas.String(".5"), schemas.Float(0.5), ""},
		{d, schemas.String("NaN"), schemas.Null, `x: "NaN" is not a number`},
		{d, schemas.String("Inf"), schemas.Null, `x: "Inf" is not a number`},
		{d, schemas.String("1e400"), schemas.Null, `x: "1e400" is out of range for float`},
		{d, schemas.String("one"), schemas.Null, `x: "one" is not a number`},
		{d, schemas.Float(math.Inf(1)), schemas.Null, `x: "+Inf" is not a finite number`},
		{d, schemas.Bool(false), schemas.Null, `x: bool "false" cannot be converted to float`},
		{d, date("2024-05-01"), schemas.Null, `x: date "2024-05-01" cannot be converted to float`},
	})
}

func TestCoerceToBool(t *testing.T) {
	d := "{type: bool}"
	yes, no := schemas.Bool(true), schemas.Bool(false)
	cases := []coerceCase{
		{d, yes, yes, ""},
		{d, no, no, ""},
		{d, schemas.Int(1), yes, ""},
		{d, schemas.Int(0), no, ""},
		{d, schemas.Int(2), schemas.Null, `x: "2" is not a boolean (only the integers 0 and 1 are)`},
		{d, schemas.String("maybe"), schemas.Null, `x: "maybe" is not a boolean (want true/false, t/f, yes/no or 1/0)`},
		{d, schemas.Float(1), schemas.Null, `x: float "1" cannot be converted to bool`},
	}
	for _, s := range []string{"true", "TRUE", "t", "T", "yes", "Yes", "1", " true "} {
		cases = append(cases, coerceCase{d, schemas.String(s), yes, ""})
	}
	for _, s := range []string{"false", "False", "f", "F", "no", "NO", "0"} {
		cases = append(cases, coerceCase{d, schemas.String(s), no, ""})
	}
	runCoerce(t, cases)
}

func TestCoerceToDecimal(t *testing.T) {
	free, fixed := "{type: decimal}", "{type: decimal, scale: 2}"
	runCoerce(t, []coerceCase{
		{free, dec("1.50"), dec("1.50"), ""},
		{free, schemas.String("+12.50"), dec("12.50"), ""},
		{free, schemas.String(".5"), dec("0.5"), ""},
		{free, schemas.String("-0.00"), dec("0.00"), ""},
		{free, schemas.String("1.5e3"), dec("1500"), ""},
		{free, schemas.String("25E-1"), dec("2.5"), ""},
		{free, schemas.Int(7), dec("7"), ""},
		{free, schemas.Float(0.1), dec("0.1"), ""},
		{free, schemas.Float(-2.5e-3), dec("-0.0025"), ""},
		{fixed, dec("1.5"), dec("1.50"), ""},
		{fixed, schemas.Int(7), dec("7.00"), ""},
		{fixed, schemas.Float(19.999), dec("20.00"), ""},
		{fixed, schemas.String("1.005"), dec("1.01"), ""}, // half away from zero
		{fixed, schemas.String("-1.005"), dec("-1.01"), ""},
		{fixed, schemas.String("1.004"), dec("1.00"), ""},
		{fixed, schemas.String("12"), dec("12.00"), ""},
		{free, schemas.String("12,50"), schemas.Null, `x: "12,50" is not a decimal number: want digits with an optional sign, fraction and exponent`},
		{free, schemas.String("1e5000"), schemas.Null, `x: "1e5000" is not a decimal number: exponent out of range (±1000)`},
		{free, schemas.Float(math.Inf(-1)), schemas.Null, `x: "-Inf" is not a finite number`},
		{free, schemas.Bool(true), schemas.Null, `x: bool "true" cannot be converted to decimal`},
		{fixed, schemas.Null, schemas.Null, ""},
	})
}

func TestCoerceToTimestamp(t *testing.T) {
	d := "{type: timestamp}"
	noon := ts("2024-05-01T12:30:00Z")
	runCoerce(t, []coerceCase{
		{d, noon, noon, ""},
		{d, date("2024-05-01"), ts("2024-05-01T00:00:00Z"), ""},
		{d, date("1969-12-31"), ts("1969-12-31T00:00:00Z"), ""},
		{d, schemas.String("2024-05-01T12:30:00Z"), noon, ""},
		{d, schemas.String("2024-05-01t12:30:00z"), noon, ""},
		{d, schemas.String("2024-05-01T14:30:00+02:00"), noon, ""},
		{d, schemas.String("2024-05-01T07:30:00-0500"), noon, ""},
		{d, schemas.String("2024-05-01 12:30:00+00"), noon, ""}, // Postgres text output
		{d, schemas.String("2024-05-01 12:30:00"), noon, ""},    // no offset: UTC
		{d, schemas.String("2024-05-01T12:30"), noon, ""},
		{d, schemas.String("2024-05-01T12:30:00.123456Z"), ts("2024-05-01T12:30:00.123456Z"), ""},
		{d, schemas.String("2024-05-01T12:30:00.1234569Z"), ts("2024-05-01T12:30:00.123456Z"), ""}, // truncated to µs
		{d, schemas.String("2024-05-01T12:30:00,5Z"), ts("2024-05-01T12:30:00.5Z"), ""},
		{d, schemas.String("2024-05-01"), ts("2024-05-01T00:00:00Z"), ""},
		{d, schemas.String(" 2024-05-01T12:30:00Z "), noon, ""},
		{d, schemas.String("2024-02-30"), schemas.Null, `x: "2024-02-30" is not an ISO-8601 date-time (e.g. 2024-05-01T12:30:00Z): no such date 2024-02-30`},
		{d, schemas.String("2024-05-01T24:00:00Z"), schemas.Null, `x: "2024-05-01T24:00:00Z" is not an ISO-8601 date-time (e.g. 2024-05-01T12:30:00Z): no such time of day`},
		{d, schemas.String("2024-05-01T12:30:00 UTC"), schemas.Null, `x: "2024-05-01T12:30:00 UTC" is not an ISO-8601 date-time (e.g. 2024-05-01T12:30:00Z): want a UTC offset Z, +hh, +hhmm or +hh:mm after the time`},
		{d, schemas.String("yesterday"), schemas.Null, `x: "yesterday" is not an ISO-8601 date-time (e.g. 2024-05-01T12:30:00Z): want YYYY-MM-DD`},
		{d, schemas.Int(1714566600000000), schemas.Null, `x: "1714566600000000" is an integer and its unit is unknown; give the column a type hint in the source's types (e.g. io.debezium.time.MicroTimestamp) or send an ISO-8601 string`},
		{d, schemas.Float(1.5), schemas.Null, `x: float "1.5" cannot be converted to timestamp`},
		{d, schemas.Null, schemas.Null, ""},
	})
}

func TestCoerceToDate(t *testing.T) {
	d := "{type: date}"
	may1 := date("2024-05-01")
	runCoerce(t, []coerceCase{
		{d, may1, may1, ""},
		{d, ts("2024-05-01T23:59:59.999999Z"), may1, ""},
		{d, ts("1969-12-31T23:00:00Z"), date("1969-12-31"), ""}, // floor, not truncation
		{d, schemas.String("2024-05-01"), may1, ""},
		{d, schemas.String("2024-04-30T23:30:00-05:00"), may1, ""}, // the UTC date
		{d, schemas.Int(19844), may1, ""},
		{d, schemas.Int(-1), date("1969-12-31"), ""},
		{d, schemas.Int(1 << 40), schemas.Null, `x: "1099511627776" days from 1970-01-01 is outside the years 1 to 9999`},
		{d, schemas.String("05/01/2024"), schemas.Null, `x: "05/01/2024" is not an ISO-8601 date (e.g. 2024-05-01): want YYYY-MM-DD`},
		{d, schemas.Bool(true), schemas.Null, `x: bool "true" cannot be converted to date`},
	})
}

func TestNormalizers(t *testing.T) {
	runCoerce(t, []coerceCase{
		{"{type: string, normalize: [trim]}", schemas.String(" \t a b \n"), schemas.String("a b"), ""},
		{"{type: string, normalize: [lower]}", schemas.String("Bob@Example.COM"), schemas.String("bob@example.com"), ""},
		{"{type: string, normalize: [upper]}", schemas.String("us"), schemas.String("US"), ""},
		{"{type: string, normalize: [collapse_spaces]}", schemas.String("  Mary \t\n Ann\u00a0 Lee "), schemas.String(" Mary Ann Lee "), ""},
		{"{type: string, normalize: [trim, collapse_spaces]}", schemas.String("  Mary \t Ann  "), schemas.String("Mary Ann"), ""},
		// Order matters: upper then trim gives the same; trim after a
		// failing normalizer is never reached.
		{"{type: string, normalize: [trim, upper]}", schemas.String(" de "), schemas.String("DE"), ""},
		{"{type: string, normalize: [iso8601]}", schemas.String("2024-05-01T14:30:00+02:00"), schemas.String("2024-05-01T12:30:00Z"), ""},
		{"{type: string, normalize: [iso8601]}", schemas.String("2024-05-01 12:30:00.250"), schemas.String("2024-05-01T12:30:00.25Z"), ""},
		{"{type: string, normalize: [iso8601]}", schemas.String("2024-05-01"), schemas.String("2024-05-01"), ""},
		{"{type: string, normalize: [iso8601]}", schemas.String("1st of May"), schemas.Null, `x: "1st of May" is not an ISO-8601 date or date-time: want YYYY-MM-DD`},
		// Non-strings are converted first, then normalized.
		{"{type: string, normalize: [iso8601]}", ts("2024-05-01T12:30:00Z"), schemas.String("2024-05-01T12:30:00Z"), ""},
		{"{type: string, normalize: [trim, lower]}", schemas.Null, schemas.Null, ""},
	})
}

func TestE164(t *testing.T) {
	us, intl := "{type: string, normalize: [{e164: US}]}", "{type: string, normalize: [e164]}"
	runCoerce(t, []coerceCase{
		{us, schemas.String("(415) 555-2671"), schemas.String("+14155552671"), ""},
		{us, schemas.String("415.555.2671"), schemas.String("+14155552671"), ""},
		{us, schemas.String("+1 415 555 2671"), schemas.String("+14155552671"), ""},
		{us, schemas.String("+44 20 7946 0958"), schemas.String("+442079460958"), ""}, // foreign numbers keep their country
		{"{type: string, normalize: [{e164: gb}]}", schemas.String("020 7946 0958"), schemas.String("+442079460958"), ""},
		{intl, schemas.String("+49 30 901820"), schemas.String("+4930901820"), ""},
		{intl, schemas.String("(415) 555-2671"), schemas.Null, `x: "(415) 555-2671" has no country code: write it as +<country code><number>, or give the normalizer a default region, e.g. {e164: US}`},
		{us, schemas.String("555-0000"), schemas.Null, `x: "555-0000" is not a valid phone number (default region US)`},
		{intl, schemas.String("+1 23"), schemas.Null, `x: "+1 23" is not a valid phone number`},
		{us, schemas.Null, schemas.Null, ""},
	})
	// A parse failure keeps the library's reason.
	_, err := attr(t, us).Coerce(schemas.String("call me"))
	if err == nil || !strings.HasPrefix(err.Error(), `x: "call me" is not a phone number: `) {
		t.Errorf("got %v", err)
	}
}

func TestValidators(t *testing.T) {
	runCoerce(t, []coerceCase{
		// required
		{"{type: string, validate: {required: true}}", schemas.Null, schemas.Null, `x: a value is required, got null`},
		{"{type: string, normalize: [trim], validate: {required: true}}", schemas.String("  "), schemas.Null, `x: a value is required, got ""`},
		{"{type: string, validate: {required: true}}", schemas.String("a"), schemas.String("a"), ""},
		{"{type: int, validate: {required: true}}", schemas.Int(0), schemas.Int(0), ""},
		{"{type: string, validate: {required: false}}", schemas.Null, schemas.Null, ""},
		// email
		{"{type: string, validate: {email: true}}", schemas.String("bob@example.com"), schemas.String("bob@example.com"), ""},
		{"{type: string, validate: {email: true}}", schemas.String("bob.o+tag@mail.example.co.uk"), schemas.String("bob.o+tag@mail.example.co.uk"), ""},
		{"{type: string, validate: {email: true}}", schemas.String("bob@"), schemas.Null, `x: "bob@" is not a valid email address`},
		{"{type: string, validate: {email: true}}", schemas.String("Bob <bob@example.com>"), schemas.Null, `x: "Bob <bob@example.com>" is not a valid email address`},
		{"{type: string, validate: {email: true}}", schemas.String("bob@localhost"), schemas.Null, `x: "bob@localhost" is not a valid email address`},
		{"{type: string, validate: {email: true}}", schemas.String("bob smith@example.com"), schemas.Null, `x: "bob smith@example.com" is not a valid email address`},
		{"{type: string, validate: {email: true}}", schemas.String("a@b@example.com"), schemas.Null, `x: "a@b@example.com" is not a valid email address`},
		{"{type: string, validate: {email: true}}", schemas.String(" bob@example.com"), schemas.Null, `x: " bob@example.com" is not a valid email address`},
		{"{type: string, validate: {email: true}}", schemas.Null, schemas.Null, ""},
		{"{type: string, validate: {email: false}}", schemas.String("bob@"), schemas.String("bob@"), ""},
		// one_of
		{"{type: string, validate: {one_of: [US, CA]}}", schemas.String("CA"), schemas.String("CA"), ""},
		{"{type: string, validate: {one_of: [US, CA]}}", schemas.String("MX"), schemas.Null, `x: "MX" is not one of "US", "CA"`},
		{"{type: int, validate: {one_of: [1, 2, \"3\"]}}", schemas.String("3"), schemas.Int(3), ""},
		{"{type: decimal, validate: {one_of: [1.5]}}", dec("1.50"), dec("1.50"), ""}, // numeric comparison
		{"{type: string, validate: {one_of: [a]}}", schemas.Null, schemas.Null, ""},
		// range
		{"{type: int, validate: {range: {min: 0, max: 150}}}", schemas.Int(150), schemas.Int(150), ""},
		{"{type: int, validate: {range: {min: 0, max: 150}}}", schemas.Int(-1), schemas.Null, `x: "-1" is less than the minimum 0`},
		{"{type: int, validate: {range: {min: 0, max: 150}}}", schemas.Int(151), schemas.Null, `x: "151" is greater than the maximum 150`},
		{"{type: float, validate: {range: {max: 1.5}}}", schemas.Float(1.6), schemas.Null, `x: "1.6" is greater than the maximum 1.5`},
		{"{type: decimal, scale: 2, validate: {range: {min: 0}}}", dec("-0.01"), schemas.Null, `x: "-0.01" is less than the minimum 0.00`},
		{"{type: decimal, scale: 2, validate: {range: {min: 0}}}", dec("0"), dec("0.00"), ""},
		{"{type: decimal, validate: {range: {max: \"99999999999999999999.99\"}}}", dec("100000000000000000000"), schemas.Null, `x: "100000000000000000000" is greater than the maximum 99999999999999999999.99`},
		{"{type: timestamp, validate: {range: {min: \"2000-01-01T00:00:00Z\"}}}", schemas.String("1999-12-31T23:59:59Z"), schemas.Null, `x: "1999-12-31T23:59:59Z" is less than the minimum 2000-01-01T00:00:00Z`},
		{"{type: date, validate: {range: {min: \"1900-01-01\", max: \"2100-12-31\"}}}", schemas.String("1899-12-31"), schemas.Null, `x: "1899-12-31" is less than the minimum 1900-01-01`},
		{"{type: date, validate: {range: {min: \"1900-01-01\", max: \"2100-12-31\"}}}", schemas.String("2024-05-01"), date("2024-05-01"), ""},
		{"{type: int, validate: {range: {min: 0}}}", schemas.Null, schemas.Null, ""},
		// length: characters, not bytes
		{"{type: string, validate: {length: {min: 2, max: 4}}}", schemas.String("José"), schemas.String("José"), ""},
		{"{type: string, validate: {length: {min: 2, max: 4}}}", schemas.String("a"), schemas.Null, `x: "a" is 1 characters long, shorter than the minimum length 2`},
		{"{type: string, validate: {length: {min: 2, max: 4}}}", schemas.String("Josée"), schemas.Null, `x: "Josée" is 5 characters long, longer than the maximum length 4`},
		{"{type: string, validate: {length: {max: 0}}}", schemas.String(""), schemas.String(""), ""},
		// pattern: unanchored, as written
		{"{type: string, validate: {pattern: \"^[A-Z]{2}$\"}}", schemas.String("US"), schemas.String("US"), ""},
		{"{type: string, validate: {pattern: \"[0-9]\"}}", schemas.String("a1b"), schemas.String("a1b"), ""},
		{"{type: string, validate: {pattern: \"^[A-Z]{2}$\"}}", schemas.Null, schemas.Null, ""},
		// several validators run in file order; the first failure is reported
		{"{type: string, validate: {required: true, length: {min: 3}, pattern: \"^a\"}}", schemas.String("b"), schemas.Null, `x: "b" is 1 characters long, shorter than the minimum length 3`},
	})
}

// The example from the Coerce documentation and the brief.
func TestCoerceMessageNamesAttribute(t *testing.T) {
	f := mustParse(t, `attributes:
  country: {type: string, normalize: [trim, upper], validate: {pattern: "^[A-Z]{2}$"}}
  email: {type: string, validate: {email: true}}
`)
	if _, err := f.Attributes["country"].Coerce(schemas.String(" usa ")); err == nil ||
		err.Error() != `country: "USA" does not match pattern ^[A-Z]{2}$` {
		t.Errorf("country: got %v", err)
	}
	if _, err := f.Attributes["email"].Coerce(schemas.String("bob@")); err == nil ||
		err.Error() != `email: "bob@" is not a valid email address` {
		t.Errorf("email: got %v", err)
	}
}

// Attributes built by hand (tests of other packages, tools) may name their
// normalizers without building functions.
func TestCoerceHandBuiltAttribute(t *testing.T) {
	a := &Attribute{Name: "email", Type: schemas.KindString, Scale: -1,
		Normalizers: []Normalizer{{Name: "trim"}, {Name: "lower"}}}
	got, err := a.Coerce(schemas.String("  Bob@X.com "))
	if err != nil || got != schemas.String("bob@x.com") {
		t.Errorf("got %v, %v", got, err)
	}
	a.Validators = []Validator{{Name: "email"}}
	if _, err := a.Coerce(schemas.String("x")); err == nil {
		t.Error("validator without Fn: want an error, not a silent pass")
	}
	if _, err := (&Attribute{Name: "n"}).Coerce(schemas.Int(1)); err == nil {
		t.Error("attribute without a type: want an error")
	}
}

func TestParseISO(t *testing.T) {
	for _, s := range []string{"2024-13-01", "2024-00-10", "2023-02-29", "24-05-01", "2024-05-01T", "2024-05-01T12",
		"2024-05-01T12:60", "2024-05-01T12:30:61Z", "2024-05-01T12:30:00.Z", "2024-05-01T12:30:00+25:00",
		"2024-05-01T12:30:00+02:0", "2024-05-01T12:30:00Zjunk", "2024-05-01x",
		"0000-06-01", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"} {
		if _, _, err := parseISO(s); err == nil {
			t.Errorf("parseISO(%q): want an error", s)
		}
	}
	for s, want := range map[string]string{
		"2024-02-29":                "2024-02-29T00:00:00Z",
		"0001-01-01T00:00:00Z":      "0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59+01:00": "9999-12-31T22:59:59Z",
	} {
		got, _, err := parseISO(s)
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("parseISO(%q) = %v, %v; want %s", s, got, err, want)
		}
	}
}
