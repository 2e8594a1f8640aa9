package segment

import (
	"encoding/json"
	"testing"
)

// FuzzDecode checks Decode against the map-based oracle (same error text,
// fields, objects and lookups; see compareWithOracle) and its own
// invariants: it never panics, accepts only valid JSON, and an accepted
// event has a known type and a consistent event time.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		trackEvent, identifyEvent, benchIdentify, benchTrack, benchPage,
		`{"type":"page","name":"Home","anonymousId":"a","timestamp":"2024-01-01T00:00:00Z"}`,
		`{"type":"alias","previousId":1.5e3,"userId":42}`,
		`{"type":"group","groupId":"g","traits":{"name":"x"},"sentAt":"2024-05-01T12:00:00.5+0200"}`,
		`{"type":"screen","properties":{"a":[{"b":null}]},"context":{"traits":{"c":true}}}`,
		`{"type":"track","timestamp":1}`, `null`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	for _, s := range differentialInputs {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareWithOracle(t, data)
		e, err := Decode(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Decode accepted invalid JSON %q", data)
		}
		if !knownTypes[e.Type] {
			t.Fatalf("decoded type %q", e.Type)
		}
		if ts, ok := e.EventTime(); ok == ts.IsZero() {
			t.Fatalf("EventTime = %v, %v", ts, ok)
		}
		// Traits come from the event or its context, never from nowhere.
		if tr := e.Traits(); tr != nil && e.Raw()["traits"] == nil && e.Context()["traits"] == nil {
			t.Fatalf("traits %v without a source", tr)
		}
	})
}
