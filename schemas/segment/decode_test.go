package segment

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func mustDecode(t *testing.T, in string) *Event {
	t.Helper()
	e, err := Decode([]byte(in))
	if err != nil {
		t.Fatalf("Decode: %v\ninput: %s", err, in)
	}
	return e
}

// Examples in the shape of the Segment spec pages (common.md, track.md, ...).
const (
	trackEvent = `{
  "type": "track",
  "event": "Order Completed",
  "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
  "anonymousId": "507f191e810c19729de860ea",
  "userId": "97980cfea0067",
  "properties": {"order_id": "50314b8e9bcf000000000000", "total": 27.5, "revenue": 25.00, "currency": "USD",
                 "products": [{"product_id": "507f1f77bcf86cd799439011", "sku": "45790-32", "price": 19, "quantity": 1}]},
  "context": {"ip": "8.8.8.8", "library": {"name": "analytics.js", "version": "2.11.1"},
              "page": {"path": "/checkout", "url": "https://shop.example.com/checkout"},
              "traits": {"email": "peter@example.com", "plan": "premium"}},
  "originalTimestamp": "2015-12-12T19:11:01.249Z",
  "sentAt": "2015-12-12T19:11:01.266Z",
  "receivedAt": "2015-12-12T19:11:01.264Z",
  "timestamp": "2015-12-12T19:11:01.247Z",
  "version": 2
}`
	identifyEvent = `{"type":"identify","messageId":"m-2","anonymousId":"anon-1","userId":"user-1",
  "traits":{"email":"peter@example.com","firstName":"Peter","address":{"city":"San Francisco"}},
  "context":{"traits":{"email":"old@example.com","plan":"free"}},
  "timestamp":"2015-02-23T22:28:55.111Z"}`
)

func TestDecodeTypes(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		check func(t *testing.T, e *Event)
	}{
		{"track", trackEvent, func(t *testing.T, e *Event) {
			if e.Type != "track" || e.Event != "Order Completed" || e.UserID != "97980cfea0067" ||
				e.AnonymousID != "507f191e810c19729de860ea" || e.MessageID != "ajs-f8ca1e4de5024d9430b3928bd8ac6b96" {
				t.Errorf("ids/name: %+v", e)
			}
			if e.Properties()["currency"] != "USD" || e.Properties()["total"] != json.Number("27.5") {
				t.Errorf("properties = %v", e.Properties())
			}
			// A track call's traits are context.traits.
			if e.Traits()["plan"] != "premium" || e.Context()["ip"] != "8.8.8.8" {
				t.Errorf("traits %v context %v", e.Traits(), e.Context())
			}
			if !e.Timestamp.Equal(mustTime("2015-12-12T19:11:01.247Z")) || !e.SentAt.Equal(mustTime("2015-12-12T19:11:01.266Z")) {
				t.Errorf("timestamps %v %v", e.Timestamp, e.SentAt)
			}
		}},
		{"identify", identifyEvent, func(t *testing.T, e *Event) {
			// Top-level traits win over context.traits.
			if e.Type != "identify" || e.Traits()["email"] != "peter@example.com" || e.Traits()["plan"] != nil {
				t.Errorf("identify: %+v", e)
			}
		}},
		{"page", `{"type":"page","name":"Pricing","userId":"u","properties":{"path":"/pricing","title":"Pricing"},"timestamp":"2024-01-01T00:00:00Z"}`,
			func(t *testing.T, e *Event) {
				if e.Type != "page" || e.Name != "Pricing" || e.Properties()["path"] != "/pricing" {
					t.Errorf("page: %+v", e)
				}
			}},
		{"screen", `{"type":"screen","name":"Home","anonymousId":"a","properties":{"variation":"blue"},"timestamp":"2024-01-01T00:00:00Z"}`,
			func(t *testing.T, e *Event) {
				if e.Type != "screen" || e.Name != "Home" || e.Properties()["variation"] != "blue" {
					t.Errorf("screen: %+v", e)
				}
			}},
		{"group", `{"type":"group","groupId":"0e8c78ea9d97a7b8185e8632","userId":"u","traits":{"name":"Initech","industry":"Technology"},"timestamp":"2024-01-01T00:00:00Z"}`,
			func(t *testing.T, e *Event) {
				if e.Type != "group" || e.GroupID != "0e8c78ea9d97a7b8185e8632" || e.Traits()["name"] != "Initech" {
					t.Errorf("group: %+v", e)
				}
			}},
		{"alias", `{"type":"alias","previousId":"anon-39ba","userId":"507f191e81","timestamp":"2024-01-01T00:00:00Z"}`,
			func(t *testing.T, e *Event) {
				if e.Type != "alias" || e.PreviousID != "anon-39ba" || e.UserID != "507f191e81" {
					t.Errorf("alias: %+v", e)
				}
			}},
		{"type case-insensitive", `{"type":"Track","event":"x","anonymousId":"a"}`, func(t *testing.T, e *Event) {
			if e.Type != "track" {
				t.Errorf("type = %q", e.Type)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustDecode(t, tc.in)
			if raw := e.Raw(); raw == nil || raw["type"] == nil {
				t.Fatal("Raw not set")
			}
			tc.check(t, e)
		})
	}
}

func TestDecodeIdentifiers(t *testing.T) {
	// Anonymous-only event: no userId at all.
	e := mustDecode(t, `{"type":"page","anonymousId":"6f1a-4b","timestamp":"2024-01-01T00:00:00Z"}`)
	if e.AnonymousID != "6f1a-4b" || e.UserID != "" {
		t.Errorf("anonymous-only: %+v", e)
	}
	// No ids at all decodes; the pipeline decides what to do without one.
	e = mustDecode(t, `{"type":"track","event":"Ping"}`)
	if e.UserID != "" || e.AnonymousID != "" || e.MessageID != "" {
		t.Errorf("missing ids: %+v", e)
	}
	// Null ids are absent ids.
	e = mustDecode(t, `{"type":"track","userId":null,"anonymousId":"a"}`)
	if e.UserID != "" || e.AnonymousID != "a" {
		t.Errorf("null userId: %+v", e)
	}
	// Numeric ids, as some server-side callers send them.
	for in, want := range map[string]string{
		`12345`:                "12345",
		`-7`:                   "-7",
		`98765432109876543210`: "98765432109876543210", // beyond int64, kept exact
		`1.5e3`:                "1500",
		`12E-1`:                "1.2",
		`2.50`:                 "2.50",
		`5e-3`:                 "0.005",
	} {
		e := mustDecode(t, `{"type":"identify","userId":`+in+`,"groupId":`+in+`,"messageId":`+in+`}`)
		if e.UserID != want || e.GroupID != want || e.MessageID != want {
			t.Errorf("numeric id %s -> %q/%q/%q, want %q", in, e.UserID, e.GroupID, e.MessageID, want)
		}
	}
}

func TestEventTimeClockSkew(t *testing.T) {
	// The device clock runs 5 minutes fast: it stamped the event 10:00:00
	// and the batch 10:00:30 (device time), and Segment received the batch
	// at 09:55:31 (server time). The device clock error is
	// sentAt − receivedAt = 4m59s, so the event happened at
	// 09:55:31 − (10:00:30 − 10:00:00) = 09:55:01.
	e := mustDecode(t, `{"type":"track","event":"Product Added","anonymousId":"a",
	  "originalTimestamp":"2024-05-01T10:00:00Z","sentAt":"2024-05-01T10:00:30Z","receivedAt":"2024-05-01T09:55:31Z"}`)
	got, ok := e.EventTime()
	if want := mustTime("2024-05-01T09:55:01Z"); !ok || !got.Equal(want) {
		t.Errorf("EventTime = %v, %v; want %v", got, ok, want)
	}

	cases := []struct {
		name, fields string
		want         string // "" for !ok
	}{
		{"original, sent and received (offsets and fractions)",
			`"originalTimestamp":"2024-05-01T12:00:00.250+02:00","sentAt":"2024-05-01T10:00:01.000Z","receivedAt":"2024-05-01T10:00:03.500Z",` +
				`"timestamp":"2000-01-01T00:00:00Z"`,
			"2024-05-01T10:00:02.750Z"},
		{"timestamp, sent and received", `"timestamp":"2024-05-01T10:00:00Z","sentAt":"2024-05-01T10:00:10Z","receivedAt":"2024-05-01T10:00:05Z"`,
			"2024-05-01T09:59:55Z"},
		{"timestamp only", `"timestamp":"2024-05-01T10:00:00.123456Z"`, "2024-05-01T10:00:00.123456Z"},
		{"timestamp and received, no sentAt", `"timestamp":"2024-05-01T10:00:00Z","receivedAt":"2024-05-01T11:00:00Z"`, "2024-05-01T10:00:00Z"},
		{"originalTimestamp only", `"originalTimestamp":"2024-05-01T10:00:00-05:00"`, "2024-05-01T15:00:00Z"},
		{"receivedAt only", `"receivedAt":"2024-05-01T10:00:00Z"`, "2024-05-01T10:00:00Z"},
		{"none", `"event":"x"`, ""},
		{"null timestamps are absent", `"timestamp":null,"receivedAt":"2024-05-01T10:00:00Z"`, "2024-05-01T10:00:00Z"},
	}
	for _, tc := range cases {
		e := mustDecode(t, `{"type":"track","anonymousId":"a",`+tc.fields+`}`)
		got, ok := e.EventTime()
		if tc.want == "" {
			if ok {
				t.Errorf("%s: EventTime = %v, want none", tc.name, got)
			}
			continue
		}
		if want := mustTime(tc.want); !ok || !got.Equal(want) {
			t.Errorf("%s: EventTime = %v, %v; want %v", tc.name, got, ok, want)
		}
		if got.Location() != time.UTC {
			t.Errorf("%s: EventTime not in UTC: %v", tc.name, got)
		}
	}
}

func TestDecodeTimestampFormats(t *testing.T) {
	for in, want := range map[string]string{
		"2024-05-01T10:00:00Z":           "2024-05-01T10:00:00Z",
		"2024-05-01T10:00:00.1Z":         "2024-05-01T10:00:00.1Z",
		"2024-05-01T10:00:00.123456789Z": "2024-05-01T10:00:00.123456789Z",
		"2024-05-01T12:00:00+02:00":      "2024-05-01T10:00:00Z",
		"2024-05-01T12:00:00.5+0200":     "2024-05-01T10:00:00.5Z",
	} {
		e := mustDecode(t, `{"type":"track","timestamp":"`+in+`"}`)
		if !e.Timestamp.Equal(mustTime(want)) {
			t.Errorf("timestamp %s -> %v, want %s", in, e.Timestamp, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ name, in, contains string }{
		{"invalid JSON", `{"type":"track"`, "decoding JSON"},
		{"trailing data", `{"type":"track"} {}`, "after the event"},
		{"not an object", `["track"]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"empty", ``, "decoding JSON"},
		{"missing type", `{"event":"x"}`, "no type"},
		{"unknown type", `{"type":"pageview"}`, "unknown event type"},
		{"type not a string", `{"type":1}`, "type"},
		{"numeric timestamp", `{"type":"track","timestamp":1714557600}`, "decoding timestamp"},
		{"date-only timestamp", `{"type":"track","sentAt":"2024-05-01"}`, "decoding sentAt"},
		{"garbage timestamp", `{"type":"track","receivedAt":"yesterday"}`, "decoding receivedAt"},
		{"empty timestamp", `{"type":"track","originalTimestamp":""}`, "decoding originalTimestamp"},
		{"space-separated timestamp", `{"type":"track","timestamp":"2024-05-01 10:00:00Z"}`, "ISO-8601"},
		{"userId object", `{"type":"track","userId":{"id":1}}`, "decoding userId"},
		{"anonymousId bool", `{"type":"track","anonymousId":true}`, "decoding anonymousId"},
		{"huge numeric id", `{"type":"track","userId":1e999}`, "out of range"},
		{"event not a string", `{"type":"track","event":5}`, "decoding event"},
		{"properties not an object", `{"type":"track","properties":[1]}`, "decoding properties"},
		{"traits not an object", `{"type":"identify","traits":"x"}`, "decoding traits"},
		{"context.traits not an object", `{"type":"track","context":{"traits":[]}}`, "decoding context"},
		{"too deep", `{"type":"track","properties":` + strings.Repeat(`{"a":`, 80) + `1` + strings.Repeat(`}`, 80) + `}`, "nesting deeper"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Decode([]byte(tc.in))
			if err == nil {
				t.Fatalf("decoded %+v, want an error", e)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not mention %q", err, tc.contains)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	e := mustDecode(t, trackEvent)
	cases := []struct {
		path string
		want any // nil with ok false for absent
		ok   bool
	}{
		{"event", "Order Completed", true},
		{"properties.currency", "USD", true},
		{"properties.total", json.Number("27.5"), true},
		{"properties.products.0.sku", "45790-32", true},
		{"properties.products.1.sku", nil, false},
		{"properties.products.x", nil, false},
		{"context.page.path", "/checkout", true},
		{"traits.email", "peter@example.com", true}, // through context.traits
		{"traits.missing", nil, false},
		{"properties.missing", nil, false},
		{"properties.currency.deeper", nil, false},
		{"version", json.Number("2"), true},
		{"", nil, false},
	}
	for _, tc := range cases {
		got, ok := e.Lookup(tc.path)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
	if tr, ok := e.Lookup("traits"); !ok || tr.(map[string]any)["plan"] != "premium" {
		t.Errorf("Lookup(traits) = %v, %v", tr, ok)
	}

	// identify: top-level traits first, context.traits for what they lack.
	e = mustDecode(t, identifyEvent)
	for path, want := range map[string]any{
		"traits.email":        "peter@example.com",
		"traits.plan":         "free",
		"traits.address.city": "San Francisco",
	} {
		if got, ok := e.Lookup(path); !ok || got != want {
			t.Errorf("identify Lookup(%q) = %v, %v; want %v", path, got, ok, want)
		}
	}
	// A present null is present.
	e = mustDecode(t, `{"type":"identify","traits":{"phone":null},"context":{"traits":{"phone":"+1"}}}`)
	if got, ok := e.Lookup("traits.phone"); !ok || got != nil {
		t.Errorf("null trait: Lookup = %v, %v", got, ok)
	}
}
