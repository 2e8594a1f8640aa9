// Package segment decodes clickstream events written to the Segment spec
// (page, track, identify, screen, alias, group), which RudderStack also follows.
package segment

import (
	"time"
)

// Event is one decoded Segment event.
//
// Decode reads the typed fields below; everything else (properties,
// context, traits, custom members) stays as byte spans of the input that
// Lookup walks on demand. Mappers read a handful of paths per event, and
// building the whole document as maps was most of the mapper's cost for a
// clickstream event (BenchmarkMap/clickstream in processor/ingest).
type Event struct {
	Type        string // identify, track, page, screen, group, alias
	MessageID   string
	UserID      string
	AnonymousID string
	Event       string // track event name
	Name        string // page or screen name
	GroupID     string
	PreviousID  string

	Timestamp, OriginalTimestamp, SentAt, ReceivedAt time.Time // zero when absent

	// doc is the validated input; members are its top-level members in
	// document order, backed by buf for events of usual size.
	doc     []byte
	members []member
	buf     [16]member
	// ctxTraits is where the value of context.traits starts, plus one; 0
	// if there is none (of the last context member, if it is an object).
	// Plus one so that the zero Event finds nothing.
	ctxTraits int
	// typeValue is what Lookup("type") returns when the type is spelled
	// as the spec does, else nil.
	typeValue any
}

// Decode decodes one event. It returns an error for invalid JSON, a missing or
// unknown type, or timestamps that are not ISO-8601; it never panics.
//
// The event refers to value for its lookups: value must not be modified
// while the event is in use. Everything the event returns is a copy.
func Decode(value []byte) (*Event, error) { return decode(value) }

// EventTime returns when the event happened, corrected for client clock skew:
// with originalTimestamp, sentAt and receivedAt: receivedAt − (sentAt −
// originalTimestamp) (Segment's own formula); else with timestamp, sentAt and
// receivedAt: receivedAt − (sentAt − timestamp); else timestamp, else
// originalTimestamp, else receivedAt. ok is false if none is present.
func (e *Event) EventTime() (t time.Time, ok bool) { return e.eventTime() }

// Lookup returns the value at a dotted path of the raw document, e.g.
// "properties.product_id" or "traits.email" (traits also resolve through
// context.traits); a numeric segment indexes an array
// ("properties.products.0.sku"). Values are as json.Decoder with UseNumber
// decodes them (json.Number, string, bool, nil, map[string]any, []any); of
// a key that occurs twice in an object, the last member counts.
func (e *Event) Lookup(path string) (any, bool) { return e.lookup(path) }

// Properties returns the properties object, nil when absent or null. It
// builds a new map on each call; Lookup reads single values for less.
func (e *Event) Properties() map[string]any { return e.object(e.top("properties")) }

// Context returns the context object, nil when absent or null. It builds a
// new map on each call.
func (e *Event) Context() map[string]any { return e.object(e.top("context")) }

// Traits returns the top-level traits object, which identify and group
// calls carry, else context.traits, where other calls carry the user's
// traits; nil when neither is present. It builds a new map on each call.
func (e *Event) Traits() map[string]any { return e.object(e.traitsPos()) }

// Raw returns the whole document as json.Decoder with UseNumber decodes it.
// It builds a new map on each call.
func (e *Event) Raw() map[string]any { return e.object(0, true) }
