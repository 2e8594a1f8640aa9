package segment

import "testing"

// BenchmarkDecode decodes a typical analytics.js track event (Segment's
// Order Completed example with a full browser context).
func BenchmarkDecode(b *testing.B) {
	data := []byte(trackEvent)
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
	}
}
