package dictionary

import (
	"fmt"
	"testing"

	"github.com/profiled/profiled/schemas"
)

// benchAttr parses a one-attribute dictionary the way the pipeline does, so
// the benchmarks measure the normalizer and validator functions it runs.
func benchAttr(b *testing.B, def string) *Attribute {
	b.Helper()
	f, err := Parse([]byte("attributes:\n  x: "+def+"\n"), "bench.yaml")
	if err != nil {
		b.Fatalf("Parse: %v", err)
	}
	return f.Attributes["x"]
}

// usPhones returns n distinct valid US numbers in national form, as a CRM
// column holds them: (NXX) NXX-XXXX with area codes and exchanges from 2xx up.
func usPhones(b *testing.B, n int) []schemas.Value {
	b.Helper()
	out := make([]schemas.Value, n)
	for i := range out {
		sub, rest := i%10_000, i/10_000
		exch := 200 + rest%800
		area := 201 + (rest/800)%700
		out[i] = schemas.String(fmt.Sprintf("(%d) %d-%04d", area, exch, sub))
	}
	return out
}

// runCoerceBench coerces the values in turn; every one must succeed, so a
// benchmark never measures only the error path by accident.
func runCoerceBench(b *testing.B, a *Attribute, values []schemas.Value) {
	b.Helper()
	for _, v := range values[:min(len(values), 64)] {
		if _, err := a.Coerce(v); err != nil {
			b.Fatalf("Coerce(%v): %v", v, err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := a.Coerce(values[i%len(values)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkCoerceE164Hit: the same few phone numbers again and again, as
// every CDC update of a customer row carries the same phone.
func BenchmarkCoerceE164Hit(b *testing.B) {
	runCoerceBench(b, benchAttr(b, "{type: string, normalize: [{e164: US}]}"), usPhones(b, 64))
}

// BenchmarkCoerceE164Miss: a new number every time (the pool is far larger
// than any memo), the worst case for a memo.
func BenchmarkCoerceE164Miss(b *testing.B) {
	runCoerceBench(b, benchAttr(b, "{type: string, normalize: [{e164: US}]}"), usPhones(b, 1<<19))
}

// BenchmarkCoerceE164Invalid: a bad number that keeps coming back, which
// goes to the DLQ each time with the same reason.
func BenchmarkCoerceE164Invalid(b *testing.B) {
	a := benchAttr(b, "{type: string, normalize: [{e164: US}]}")
	v := schemas.String("555-0100 ext. nobody")
	if _, err := a.Coerce(v); err == nil {
		b.Fatalf("Coerce(%v) succeeded", v)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Coerce(v); err == nil {
			b.Fatal("no error")
		}
	}
}

// BenchmarkCoerceString: the dev configuration's plain string attributes,
// with values that need no change (the common case) and that do.
func BenchmarkCoerceString(b *testing.B) {
	for _, c := range []struct{ name, def, in string }{
		{"lower/clean", "{type: string, normalize: [trim, lower]}", "ann.lee@example.com"},
		{"lower/dirty", "{type: string, normalize: [trim, lower]}", "  Ann.Lee@Example.com "},
		{"collapse/clean", "{type: string, normalize: [trim, collapse_spaces]}", "Mary Ann"},
		{"collapse/dirty", "{type: string, normalize: [trim, collapse_spaces]}", " Mary \t Ann "},
		{"email/clean", "{type: string, normalize: [trim, lower], validate: {email: true}}", "ann.lee@example.com"},
	} {
		b.Run(c.name, func(b *testing.B) {
			runCoerceBench(b, benchAttr(b, c.def), []schemas.Value{schemas.String(c.in)})
		})
	}
}

// BenchmarkCoerceISO8601: the iso8601 normalizer on a date, a canonical
// date-time, and a date-time it has to rewrite.
func BenchmarkCoerceISO8601(b *testing.B) {
	for _, c := range []struct{ name, in string }{
		{"date", "2024-05-01"},
		{"canonical", "2024-05-01T12:30:00.25Z"},
		{"offset", "2024-05-01 14:30:00+02"},
	} {
		b.Run(c.name, func(b *testing.B) {
			runCoerceBench(b, benchAttr(b, "{type: string, normalize: [iso8601]}"), []schemas.Value{schemas.String(c.in)})
		})
	}
}
