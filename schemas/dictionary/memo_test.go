package dictionary

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/nyaruka/phonenumbers"

	"github.com/profiled/profiled/schemas"
)

// phoneInputs mixes numbers that normalize, numbers that fail in each way
// e164 reports, and input too long to be remembered.
var phoneInputs = []string{
	"(415) 555-2671", "415.555.2671", "+1 415 555 2671", " +1 (415) 555-2671 ", "+44 20 7946 0958",
	"020 7946 0958", "+49 30 901820", "tel:+1-415-555-2671", "+1 415 555 2671 ext. 12",
	"555-0000", "+1 23", "call me", "", "   ", "+", "12", "+999 123 456", "+1 415 555 2671 5555555555555",
	strings.Repeat("4", memoMaxInput+1), "(212) 555-0100", "\u00a0(212)\u00a0555-0100",
}

// phonenumbersErrs are the library's sentinel errors, which a remembered
// error must still match with errors.Is.
var phonenumbersErrs = []error{
	phonenumbers.ErrNotANumber, phonenumbers.ErrInvalidCountryCode, phonenumbers.ErrTooShortNSN,
	phonenumbers.ErrTooShortAfterIDD, phonenumbers.ErrNumTooLong,
}

// sameResult fails unless got is exactly want: the same value, or errors
// with the same text that match the same library sentinels.
func sameResult(t *testing.T, what string, got schemas.Value, gotErr error, want schemas.Value, wantErr error) {
	t.Helper()
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Errorf("%s: got %v, %v; want %v, %v", what, got, gotErr, want, wantErr)
	case gotErr != nil && gotErr.Error() != wantErr.Error():
		t.Errorf("%s: error\n got  %v\n want %v", what, gotErr, wantErr)
	case got != want:
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
	for _, s := range phonenumbersErrs {
		if errors.Is(gotErr, s) != errors.Is(wantErr, s) {
			t.Errorf("%s: errors.Is(%v, %v) = %t, want %t", what, gotErr, s, errors.Is(gotErr, s), errors.Is(wantErr, s))
		}
	}
}

// TestMemoE164SameAsDirect: a parsed attribute (memoized e164) gives what a
// hand-built one (normalizers built per call, no memo) gives, the first
// time and from the memo, errors included.
func TestMemoE164SameAsDirect(t *testing.T) {
	for _, region := range []string{"US", ""} {
		def := "{type: string, normalize: [e164]}"
		if region != "" {
			def = "{type: string, normalize: [{e164: " + region + "}]}"
		}
		memoized := attr(t, def)
		direct := &Attribute{Name: "x", Type: schemas.KindString, Scale: -1, Normalizers: []Normalizer{{Name: "e164", Arg: region}}}
		for round := range 3 {
			for _, in := range phoneInputs {
				got, gotErr := memoized.Coerce(schemas.String(in))
				want, wantErr := direct.Coerce(schemas.String(in))
				sameResult(t, fmt.Sprintf("region %q round %d: Coerce(%q)", region, round, in), got, gotErr, want, wantErr)
			}
		}
	}
}

// TestMemoEmailSameAsDirect: the remembered email check accepts and rejects
// what isEmail does, with the message the check always gave.
func TestMemoEmailSameAsDirect(t *testing.T) {
	a := attr(t, "{type: string, validate: {email: true}}")
	inputs := []string{
		"bob@example.com", "bob.o+tag@mail.example.co.uk", "bob@", "Bob <bob@example.com>", "bob@localhost",
		"bob smith@example.com", "a@b@example.com", " bob@example.com", "", "@example.com", "\"a b\"@example.com",
		strings.Repeat("a", memoMaxInput) + "@example.com",
	}
	for round := range 3 {
		for _, in := range inputs {
			got, gotErr := a.Coerce(schemas.String(in))
			want, wantErr := schemas.String(in), error(nil)
			if !isEmail(in) {
				want, wantErr = schemas.Null, fmt.Errorf("x: %s is not a valid email address", quote(schemas.String(in)))
			}
			sameResult(t, fmt.Sprintf("round %d: Coerce(%q)", round, in), got, gotErr, want, wantErr)
		}
	}
	// Non-strings are rejected without the memo, as before.
	if err := emailValidator().Fn(schemas.Int(7)); err == nil || err.Error() != `"7" is not a valid email address` {
		t.Errorf("email check of an int: %v", err)
	}
}

// countingFn is a pure function of its input that counts its calls and
// fails for inputs starting with "!".
func countingFn(calls *atomic.Int64) func(string) (string, error) {
	return func(s string) (string, error) {
		calls.Add(1)
		if strings.HasPrefix(s, "!") {
			return "", fmt.Errorf("%q is bad", s)
		}
		return strings.ToUpper(s), nil
	}
}

// TestMemoRemembers: a repeated input is computed once, its error too, and
// an input too long to remember is computed each time.
func TestMemoRemembers(t *testing.T) {
	var calls atomic.Int64
	m := newMemo(countingFn(&calls), 1024, 1<<20)
	long := strings.Repeat("x", memoMaxInput+1)
	for range 5 {
		if out, err := m.get("abc"); out != "ABC" || err != nil {
			t.Fatalf(`get("abc") = %q, %v`, out, err)
		}
		if _, err := m.get("!bad"); err == nil || err.Error() != `"!bad" is bad` {
			t.Fatalf(`get("!bad"): %v`, err)
		}
		if out, err := m.get(long); out != strings.ToUpper(long) || err != nil {
			t.Fatalf("get(long) = %q, %v", out, err)
		}
	}
	if got := calls.Load(); got != 2+5 {
		t.Errorf("fn called %d times, want 7 (abc and !bad once, the long input each time)", got)
	}
	if got := m.len(); got != 2 {
		t.Errorf("memo holds %d entries, want 2", got)
	}
}

// memoBytes is what a memo holds: the strings of its entries (input, output
// when it is not the input, error message) and a fixed overhead per entry,
// counting an entry held in both generations once.
func memoBytes(m *memo) int {
	size := func(e memoEntry) int {
		n := memoEntryOverhead + len(e.key)
		if e.out != e.key {
			n += len(e.out)
		}
		if e.err != nil {
			n += len(e.err.Error())
		}
		return n
	}
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, e := range sh.cur {
			if _, ok := sh.prev[k]; !ok {
				n += size(e)
			}
		}
		for _, e := range sh.prev {
			n += size(e)
		}
		sh.mu.Unlock()
	}
	return n
}

// TestMemoBounded: many unique inputs never grow a memo past its bounds, by
// count or by bytes, and a working set that fits keeps being served from
// the memo while unique inputs stream past.
func TestMemoBounded(t *testing.T) {
	t.Run("entries", func(t *testing.T) {
		var calls atomic.Int64
		const maxEntries = 256
		m := newMemo(countingFn(&calls), maxEntries, 1<<30)
		for i := range 20_000 {
			if _, err := m.get(fmt.Sprintf("v%d", i)); err != nil {
				t.Fatal(err)
			}
			if n := m.len(); n > maxEntries {
				t.Fatalf("after %d inputs the memo holds %d entries, more than %d", i+1, n, maxEntries)
			}
		}
		if n := m.len(); n < maxEntries/4 {
			t.Errorf("the memo holds only %d entries of %d", n, maxEntries)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		var calls atomic.Int64
		const maxBytes = 64 << 10
		m := newMemo(countingFn(&calls), 1<<30, maxBytes)
		for i := range 20_000 {
			// Long inputs (and failures, whose messages count too)
			// reach the byte bound long before the entry bound.
			in := fmt.Sprintf("%d-%s", i, strings.Repeat("y", memoMaxInput-10))
			fail := i%4 != 0
			if fail {
				in = "!" + in[1:]
			}
			if _, err := m.get(in); (err != nil) != fail {
				t.Fatalf("get(%q): %v", in, err)
			}
			if n := memoBytes(m); n > maxBytes {
				t.Fatalf("after %d inputs the memo holds %d bytes, more than %d", i+1, n, maxBytes)
			}
		}
	})
	t.Run("working set survives", func(t *testing.T) {
		var calls atomic.Int64
		m := newMemo(countingFn(&calls), 4096, 1<<30)
		hot := make([]string, 100)
		for i := range hot {
			hot[i] = fmt.Sprintf("hot%d", i)
		}
		for i := range 50_000 {
			// A hot value every other call, a unique one in between.
			if _, err := m.get(hot[i%len(hot)]); err != nil {
				t.Fatal(err)
			}
			if _, err := m.get(fmt.Sprintf("cold%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		// Each hot value is computed once: it comes round every 200
		// calls, far fewer than fill a generation of its shard, so it is
		// always moved forward before its generation is dropped.
		cold := int64(50_000)
		if extra := calls.Load() - cold - int64(len(hot)); extra != 0 {
			t.Errorf("hot values were recomputed %d times", extra)
		}
	})
}

// TestMemoConcurrent: partition goroutines share an attribute's memo; under
// -race, with a memo small enough to turn over generations all the time,
// every result must still be the function's.
func TestMemoConcurrent(t *testing.T) {
	var calls atomic.Int64
	m := newMemo(countingFn(&calls), 64, 1<<30)
	// The real thing: a phone attribute shared by all, checked against
	// results computed without a memo.
	phone := attr(t, "{type: string, normalize: [{e164: US}]}")
	direct := &Attribute{Name: "x", Type: schemas.KindString, Scale: -1, Normalizers: []Normalizer{{Name: "e164", Arg: "US"}}}
	type result struct {
		v   schemas.Value
		err string
	}
	want := make([]result, len(phoneInputs))
	for i, in := range phoneInputs {
		v, err := direct.Coerce(schemas.String(in))
		want[i] = result{v, fmt.Sprint(err)}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 2000 {
				in := fmt.Sprintf("v%d", r.IntN(300))
				if r.IntN(4) == 0 {
					in = "!" + in
				}
				out, err := m.get(in)
				wantOut, wantErr := countingFn(new(atomic.Int64))(in)
				if out != wantOut || fmt.Sprint(err) != fmt.Sprint(wantErr) {
					t.Errorf("get(%q) = %q, %v; want %q, %v", in, out, err, wantOut, wantErr)
					return
				}
			}
			for i := range 100 {
				j := (g + i) % len(phoneInputs)
				v, err := phone.Coerce(schemas.String(phoneInputs[j]))
				if got := (result{v, fmt.Sprint(err)}); got != want[j] {
					t.Errorf("Coerce(%q) = %+v, want %+v", phoneInputs[j], got, want[j])
					return
				}
			}
		})
	}
	wg.Wait()
	if n := m.len(); n > 64 {
		t.Errorf("the memo holds %d entries, more than 64", n)
	}
}

// TestCoerceHitAllocs: the common path allocates nothing once a value has
// been seen: a remembered phone or address, a string no normalizer changes,
// a canonical date.
func TestCoerceHitAllocs(t *testing.T) {
	for _, c := range []struct{ def, in string }{
		{"{type: string, normalize: [{e164: US}]}", "(415) 555-2671"},
		{"{type: string, normalize: [trim, lower], validate: {email: true}}", "ann.lee@example.com"},
		{"{type: string, normalize: [trim, collapse_spaces]}", "Mary Ann"},
		{"{type: string, normalize: [trim, upper], validate: {pattern: \"^[A-Z]{2}$\"}}", "GB"},
		{"{type: string, normalize: [iso8601]}", "2024-05-01"},
		{"{type: string, normalize: [iso8601]}", "2024-05-01T12:30:00.25Z"},
	} {
		a := attr(t, c.def)
		v := schemas.String(c.in)
		want, err := a.Coerce(v)
		if err != nil {
			t.Fatalf("%s Coerce(%q): %v", c.def, c.in, err)
		}
		if n := testing.AllocsPerRun(100, func() {
			if got, err := a.Coerce(v); got != want || err != nil {
				t.Errorf("%s Coerce(%q) = %v, %v; want %v", c.def, c.in, got, err, want)
			}
		}); n != 0 {
			t.Errorf("%s Coerce(%q): %v allocations, want 0", c.def, c.in, n)
		}
	}
}

// collapseSpacesRef is collapseSpaces as it was before its no-change fast
// path: always rebuilt.
func collapseSpacesRef(s string) string {
	var b strings.Builder
	inSpace := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !inSpace {
				b.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return b.String()
}

// iso8601Ref is iso8601 as it was before its no-allocation path.
func iso8601Ref(s string) (string, error) {
	t, dateOnly, err := parseISO(s)
	if err != nil {
		return "", fmt.Errorf("%s is not an ISO-8601 date or date-time: %w", clip(s), err)
	}
	if dateOnly {
		return t.Format(time.DateOnly), nil
	}
	return t.Format(time.RFC3339Nano), nil
}

// checkFastPaths compares the normalizers that skip work on clean input with
// their always-rebuilding references.
func checkFastPaths(t *testing.T, s string) {
	t.Helper()
	if got, want := collapseSpaces(s), collapseSpacesRef(s); got != want {
		t.Errorf("collapseSpaces(%q) = %q, want %q", s, got, want)
	}
	got, err := iso8601(s)
	want, wantErr := iso8601Ref(s)
	if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Errorf("iso8601(%q) = %q, %v; want %q, %v", s, got, err, want, wantErr)
	}
}

var fastPathSeeds = []string{
	"", " ", "Mary Ann", "Mary  Ann", " Mary Ann ", "Mary\tAnn", "Mary\u00a0Ann", "Mary \u2003Ann", "\n",
	"Jos\xe9", "\xff", "a\ufffdb", "a \ufffd b", "\u0085x",
	"2024-05-01", " 2024-05-01 ", "2024-05-01T12:30:00Z", "2024-05-01T12:30:00.25Z", "2024-05-01T12:30:00.250Z",
	"2024-05-01 12:30:00", "2024-05-01T12:30:00+00:00", "2024-05-01T12:30:00+02", "2024-05-01t12:30:00z",
	"2024-05-01T12:30Z", "2024-02-30", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
}

// TestNormalizeFastPaths: collapse_spaces and iso8601 give exactly what they
// gave before they learnt to return clean input unchanged.
func TestNormalizeFastPaths(t *testing.T) {
	for _, s := range fastPathSeeds {
		checkFastPaths(t, s)
	}
	// Random strings over an alphabet of the characters that matter.
	alphabet := []string{"a", "Z", "0", "9", " ", "  ", "\t", "\u00a0", "\xff", "\ufffd", "é", "-", ":", "T", "Z", ".", "+"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		checkFastPaths(t, b.String())
	}
}

func FuzzNormalizeFastPaths(f *testing.F) {
	for _, s := range fastPathSeeds {
		f.Add(s)
	}
	f.Fuzz(checkFastPaths)
}
