package segment

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixedPaths are looked up in every differential comparison, on top of the
// paths found in the document: the reference configuration's paths, the
// traits fallback with its edge cases, and malformed paths.
var fixedPaths = []string{
	"", ".", "..", "a..b", "a.", ".a", "type", "userId", "anonymousId", "messageId", "event", "name", "version",
	"traits", "traits.", "traits..", "traitsx", "traits.email", "traits.first_name", "traits.firstName",
	"traits.address.city", "traits.0", "context", "context.traits", "context.traits.email", "context.page.url",
	"properties", "properties.total", "properties.product_id", "properties.products.0.sku",
	"properties.products.-0.sku", "properties.products.+0.sku", "properties.products.00.sku",
	"properties.products.1.sku", "properties.products.-1", "properties.products.x", "x.y.z",
}

// compareWithOracle decodes data with Decode and with the map-based oracle
// and fails on any difference: the error (by its text), the typed fields,
// the objects, and Lookup of the fixed paths plus every path into the
// document (each member and element, one past the end of each array, a
// missing member under each value, and context.traits paths spelled as
// traits paths).
func compareWithOracle(t *testing.T, data []byte) {
	t.Helper()
	// A copy whose capacity is its length, so reading past the end panics
	// instead of reading spare capacity.
	data = append([]byte(nil), data...)[:len(data):len(data)]
	got, err := Decode(data)
	want, wantErr := oracleDecode(data)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("input %q:\nDecode error %v\noracle error %v", data, err, wantErr)
	}
	if err != nil {
		if got != nil {
			t.Fatalf("input %q: Decode returned an event and an error: %v", data, err)
		}
		return
	}
	gotFields := [...]string{got.Type, got.MessageID, got.UserID, got.AnonymousID, got.Event, got.Name, got.GroupID, got.PreviousID}
	wantFields := [...]string{want.Type, want.MessageID, want.UserID, want.AnonymousID, want.Event, want.Name, want.GroupID, want.PreviousID}
	if gotFields != wantFields {
		t.Errorf("input %q: fields %q, oracle %q", data, gotFields, wantFields)
	}
	gotTimes := [...]time.Time{got.Timestamp, got.OriginalTimestamp, got.SentAt, got.ReceivedAt}
	wantTimes := [...]time.Time{want.Timestamp, want.OriginalTimestamp, want.SentAt, want.ReceivedAt}
	if gotTimes != wantTimes {
		t.Errorf("input %q: timestamps %v, oracle %v", data, gotTimes, wantTimes)
	}
	for _, o := range []struct {
		name      string
		got, want map[string]any
	}{
		{"Properties", got.Properties(), want.Properties},
		{"Context", got.Context(), want.Context},
		{"Traits", got.Traits(), want.Traits},
		{"Raw", got.Raw(), want.Raw},
	} {
		// DeepEqual tells a nil map from an empty one, as callers may.
		if !reflect.DeepEqual(o.got, o.want) {
			t.Errorf("input %q: %s = %#v, oracle %#v", data, o.name, o.got, o.want)
		}
	}
	paths := slices.Clone(fixedPaths)
	budget := 400
	documentPaths(want.Raw, "", &paths, &budget)
	for _, p := range paths {
		v, ok := got.Lookup(p)
		wv, wok := want.lookup(p)
		if ok != wok || !reflect.DeepEqual(v, wv) {
			t.Errorf("input %q: Lookup(%q) = %#v, %v; oracle %#v, %v", data, p, v, ok, wv, wok)
		}
	}
}

// documentPaths appends paths into v below prefix, at most budget of them.
func documentPaths(v any, prefix string, out *[]string, budget *int) {
	add := func(p string) {
		if *budget > 0 {
			*out = append(*out, p)
			*budget--
			if rest, ok := strings.CutPrefix(p, "context.traits"); ok {
				*out = append(*out, "traits"+rest)
			}
		}
	}
	join := func(seg string) string {
		if prefix == "" {
			return seg
		}
		return prefix + "." + seg
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			add(join(k))
			documentPaths(x[k], join(k), out, budget)
		}
		add(join("no-such-member"))
	case []any:
		for i, el := range x {
			add(join(fmt.Sprint(i)))
			documentPaths(el, join(fmt.Sprint(i)), out, budget)
		}
		add(join(fmt.Sprint(len(x))))
		add(join("+0"))
		add(join("first"))
	default:
		if prefix != "" {
			add(join("0"))
		}
	}
}

// differentialInputs are documents whose decoding is easy to get subtly
// wrong without maps: repeated members, escaped and odd keys, traits in
// both places, nulls, every fault in each position, nesting at the limit.
var differentialInputs = []string{
	trackEvent, identifyEvent, benchIdentify, benchTrack, benchPage,
	// Repeated members: the last one counts, at every level, also when
	// an earlier one was valid and a later one is not (and vice versa).
	`{"type":"alias","type":"track","userId":"a","userId":7,"properties":{"a":1,"a":{"b":2}},"properties":{"a":[3]}}`,
	`{"type":"track","context":{"traits":{"email":"a"},"traits":{"name":"b"}},"context":{"ip":"1"}}`,
	`{"type":"track","context":{"traits":"x"},"context":{"traits":{"email":"e"}}}`,
	`{"type":"track","context":{"traits":{"email":"e"},"traits":"x"}}`,
	`{"type":"track","context":{"traits":{"email":"e"},"traits":null}}`,
	`{"type":"track","timestamp":5,"timestamp":"2024-01-01T00:00:00Z"}`,
	`{"type":"track","timestamp":"2024-01-01T00:00:00Z","timestamp":5}`,
	`{"type":1,"type":"page"}`,
	`{"type":"page","type":null}`,
	// Escaped, non-ASCII and odd keys.
	`{"\u0074ype":"track","user\u0049d":"u","prop\u0065rties":{"\u0070rice":1.5},"traits":{"caf\u00e9":"x","café":"y"}}`,
	"{\"type\":\"track\",\"properties\":{\"caf\xc3\xa9\":1,\"bad\xff\":2,\"a.b\":3,\"\":4,\"0\":5}}",
	`{"type":"track","":{"":{"":1}},".":2}`,
	`{"type":"\u0074rack"}`, `{"type":"TRACK"}`, `{"type":"Identify"}`, `{"type":"trac\u212a"}`, `{"type":""}`,
	`{"type":"track\u0000"}`, `{"type":"page","name":"\ud83d\ude00 \ud800"}`,
	// Traits in both places, null or empty.
	`{"type":"identify","traits":null,"context":{"traits":{"email":"c"}}}`,
	`{"type":"identify","traits":{},"context":{"traits":{"email":"c"}}}`,
	`{"type":"identify","traits":{"email":null},"context":{"traits":{"email":"c","plan":"p"}}}`,
	`{"type":"group","traits":{"name":"n"},"context":{"traits":[1]}}`,
	`{"type":"group","traits":{"name":"n"},"context":"x"}`,
	`{"type":"track","context":null}`, `{"type":"track","context":{}}`, `{"type":"track","context":{"traits":null}}`,
	`{"type":"track","traits":[1,2],"context":{"traits":{"a":1}}}`,
	`{"type":"track","traits":"x"}`, `{"type":"track","context":{"traits":7}}`, `{"type":"track","context":{"traits":true}}`,
	// Arrays and scalars along paths.
	`{"type":"track","properties":{"products":[{"sku":"a"},{"sku":"b","sku":"c"}],"n":[[1,[2]],[]],"s":"str","z":null}}`,
	` { "type" : "track" , "properties" : { "products" : [ { "sku" : "a" } , 2 ] } , "version" : 2 } `,
	"\t{\"type\":\"track\",\n\"properties\":\r{\"a\" :\t[ ]}}\n",
	// Identifiers of every kind.
	`{"type":"identify","userId":12345,"anonymousId":-7,"groupId":1.5e3,"previousId":12E-1,"messageId":2.50}`,
	`{"type":"identify","userId":1e999}`, `{"type":"identify","userId":true}`, `{"type":"identify","groupId":[1]}`,
	`{"type":"identify","previousId":{"a":1}}`, `{"type":"track","messageId":"\u0041"}`,
	// Faults in every position, in the order they are reported.
	`{"type":"track","event":5}`, `{"type":"page","name":false}`, `{"type":"track","event":{}}`,
	`{"type":"track","sentAt":"2024-05-01","properties":[1]}`, `{"type":"track","properties":"x","context":[]}`,
	`{"type":"track","context":1,"traits":2}`, `{"type":"track","traits":2,"userId":{}}`,
	`{"type":"pageview","userId":{}}`, `{"userId":{}}`, `{"type":null}`, `{}`, `{"type":[]}`,
	`{"type":"track","timestamp":"2024-05-01T12:00:00.5+0200","sentAt":"2024-02-30T00:00:00Z"}`,
	`{"type":"track","timestamp":"2024-05-01T10:00:00+25:00"}`, `{"type":"track","receivedAt":"2024-05-01T24:00:00Z"}`,
	// Timestamps off the fast path: escaped, a comma, ten fraction digits,
	// lower case, an offset without a colon, a leap second.
	`{"type":"track","timestamp":"2024-05-01T10:00:00\u005a","sentAt":"2024-05-01T10:00:00,5Z","receivedAt":"2024-05-01T10:00:00.1234567891Z"}`,
	`{"type":"track","timestamp":"2024-05-01t10:00:00z"}`, `{"type":"track","originalTimestamp":"2024-05-01T10:00:00.25-0130"}`,
	`{"type":"track","timestamp":"2016-12-31T23:59:60Z"}`, `{"type":"track","timestamp":"0000-01-01T00:00:00+23:59"}`,
	// Malformed JSON anywhere, also after faults a map would have shown.
	`{"type":"pageview","properties":{"a":[1,}}`, `{"type":"track","context":{"traits":{"a":tru}}}`,
	`{"type":"track"} x`, `{"type":"track"}}`, `{"type":"track",}`, `{"type" "track"}`, `{"type":"track","p":01}`,
	`{"type":"track","p":"\x"}`, "{\"type\":\"track\",\"p\":\"a\x01\"}", `{"type":"track","p":"\u12"}`, `{"type":"track`,
	``, ` `, `null`, `true`, `1`, `"track"`, `[]`, `[{"type":"track"}]`, `[1,]`, `"x" y`, `{`, `{"`, `{"a"`, `{"a":`,
	// Nesting at the limit and one past it.
	`{"type":"track","properties":` + strings.Repeat(`{"a":`, 62) + `1` + strings.Repeat(`}`, 62) + `}`,
	`{"type":"track","properties":` + strings.Repeat(`{"a":`, 63) + `1` + strings.Repeat(`}`, 63) + `}`,
	`{"type":"track","properties":` + strings.Repeat(`[`, 63) + strings.Repeat(`]`, 63) + `}`,
	`{"type":"track","properties":` + strings.Repeat(`[`, 64) + strings.Repeat(`]`, 64) + `}`,
}

// manyMembers has more top-level members than Event keeps inline.
func manyMembers() string {
	var b strings.Builder
	b.WriteString(`{"type":"track"`)
	for i := range 40 {
		fmt.Fprintf(&b, `,"m%d":{"v":%d},"userId":"u%d"`, i%25, i, i)
	}
	b.WriteString(`,"properties":{"x":1}}`)
	return b.String()
}

func TestMatchesOracle(t *testing.T) {
	for _, in := range append(slices.Clone(differentialInputs), manyMembers()) {
		compareWithOracle(t, []byte(in))
	}
}

// TestLookupDoesNotBuildDocument pins the point of the span-based decoder:
// decoding and looking up a scalar allocate a small, fixed number of
// times, not once per member of the document.
func TestLookupDoesNotBuildDocument(t *testing.T) {
	data := []byte(benchTrack)
	allocs := testing.AllocsPerRun(50, func() {
		e, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := e.Lookup("properties.product_id"); !ok || v != "prod-0042" {
			t.Fatalf("Lookup = %v, %v", v, ok)
		}
	})
	// The event, its eight id and timestamp strings, the looked-up string.
	if allocs > 12 {
		t.Errorf("Decode and Lookup allocate %v times, want at most 12", allocs)
	}
}

// TestZeroEvent: an Event that Decode did not make finds nothing and has
// no objects, as the map-based Event did, rather than panicking.
func TestZeroEvent(t *testing.T) {
	var e Event
	for _, p := range fixedPaths {
		if v, ok := e.Lookup(p); ok {
			t.Errorf("zero Event: Lookup(%q) = %v", p, v)
		}
	}
	if e.Properties() != nil || e.Context() != nil || e.Traits() != nil || e.Raw() != nil {
		t.Error("zero Event has objects")
	}
	if _, ok := e.EventTime(); ok {
		t.Error("zero Event has an event time")
	}
}
