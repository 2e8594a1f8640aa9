package fact

import "testing"

// BenchmarkCodec measures the repartition format on the hot path: stage 1
// encodes every fact it sends, stage 2 decodes every fact it merges.
func BenchmarkCodec(b *testing.B) {
	f := sample()
	enc := Append(nil, f)
	b.Run("op=append", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		buf := make([]byte, 0, len(enc))
		for b.Loop() {
			buf = Append(buf[:0], f)
		}
	})
	b.Run("op=decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
