// Package segment decodes clickstream events written to the Segment spec
// (page, track, identify, screen, alias, group), which RudderStack also follows.
package segment

import (
	"time"
)

// Event is one decoded Segment event.
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

	Properties map[string]any
	Traits     map[string]any // identify/group traits, else context.traits
	Context    map[string]any

	// Raw is the whole decoded document (json.Decoder.UseNumber) for path lookups.
	Raw map[string]any
}

// Decode decodes one event. It returns an error for invalid JSON, a missing or
// unknown type, or timestamps that are not ISO-8601; it never panics.
func Decode(value []byte) (*Event, error) { return decode(value) }

// EventTime returns when the event happened, corrected for client clock skew:
// with originalTimestamp, sentAt and receivedAt: receivedAt − (sentAt −
// originalTimestamp) (Segment's own formula); else with timestamp, sentAt and
// receivedAt: receivedAt − (sentAt − timestamp); else timestamp, else
// originalTimestamp, else receivedAt. ok is false if none is present.
func (e *Event) EventTime() (t time.Time, ok bool) { return e.eventTime() }

// Lookup returns the value at a dotted path of the raw document, e.g.
// "properties.product_id" or "traits.email" (traits also resolve through
// context.traits). Values are as decoded (json.Number, string, bool, ...).
func (e *Event) Lookup(path string) (any, bool) { return e.lookup(path) }
