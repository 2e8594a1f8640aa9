package segment

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/profiled/profiled/schemas/internal/jsonscan"
)

// The event types of the Segment spec.
var knownTypes = map[string]bool{
	"identify": true, "track": true, "page": true,
	"screen": true, "group": true, "alias": true,
}

func decode(value []byte) (*Event, error) {
	// jsonscan decodes exactly as json.Decoder with UseNumber would, several
	// times faster, and bounds nesting at jsonscan.MaxDepth (Segment events
	// are shallow: context.traits.address.city is four levels), so hostile
	// input cannot drive deep recursion. This is jsonscan.Parse spelled
	// out, so that trailing data gets an error that says what it is about.
	s := jsonscan.Scanner{Data: value}
	v, err := s.Value()
	if err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	// Anything but whitespace after the value means the input is not one
	// JSON document.
	if s.End() != nil {
		return nil, fmt.Errorf("decoding JSON: unexpected data after the event object at offset %d", s.Pos)
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("event is not a JSON object")
	}
	e := &Event{Raw: raw}

	t, err := optString(raw, "type")
	if err != nil {
		return nil, err
	}
	if t == "" {
		return nil, errors.New("event has no type")
	}
	if e.Type = strings.ToLower(t); !knownTypes[e.Type] {
		return nil, fmt.Errorf("unknown event type %q", t)
	}

	// Identifiers: strings per the spec, but numeric ids turn up in the
	// wild (a database id passed through unquoted), so numbers are read as
	// their decimal text.
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"messageId", &e.MessageID},
		{"userId", &e.UserID},
		{"anonymousId", &e.AnonymousID},
		{"groupId", &e.GroupID},
		{"previousId", &e.PreviousID},
	} {
		if *f.dst, err = idString(raw[f.key]); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", f.key, err)
		}
	}
	if e.Event, err = optString(raw, "event"); err != nil {
		return nil, err
	}
	if e.Name, err = optString(raw, "name"); err != nil {
		return nil, err
	}

	for _, f := range []struct {
		key string
		dst *time.Time
	}{
		{"timestamp", &e.Timestamp},
		{"originalTimestamp", &e.OriginalTimestamp},
		{"sentAt", &e.SentAt},
		{"receivedAt", &e.ReceivedAt},
	} {
		if *f.dst, err = timestamp(raw[f.key]); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", f.key, err)
		}
	}

	if e.Properties, err = optObject(raw, "properties"); err != nil {
		return nil, err
	}
	if e.Context, err = optObject(raw, "context"); err != nil {
		return nil, err
	}
	if e.Traits, err = optObject(raw, "traits"); err != nil {
		return nil, err
	}
	if e.Traits == nil && e.Context != nil {
		// Calls other than identify and group carry the user's traits in
		// context.traits (common.md).
		if e.Traits, err = optObject(e.Context, "traits"); err != nil {
			return nil, fmt.Errorf("decoding context: %w", err)
		}
	}
	return e, nil
}

func optString(m map[string]any, key string) (string, error) {
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("decoding %s: want a string, got %s", key, jsonType(v))
	}
}

func optObject(m map[string]any, key string) (map[string]any, error) {
	switch v := m[key].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	default:
		return nil, fmt.Errorf("decoding %s: want an object, got %s", key, jsonType(v))
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// idString reads an identifier: a string, a number (rendered as plain
// decimal text: 12345, 1.5e3 → 1500), or null/absent ("").
func idString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return plainNumber(string(x))
	}
	return "", fmt.Errorf("want a string or number, got %s", jsonType(v))
}

// maxIDExponent bounds the exponent of a numeric id so "1e999999999"
// cannot expand into a gigabyte of zeros.
const maxIDExponent = 100

// plainNumber renders a JSON number as decimal text without an exponent,
// exactly (no float rounding): "1.5e3" → "1500", "-12" → "-12",
// "1.250" → "1.250".
func plainNumber(s string) (string, error) {
	neg := strings.HasPrefix(s, "-")
	mant, exp := strings.TrimPrefix(s, "-"), 0
	if i := strings.IndexAny(mant, "eE"); i >= 0 {
		e, err := strconv.Atoi(mant[i+1:])
		if err != nil || e > maxIDExponent || e < -maxIDExponent {
			return "", fmt.Errorf("number %s is out of range for an id", s)
		}
		mant, exp = mant[:i], e
	}
	if exp == 0 {
		return s, nil
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	point := len(intPart) + exp // position of the decimal point in digits
	switch {
	case point <= 0:
		digits = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		digits += strings.Repeat("0", point-len(digits))
	default:
		digits = digits[:point] + "." + digits[point:]
	}
	// Drop leading zeros of the integer part ("0015" → "15", "00.5" → "0.5").
	for len(digits) > 1 && digits[0] == '0' && digits[1] != '.' {
		digits = digits[1:]
	}
	if neg {
		digits = "-" + digits
	}
	return digits, nil
}

// timestamp reads an ISO-8601 timestamp string. null or absent is the zero
// time; any other JSON type, or a string that is not RFC 3339 (with or
// without fractional seconds, "Z" or a numeric offset), is an error. The
// result is in UTC.
func timestamp(v any) (time.Time, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case string:
		// time.Parse accepts fractional seconds after the seconds field
		// even though the layouts do not mention them. The second layout
		// takes "+0000" offsets without a colon, which some non-JavaScript
		// libraries write.
		t, err := time.Parse("2006-01-02T15:04:05Z07:00", x)
		if err != nil {
			var err2 error
			if t, err2 = time.Parse("2006-01-02T15:04:05Z0700", x); err2 != nil {
				return time.Time{}, fmt.Errorf("%q is not an ISO-8601 timestamp", x)
			}
		}
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want an ISO-8601 string, got %s", jsonType(v))
}

func (e *Event) eventTime() (time.Time, bool) {
	has := func(t time.Time) bool { return !t.IsZero() }
	switch {
	case has(e.OriginalTimestamp) && has(e.SentAt) && has(e.ReceivedAt):
		// The device clock error is sentAt − receivedAt (transit assumed
		// negligible); subtract it from the device's event time.
		return e.ReceivedAt.Add(-e.SentAt.Sub(e.OriginalTimestamp)), true
	case has(e.Timestamp) && has(e.SentAt) && has(e.ReceivedAt):
		return e.ReceivedAt.Add(-e.SentAt.Sub(e.Timestamp)), true
	case has(e.Timestamp):
		return e.Timestamp, true
	case has(e.OriginalTimestamp):
		return e.OriginalTimestamp, true
	case has(e.ReceivedAt):
		return e.ReceivedAt, true
	}
	return time.Time{}, false
}

func (e *Event) lookup(path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	if v, ok := walk(e.Raw, path); ok {
		return v, true
	}
	// Traits live at the top level for identify and group, in
	// context.traits for everything else; a mapping written as traits.x
	// should find either.
	if rest, ok := strings.CutPrefix(path, "traits"); ok && (rest == "" || rest[0] == '.') {
		ctx, _ := e.Raw["context"].(map[string]any)
		traits, ok := ctx["traits"]
		if !ok {
			return nil, false
		}
		if rest == "" {
			return traits, true
		}
		return walk(traits, rest[1:])
	}
	return nil, false
}

// walk follows a dotted path through objects; a numeric segment indexes an
// array ("properties.products.0.sku").
func walk(v any, path string) (any, bool) {
	for path != "" {
		seg, rest, _ := strings.Cut(path, ".")
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
		path = rest
	}
	return v, true
}
