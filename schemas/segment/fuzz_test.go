package segment

import (
	"encoding/json"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		trackEvent, identifyEvent,
		`{"type":"page","name":"Home","anonymousId":"a","timestamp":"2024-01-01T00:00:00Z"}`,
		`{"type":"alias","previousId":1.5e3,"userId":42}`,
		`{"type":"group","groupId":"g","traits":{"name":"x"},"sentAt":"2024-05-01T12:00:00.5+0200"}`,
		`{"type":"screen","properties":{"a":[{"b":null}]},"context":{"traits":{"c":true}}}`,
		`{"type":"track","timestamp":1}`, `null`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	paths := []string{"userId", "traits.email", "traits", "properties.products.0.sku", "context.traits.plan", "a..b", "."}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(data)
		if err != nil {
			if e != nil {
				t.Fatalf("Decode returned an event and an error: %v", err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Decode accepted invalid JSON %q", data)
		}
		if !knownTypes[e.Type] || e.Raw == nil {
			t.Fatalf("decoded type %q, raw %v", e.Type, e.Raw)
		}
		if ts, ok := e.EventTime(); ok == ts.IsZero() {
			t.Fatalf("EventTime = %v, %v", ts, ok)
		}
		for _, p := range paths {
			e.Lookup(p)
		}
		// Traits come from the event or its context, never from nowhere.
		if e.Traits != nil && e.Raw["traits"] == nil && e.Context["traits"] == nil {
			t.Fatalf("traits %v without a source", e.Traits)
		}
	})
}
