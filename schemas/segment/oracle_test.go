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

// The oracle is the decoder as it was before Decode stopped building the
// whole document as maps: it parses everything with jsonscan and reads the
// fields from the maps. The differential tests (compareWithOracle in
// differential_test.go, used by table tests and FuzzDecode) check that the
// span-based decoder gives the same errors, fields and lookups. Only
// plainNumber, unchanged, is shared.

// oracleKnownTypes are the event types of the Segment spec.
var oracleKnownTypes = map[string]bool{
	"identify": true, "track": true, "page": true,
	"screen": true, "group": true, "alias": true,
}

// oracleEvent is Event as it was, with the maps as fields.
type oracleEvent struct {
	Type, MessageID, UserID, AnonymousID, Event, Name, GroupID, PreviousID string

	Timestamp, OriginalTimestamp, SentAt, ReceivedAt time.Time

	Properties map[string]any
	Traits     map[string]any // identify/group traits, else context.traits
	Context    map[string]any

	// Raw is the whole decoded document (json.Decoder.UseNumber) for path lookups.
	Raw map[string]any
}

func oracleDecode(value []byte) (*oracleEvent, error) {
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
	e := &oracleEvent{Raw: raw}

	t, err := oracleOptString(raw, "type")
	if err != nil {
		return nil, err
	}
	if t == "" {
		return nil, errors.New("event has no type")
	}
	if e.Type = strings.ToLower(t); !oracleKnownTypes[e.Type] {
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
		if *f.dst, err = oracleIDString(raw[f.key]); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", f.key, err)
		}
	}
	if e.Event, err = oracleOptString(raw, "event"); err != nil {
		return nil, err
	}
	if e.Name, err = oracleOptString(raw, "name"); err != nil {
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
		if *f.dst, err = oracleTimestamp(raw[f.key]); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", f.key, err)
		}
	}

	if e.Properties, err = oracleOptObject(raw, "properties"); err != nil {
		return nil, err
	}
	if e.Context, err = oracleOptObject(raw, "context"); err != nil {
		return nil, err
	}
	if e.Traits, err = oracleOptObject(raw, "traits"); err != nil {
		return nil, err
	}
	if e.Traits == nil && e.Context != nil {
		// Calls other than identify and group carry the user's traits in
		// context.traits (common.md).
		if e.Traits, err = oracleOptObject(e.Context, "traits"); err != nil {
			return nil, fmt.Errorf("decoding context: %w", err)
		}
	}
	return e, nil
}

func oracleOptString(m map[string]any, key string) (string, error) {
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("decoding %s: want a string, got %s", key, oracleJSONType(v))
	}
}

func oracleOptObject(m map[string]any, key string) (map[string]any, error) {
	switch v := m[key].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	default:
		return nil, fmt.Errorf("decoding %s: want an object, got %s", key, oracleJSONType(v))
	}
}

func oracleJSONType(v any) string {
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
func oracleIDString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return plainNumber(string(x))
	}
	return "", fmt.Errorf("want a string or number, got %s", oracleJSONType(v))
}

// timestamp reads an ISO-8601 timestamp string. null or absent is the zero
// time; any other JSON type, or a string that is not RFC 3339 (with or
// without fractional seconds, "Z" or a numeric offset), is an error. The
// result is in UTC.
func oracleTimestamp(v any) (time.Time, error) {
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
	return time.Time{}, fmt.Errorf("want an ISO-8601 string, got %s", oracleJSONType(v))
}

func (e *oracleEvent) lookup(path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	if v, ok := oracleWalk(e.Raw, path); ok {
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
		return oracleWalk(traits, rest[1:])
	}
	return nil, false
}

// walk follows a dotted path through objects; a numeric segment indexes an
// array ("properties.products.0.sku").
func oracleWalk(v any, path string) (any, bool) {
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
