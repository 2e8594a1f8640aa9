package merge

import (
	"math/rand/v2"
	"testing"

	"github.com/profiled/profiled/processor/internal/memstate"
)

// BenchmarkStateCodec measures the stored profile state on its own: stage 2
// decodes the state of every profile a batch touches and encodes every one
// it changed. The state is the large one of BenchmarkApplyRender (200 facts
// folded in).
func BenchmarkStateCodec(b *testing.B) {
	m := testMerger(b)
	st := NewState()
	for _, f := range randomFacts(rand.New(rand.NewPCG(3, 4)), 200) {
		f.ProfileID = "p"
		_, _ = m.Apply(st, f, memstate.Seen{})
	}
	enc := AppendState(nil, st)
	b.Run("op=encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		buf := make([]byte, 0, len(enc))
		for b.Loop() {
			buf = AppendState(buf[:0], st)
		}
	})
	b.Run("op=decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := DecodeState(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = m.Render(st)
		}
	})
}
