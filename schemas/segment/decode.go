package segment

import (
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

// specTypes are the event types spelled as the spec does, each boxed once:
// mappings test the type more often than anything else (a when-condition
// per mapping), and Lookup("type") returns these without decoding the
// string or boxing it again.
var specTypes = map[string]any{
	"identify": "identify", "track": "track", "page": "page",
	"screen": "screen", "group": "group", "alias": "alias",
}

// member is one top-level member of an event: the span of its key's bytes
// between the quotes (slow: they need jsonscan.DecodeString) and where its
// value starts.
type member struct {
	k0, k1 int
	v      int
	slow   bool
}

// The top-level members decode interprets, as indexes into decoder.at.
const (
	fType = iota
	fMessageID
	fUserID
	fAnonymousID
	fGroupID
	fPreviousID
	fEvent
	fName
	fTimestamp
	fOriginalTimestamp
	fSentAt
	fReceivedAt
	fProperties
	fContext
	fTraits
	numFields
)

// fieldNames are the member names of the fields, for error messages.
var fieldNames = [numFields]string{
	"type", "messageId", "userId", "anonymousId", "groupId", "previousId", "event", "name",
	"timestamp", "originalTimestamp", "sentAt", "receivedAt", "properties", "context", "traits",
}

// fieldOf returns the field a decoded member name is, -1 for any other
// member. A switch on string(key) compiles to comparisons without
// converting key.
func fieldOf(key []byte) int {
	switch string(key) {
	case "type":
		return fType
	case "messageId":
		return fMessageID
	case "userId":
		return fUserID
	case "anonymousId":
		return fAnonymousID
	case "groupId":
		return fGroupID
	case "previousId":
		return fPreviousID
	case "event":
		return fEvent
	case "name":
		return fName
	case "timestamp":
		return fTimestamp
	case "originalTimestamp":
		return fOriginalTimestamp
	case "sentAt":
		return fSentAt
	case "receivedAt":
		return fReceivedAt
	case "properties":
		return fProperties
	case "context":
		return fContext
	case "traits":
		return fTraits
	}
	return -1
}

// decoder interprets the fields of a validated document.
type decoder struct {
	doc []byte
	// at is where the value of each field starts, plus one; 0 when the
	// member is absent. Of a member that occurs twice, the last counts,
	// as it does in a map built from the document.
	at [numFields]int
	// ctxTraits is where the value of context.traits starts, plus one; 0
	// when the (last) context is no object or has no traits.
	ctxTraits int
}

func decode(value []byte) (*Event, error) {
	e := &Event{doc: value}
	e.members = e.buf[:0]
	d := decoder{doc: value}

	// One pass validates the whole document and notes where the members
	// are. Skip checks every value with the same grammar, errors and
	// nesting limit (jsonscan.MaxDepth; Segment events are shallow:
	// context.traits.address.city is four levels) as building it would,
	// so malformed JSON anywhere is an error now, and the lookups later
	// can read the bytes as trusted.
	s := jsonscan.Scanner{Data: value}
	object := s.Peek() == '{'
	var err error
	if object {
		err = s.Members(func(ks, ke int, slow bool) error {
			s.WS()
			e.members = append(e.members, member{k0: ks, k1: ke, v: s.Pos, slow: slow})
			key := value[ks:ke]
			if slow {
				key = []byte(jsonscan.DecodeString(key, true))
			}
			f := fieldOf(key)
			if f >= 0 {
				d.at[f] = s.Pos + 1
			}
			if f == fContext {
				d.ctxTraits = 0
				if s.Peek() == '{' {
					// Skip would do exactly this, but without noting
					// where context.traits is, which the traits
					// fallback needs and would otherwise search for.
					return s.Members(func(ks, ke int, slow bool) error {
						if jsonscan.StringEqual(value[ks:ke], slow, "traits") {
							s.WS()
							d.ctxTraits = s.Pos + 1
						}
						return s.Skip()
					})
				}
			}
			return s.Skip()
		})
	} else {
		// Not an object: report a syntax error if there is one, else the
		// shape.
		err = s.Skip()
	}
	if err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	// Anything but whitespace after the value means the input is not one
	// JSON document.
	if s.End() != nil {
		return nil, fmt.Errorf("decoding JSON: unexpected data after the event object at offset %d", s.Pos)
	}
	if !object {
		return nil, errors.New("event is not a JSON object")
	}
	if err := d.fields(e); err != nil {
		return nil, err
	}
	e.ctxTraits = d.ctxTraits
	return e, nil
}

// fields decodes the typed fields into e and checks the objects, in the
// order the checks have always run, so that a document with several faults
// reports the same one.
func (d *decoder) fields(e *Event) error {
	var err error
	if e.Type, e.typeValue, err = d.eventType(); err != nil {
		return err
	}

	// Identifiers: strings per the spec, but numeric ids turn up in the
	// wild (a database id passed through unquoted), so numbers are read as
	// their decimal text.
	for _, f := range []struct {
		field int
		dst   *string
	}{
		{fMessageID, &e.MessageID},
		{fUserID, &e.UserID},
		{fAnonymousID, &e.AnonymousID},
		{fGroupID, &e.GroupID},
		{fPreviousID, &e.PreviousID},
	} {
		if *f.dst, err = d.idString(f.field); err != nil {
			return fmt.Errorf("decoding %s: %w", fieldNames[f.field], err)
		}
	}
	if e.Event, err = d.optString(fEvent); err != nil {
		return err
	}
	if e.Name, err = d.optString(fName); err != nil {
		return err
	}

	for _, f := range []struct {
		field int
		dst   *time.Time
	}{
		{fTimestamp, &e.Timestamp},
		{fOriginalTimestamp, &e.OriginalTimestamp},
		{fSentAt, &e.SentAt},
		{fReceivedAt, &e.ReceivedAt},
	} {
		if *f.dst, err = d.timestamp(f.field); err != nil {
			return fmt.Errorf("decoding %s: %w", fieldNames[f.field], err)
		}
	}

	for _, f := range []int{fProperties, fContext, fTraits} {
		if p := d.pos(f); p >= 0 && d.doc[p] != '{' {
			return fmt.Errorf("decoding %s: want an object, got %s", fieldNames[f], jsonType(d.doc[p]))
		}
	}
	if d.pos(fTraits) < 0 && d.pos(fContext) >= 0 && d.ctxTraits > 0 {
		// Calls other than identify and group carry the user's traits in
		// context.traits (common.md), which must then be an object too.
		if c := d.doc[d.ctxTraits-1]; c != 'n' && c != '{' {
			return fmt.Errorf("decoding context: decoding traits: want an object, got %s", jsonType(c))
		}
	}
	return nil
}

// pos returns where the value of field f starts, -1 when the member is
// absent or null (which the spec treats alike).
func (d *decoder) pos(f int) int {
	p := d.at[f] - 1
	if p < 0 || d.doc[p] == 'n' {
		return -1
	}
	return p
}

// str decodes the string whose opening quote is at p.
func (d *decoder) str(p int) (string, error) {
	s := jsonscan.Scanner{Data: d.doc, Pos: p}
	return s.Str()
}

// eventType reads the type, lower-cased, and for a type spelled as the
// spec does also the member's value as Lookup returns it.
func (d *decoder) eventType() (string, any, error) {
	p := d.pos(fType)
	if p < 0 {
		return "", nil, errors.New("event has no type")
	}
	if d.doc[p] != '"' {
		return "", nil, fmt.Errorf("decoding type: want a string, got %s", jsonType(d.doc[p]))
	}
	s := jsonscan.Scanner{Data: d.doc, Pos: p}
	start, end, slow, err := s.RawString()
	if err != nil {
		return "", nil, err
	}
	if !slow {
		if v, ok := specTypes[string(d.doc[start:end])]; ok {
			t, _ := v.(string)
			return t, v, nil
		}
	}
	t := jsonscan.DecodeString(d.doc[start:end], slow)
	if t == "" {
		return "", nil, errors.New("event has no type")
	}
	// strings.ToLower, not an ASCII fold: it has always decided which
	// spellings are known.
	if lt := strings.ToLower(t); knownTypes[lt] {
		return lt, nil, nil
	}
	return "", nil, fmt.Errorf("unknown event type %q", t)
}

func (d *decoder) optString(f int) (string, error) {
	p := d.pos(f)
	switch {
	case p < 0:
		return "", nil
	case d.doc[p] == '"':
		return d.str(p)
	}
	return "", fmt.Errorf("decoding %s: want a string, got %s", fieldNames[f], jsonType(d.doc[p]))
}

// jsonType names the type of the (non-null) value starting with c.
func jsonType(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// idString reads an identifier: a string, a number (rendered as plain
// decimal text: 12345, 1.5e3 → 1500), or null/absent ("").
func (d *decoder) idString(f int) (string, error) {
	p := d.pos(f)
	if p < 0 {
		return "", nil
	}
	switch c := d.doc[p]; {
	case c == '"':
		return d.str(p)
	case c == '-' || '0' <= c && c <= '9':
		s := jsonscan.Scanner{Data: d.doc, Pos: p}
		start, end, err := s.Number()
		if err != nil {
			return "", err
		}
		return plainNumber(string(d.doc[start:end]))
	}
	return "", fmt.Errorf("want a string or number, got %s", jsonType(d.doc[p]))
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
// time; any other JSON type is an error.
func (d *decoder) timestamp(f int) (time.Time, error) {
	p := d.pos(f)
	if p < 0 {
		return time.Time{}, nil
	}
	if d.doc[p] != '"' {
		return time.Time{}, fmt.Errorf("want an ISO-8601 string, got %s", jsonType(d.doc[p]))
	}
	s := jsonscan.Scanner{Data: d.doc, Pos: p}
	start, end, slow, err := s.RawString()
	if err != nil {
		return time.Time{}, err
	}
	if !slow {
		// Time.UnmarshalText is time.Parse with the first layout below
		// (it may only reject more, never accept differently), reading
		// the bytes without copying them into a string.
		var t time.Time
		if t.UnmarshalText(d.doc[start:end]) == nil {
			return t.UTC(), nil
		}
	}
	return parseTimestamp(jsonscan.DecodeString(d.doc[start:end], slow))
}

// parseTimestamp parses RFC 3339 (with or without fractional seconds, "Z"
// or a numeric offset); any other text is an error. The result is in UTC.
func parseTimestamp(x string) (time.Time, error) {
	// time.Parse accepts fractional seconds after the seconds field even
	// though the layouts do not mention them. The second layout takes
	// "+0000" offsets without a colon, which some non-JavaScript libraries
	// write.
	t, err := time.Parse("2006-01-02T15:04:05Z07:00", x)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse("2006-01-02T15:04:05Z0700", x); err2 != nil {
			return time.Time{}, fmt.Errorf("%q is not an ISO-8601 timestamp", x)
		}
	}
	return t.UTC(), nil
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

// top returns where the value of the top-level member named key starts;
// of a key that occurs twice, the last member counts.
func (e *Event) top(key string) (int, bool) {
	for i := len(e.members) - 1; i >= 0; i-- {
		m := &e.members[i]
		if jsonscan.StringEqual(e.doc[m.k0:m.k1], m.slow, key) {
			return m.v, true
		}
	}
	return 0, false
}

// traitsPos returns where the traits object Traits reads starts: the
// top-level traits unless absent or null, else context.traits.
func (e *Event) traitsPos() (int, bool) {
	if p, ok := e.top("traits"); ok && e.doc[p] != 'n' {
		return p, true
	}
	return e.ctxTraits - 1, e.ctxTraits > 0
}

// object builds the object at p; nil when there is none or it is null.
func (e *Event) object(p int, ok bool) map[string]any {
	if !ok {
		return nil
	}
	s := jsonscan.Scanner{Data: e.doc, Pos: p}
	if s.Peek() != '{' {
		return nil
	}
	m, err := s.Object()
	if err != nil { // cannot happen: Decode validated the document
		return nil
	}
	return m
}

// value decodes the value at p.
func (e *Event) value(p int) (any, bool) {
	s := jsonscan.Scanner{Data: e.doc, Pos: p}
	v, err := s.Value()
	if err != nil { // cannot happen: Decode validated the document
		return nil, false
	}
	return v, true
}

func (e *Event) lookup(path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	if path == "type" && e.typeValue != nil {
		return e.typeValue, true
	}
	seg, rest, _ := strings.Cut(path, ".")
	if p, ok := e.top(seg); ok {
		if v, ok := e.walk(p, rest); ok {
			return v, true
		}
	}
	// Traits live at the top level for identify and group, in
	// context.traits for everything else; a mapping written as traits.x
	// should find either.
	if rest, ok := strings.CutPrefix(path, "traits"); ok && (rest == "" || rest[0] == '.') {
		if e.ctxTraits == 0 {
			return nil, false
		}
		if rest == "" {
			return e.value(e.ctxTraits - 1)
		}
		return e.walk(e.ctxTraits-1, rest[1:])
	}
	return nil, false
}

// walk follows a dotted path from the value at p through objects; a
// numeric segment indexes an array ("products.0.sku"). Only the value at
// the end is decoded.
func (e *Event) walk(p int, path string) (any, bool) {
	for path != "" {
		seg, rest, _ := strings.Cut(path, ".")
		s := jsonscan.Scanner{Data: e.doc, Pos: p}
		var ok bool
		switch e.doc[p] {
		case '{':
			p, ok = s.MemberTrusted(seg)
		case '[':
			i, err := strconv.Atoi(seg)
			if err != nil {
				return nil, false
			}
			p, ok = s.ElementTrusted(i)
		}
		if !ok {
			return nil, false
		}
		path = rest
	}
	return e.value(p)
}
