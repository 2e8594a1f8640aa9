package segment

import "testing"

// Events in the shape of the benchmark load (processor/scenario renders
// them with encoding/json, so keys are sorted): a browser identify with
// traits and a full page context, a Product Viewed track, and a page view.
const (
	benchIdentify = `{"anonymousId":"0b5c9f7e-3c1a-4d2e-9f8a-6b7c8d9e0f1a","channel":"browser","context":{"ip":"203.0.113.17",` +
		`"library":{"name":"analytics.js","version":"next-1.70.0"},"locale":"en-US","page":{"path":"/account","referrer":"https://www.google.com/",` +
		`"search":"","title":"Account | Shop","url":"https://shop.example/account"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 ` +
		`(KHTML, like Gecko) Chrome/126.0 Safari/537.36"},"integrations":{},"messageId":"ajs-next-6f1a4b2c-8d3e-4f5a-9b6c-7d8e9f0a1b2c",` +
		`"originalTimestamp":"2026-11-22T10:15:02.412Z","receivedAt":"2026-11-22T10:15:03.101Z","sentAt":"2026-11-22T10:15:02.950Z",` +
		`"timestamp":"2026-11-22T10:15:02.412Z","traits":{"email":"  Ann.Lee@Example.com","firstName":"Ann","lastName":"Lee"},` +
		`"type":"identify","userId":"42"}`
	benchTrack = `{"anonymousId":"0b5c9f7e-3c1a-4d2e-9f8a-6b7c8d9e0f1a","channel":"mobile","context":{"app":{"build":"412","name":"Shop",` +
		`"version":"4.2.1"},"device":{"manufacturer":"Apple","model":"iPhone15,2","type":"ios"},"library":{"name":"analytics-ios",` +
		`"version":"4.1.8"},"locale":"en-US","network":{"wifi":true},"os":{"name":"iOS","version":"17.4"},"timezone":"America/New_York"},` +
		`"event":"Product Viewed","integrations":{},"messageId":"6F1A4B2C-8D3E-4F5A-9B6C-7D8E9F0A1B2C",` +
		`"originalTimestamp":"2026-11-22T10:15:02.412Z","properties":{"category":"Shoes","currency":"USD","name":"Product prod-0042",` +
		`"price":129.9,"product_id":"prod-0042","sku":"SKU-0042"},"receivedAt":"2026-11-22T10:15:03.101Z","sentAt":"2026-11-22T10:15:02.950Z",` +
		`"timestamp":"2026-11-22T10:15:02.412Z","type":"track","userId":"42"}`
	benchPage = `{"anonymousId":"0b5c9f7e-3c1a-4d2e-9f8a-6b7c8d9e0f1a","channel":"browser","context":{"ip":"203.0.113.17",` +
		`"library":{"name":"analytics.js","version":"next-1.70.0"},"locale":"de-DE","page":{"path":"/p/prod-0042","referrer":"",` +
		`"search":"","title":"Product | Shop","url":"https://shop.example/p/prod-0042"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64) ` +
		`AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"},"integrations":{},` +
		`"messageId":"ajs-next-7a2b5c3d-9e4f-4a6b-8c7d-0e1f2a3b4c5d","name":"Product","originalTimestamp":"2026-11-22T10:15:02.412Z",` +
		`"properties":{"path":"/p/prod-0042","referrer":"","search":"","title":"Product | Shop","url":"https://shop.example/p/prod-0042"},` +
		`"receivedAt":"2026-11-22T10:15:03.101Z","sentAt":"2026-11-22T10:15:02.950Z","timestamp":"2026-11-22T10:15:02.412Z",` +
		`"type":"page","userId":"42"}`
)

// benchEvents are the events, each with how many of benchMapping's
// mappings find a value in it.
var benchEvents = []struct {
	name, data string
	mapped     int
}{
	{"spec-track", trackEvent, 1},
	{"identify", benchIdentify, 4},
	{"track", benchTrack, 2},
	{"page", benchPage, 2},
}

// benchMapping is the reference configuration's clickstream source
// (deploy/config/dev.yaml) as lookups: each mapping's when-conditions, then
// its sources, the first one present winning, as the mapper evaluates them.
var benchMapping = []struct {
	when [][2]string // path, value
	from []string
}{
	{from: []string{"userId", "anonymousId"}}, // profile id with its fallback
	{when: [][2]string{{"type", "track"}, {"event", "Product Viewed"}}, from: []string{"properties.product_id"}},
	{when: [][2]string{{"type", "identify"}}, from: []string{"traits.email"}},
	{when: [][2]string{{"type", "identify"}}, from: []string{"traits.first_name", "traits.firstName"}},
	{when: [][2]string{{"type", "identify"}}, from: []string{"traits.last_name", "traits.lastName"}},
	{when: [][2]string{{"type", "page"}}, from: []string{"messageId"}}, // the page view counter
}

// mapEvent looks up what benchMapping asks for and returns how many
// mappings found a value.
func mapEvent(e *Event) int {
	found := 0
mappings:
	for _, m := range benchMapping {
		for _, c := range m.when {
			if v, ok := e.Lookup(c[0]); !ok || v != c[1] {
				continue mappings
			}
		}
		for _, p := range m.from {
			if _, ok := e.Lookup(p); ok {
				found++
				break
			}
		}
	}
	return found
}

// BenchmarkDecode decodes an event and computes its event time.
func BenchmarkDecode(b *testing.B) { benchDecode(b, false) }

// BenchmarkDecodeLookup is what the mapper does with an event: decode it,
// compute its event time and look up what the reference configuration
// maps.
func BenchmarkDecodeLookup(b *testing.B) { benchDecode(b, true) }

func benchDecode(b *testing.B, lookup bool) {
	for _, ev := range benchEvents {
		b.Run(ev.name, func(b *testing.B) {
			data := []byte(ev.data)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				e, err := Decode(data)
				if err != nil {
					b.Fatal(err)
				}
				if _, ok := e.EventTime(); !ok {
					b.Fatal("no event time")
				}
				if !lookup {
					continue
				}
				if n := mapEvent(e); n != ev.mapped {
					b.Fatalf("%d mappings found a value, want %d", n, ev.mapped)
				}
			}
		})
	}
}
