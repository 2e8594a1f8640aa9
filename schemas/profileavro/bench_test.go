package profileavro

import (
	"testing"

	"github.com/profiled/profiled/schemas"
)

// BenchmarkEncode writes one profile of the reference dictionary into a
// reused buffer.
func BenchmarkEncode(b *testing.B) {
	enc := NewEncoder(generate(b, devDict(b)), 1)
	view := map[string]schemas.Value{
		"email": schemas.String("ann.lee@example.com"), "first_name": schemas.String("Ann"), "last_name": schemas.String("Lee"),
		"country": schemas.String("DE"), "birth_date": schemas.Date(-23034), "marketing_opt_in": schemas.Bool(true),
		"order_count": schemas.Int(2), "lifetime_value": {Kind: schemas.KindDecimal, Str: "129.90"},
		"last_order_at": schemas.Timestamp(1764000000000000), "last_seen_at": schemas.Timestamp(1764000001000000),
		"page_views": schemas.Int(17),
	}
	changed := []string{"last_seen_at", "page_views"}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = enc.Append(buf[:0], "42", 3, 1764000001000000, view, changed); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
