package dictionary

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/profiled/profiled/schemas"
)

// normalizerNames lists the normalizers in the order the docs present them.
var normalizerNames = []string{"trim", "lower", "upper", "collapse_spaces", "e164", "iso8601"}

// newNormalizer builds a normalizer. Every normalizer works on strings: they
// exist to clean up free text before it is stored, and typed values (numbers,
// times) are already canonical after conversion.
func newNormalizer(name, arg string) (Normalizer, error) { return buildNormalizer(name, arg, true) }

// buildNormalizer builds a normalizer; memoize gives the costly ones (e164) a
// memo of their results. A normalizer built for one call only (see coerce)
// would never hit its memo, so it goes without.
func buildNormalizer(name, arg string, memoize bool) (Normalizer, error) {
	n := Normalizer{Name: name, Arg: arg}
	var fn func(string) (string, error)
	switch name {
	case "trim":
		fn = func(s string) (string, error) { return strings.TrimSpace(s), nil }
	case "lower":
		fn = func(s string) (string, error) { return strings.ToLower(s), nil }
	case "upper":
		fn = func(s string) (string, error) { return strings.ToUpper(s), nil }
	case "collapse_spaces":
		fn = func(s string) (string, error) { return collapseSpaces(s), nil }
	case "iso8601":
		fn = iso8601
	case "e164":
		region := strings.ToUpper(arg)
		if region != "" && !phonenumbers.GetSupportedRegions()[region] {
			return n, fmt.Errorf("e164: unknown region %q (want an ISO 3166 country code such as US, GB or DE)", arg)
		}
		n.Arg = region
		fn = func(s string) (string, error) { return e164(s, region) }
		if memoize {
			// libphonenumber costs tens of µs a number (regular
			// expressions throughout), and a customer's phone comes
			// back with every update of the row.
			fn = newMemo(fn, memoDefaultEntries, memoDefaultBytes).get
		}
	default:
		return n, fmt.Errorf("unknown normalizer %q (want one of %s)", name, strings.Join(normalizerNames, ", "))
	}
	if name != "e164" && arg != "" {
		return n, fmt.Errorf("normalizer %s takes no argument", name)
	}
	n.Fn = func(v schemas.Value) (schemas.Value, error) {
		switch v.Kind {
		case schemas.KindNull:
			return v, nil
		case schemas.KindString:
			s, err := fn(v.Str)
			if err != nil {
				return schemas.Null, err
			}
			return schemas.String(s), nil
		}
		return schemas.Null, fmt.Errorf("normalizer %s applies to strings, got %s %s", name, v.Kind, quote(v))
	}
	return n, nil
}

// collapseSpaces replaces each run of white space (tabs, newlines, non-breaking
// spaces, ...) with one ASCII space. Invalid UTF-8 becomes U+FFFD.
func collapseSpaces(s string) string {
	if !needsCollapse(s) {
		// Most names are clean already; returning s saves a copy.
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
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

// needsCollapse reports whether collapseSpaces would change s: white space
// other than a single ASCII space, or bytes that are not UTF-8 (which ranging
// over s turns into U+FFFD).
func needsCollapse(s string) bool {
	inSpace := false
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return true
			}
		}
		if unicode.IsSpace(r) {
			if r != ' ' || inSpace {
				return true
			}
			inSpace = true
			continue
		}
		inSpace = false
	}
	return false
}

// iso8601 rewrites an ISO-8601 date-time as RFC 3339 in UTC, or a bare date as
// YYYY-MM-DD, so that string attributes holding times compare and dedupe as
// text.
func iso8601(s string) (string, error) {
	t, dateOnly, err := parseISO(s)
	if err != nil {
		return "", fmt.Errorf("%s is not an ISO-8601 date or date-time: %w", clip(s), err)
	}
	layout := time.RFC3339Nano
	if dateOnly {
		layout = time.DateOnly
	}
	// Format into a buffer on the stack: when the input is canonical
	// already (as dates and UTC date-times mostly are), the trimmed input is
	// the result and nothing is allocated.
	var buf [64]byte
	out := t.AppendFormat(buf[:0], layout)
	if trimmed := strings.TrimSpace(s); string(out) == trimmed {
		return trimmed, nil
	}
	return string(out), nil
}

// e164 formats a phone number as E.164 (+14155552671). Without a default
// region only numbers in international form (+...) are accepted, because a
// national number means different things in different countries.
func e164(s, region string) (string, error) {
	t := strings.TrimSpace(s)
	if region == "" && !strings.HasPrefix(t, "+") {
		return "", fmt.Errorf("%s has no country code: write it as +<country code><number>, "+
			"or give the normalizer a default region, e.g. {e164: US}", clip(s))
	}
	r := region
	if r == "" {
		r = "ZZ" // unknown region: only +-prefixed numbers parse
	}
	num, err := phonenumbers.Parse(t, r)
	if err != nil {
		return "", fmt.Errorf("%s is not a phone number: %w", clip(s), err)
	}
	if !phonenumbers.IsValidNumber(num) {
		if region != "" {
			return "", fmt.Errorf("%s is not a valid phone number (default region %s)", clip(s), region)
		}
		return "", fmt.Errorf("%s is not a valid phone number", clip(s))
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// isEmail is a pragmatic address check: what a sign-up form would accept.
// net/mail alone accepts display names, comments and quoted local parts
// ("Bob <bob@x.com>"), which are not something to store as an address, so
// the parsed address must be exactly the input.
func isEmail(s string) bool {
	if s == "" || strings.ContainsFunc(s, unicode.IsSpace) || strings.Count(s, "@") != 1 {
		return false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(domain, ".")
}

func requiredValidator() Validator {
	return Validator{Name: "required", Fn: func(v schemas.Value) error {
		switch {
		case v.IsNull():
			return errors.New("a value is required, got null")
		case v.Kind == schemas.KindString && v.Str == "":
			// After trim, an empty string carries no more information than
			// null; "required" means there is something to show.
			return errors.New(`a value is required, got ""`)
		}
		return nil
	}}
}

func emailValidator() Validator {
	// net/mail allocates and is slow next to the rest of coerce (about half
	// a microsecond an address), and an address comes back with every
	// update of its row; the check is pure, so its result is remembered.
	check := newMemo(func(s string) (string, error) {
		if !isEmail(s) {
			return "", fmt.Errorf("%s is not a valid email address", clip(s))
		}
		return "", nil
	}, memoDefaultEntries, memoDefaultBytes)
	return Validator{Name: "email", Fn: func(v schemas.Value) error {
		switch {
		case v.IsNull():
			return nil
		case v.Kind == schemas.KindString:
			_, err := check.get(v.Str)
			return err
		}
		return fmt.Errorf("%s is not a valid email address", quote(v))
	}}
}

func patternValidator(re *regexp.Regexp) Validator {
	return Validator{Name: "pattern", Fn: func(v schemas.Value) error {
		if v.IsNull() {
			return nil
		}
		if v.Kind != schemas.KindString || !re.MatchString(v.Str) {
			return fmt.Errorf("%s does not match pattern %s", quote(v), re)
		}
		return nil
	}}
}

// lengthValidator counts characters (runes), not bytes: "José" has length 4.
// min or max < 0 means no bound.
func lengthValidator(lo, hi int64) Validator {
	return Validator{Name: "length", Fn: func(v schemas.Value) error {
		if v.IsNull() {
			return nil
		}
		n := int64(utf8.RuneCountInString(v.Text()))
		if lo >= 0 && n < lo {
			return fmt.Errorf("%s is %d characters long, shorter than the minimum length %d", quote(v), n, lo)
		}
		if hi >= 0 && n > hi {
			return fmt.Errorf("%s is %d characters long, longer than the maximum length %d", quote(v), n, hi)
		}
		return nil
	}}
}

// rangeValidator checks lo <= v <= hi; a null bound is open.
func rangeValidator(lo, hi schemas.Value) Validator {
	return Validator{Name: "range", Fn: func(v schemas.Value) error {
		if v.IsNull() {
			return nil
		}
		if !lo.IsNull() && compareValues(v, lo) < 0 {
			return fmt.Errorf("%s is less than the minimum %s", quote(v), lo.Text())
		}
		if !hi.IsNull() && compareValues(v, hi) > 0 {
			return fmt.Errorf("%s is greater than the maximum %s", quote(v), hi.Text())
		}
		return nil
	}}
}

func oneOfValidator(values []schemas.Value) Validator {
	return Validator{Name: "one_of", Fn: func(v schemas.Value) error {
		if v.IsNull() {
			return nil
		}
		for _, x := range values {
			if compareValues(v, x) == 0 {
				return nil
			}
		}
		return fmt.Errorf("%s is not one of %s", quote(v), listValues(values))
	}}
}

func listValues(values []schemas.Value) string {
	const show = 10
	parts := make([]string, 0, show+1)
	for i, x := range values {
		if i == show {
			parts = append(parts, fmt.Sprintf("… (%d values)", len(values)))
			break
		}
		parts = append(parts, quote(x))
	}
	return strings.Join(parts, ", ")
}

// compareValues orders two values of one kind; decimals compare by number so
// that 1.5 and 1.50 are equal when an attribute has no fixed scale.
func compareValues(a, b schemas.Value) int {
	if a.Kind == schemas.KindDecimal && b.Kind == schemas.KindDecimal {
		da, ea := schemas.ParseDecimal(a.Str)
		db, eb := schemas.ParseDecimal(b.Str)
		if ea == nil && eb == nil {
			return da.Cmp(db)
		}
	}
	if a.Kind == schemas.KindFloat && b.Kind == schemas.KindFloat && a.Float == b.Float {
		return 0 // -0 == +0, which Compare's bit-pattern tie-break would not say
	}
	return schemas.Compare(a, b)
}
