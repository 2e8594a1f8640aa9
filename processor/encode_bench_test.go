package processor_test

import (
	"testing"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/schemas"
)

// BenchmarkAppendProfileJSON measures the output encoding: every profile
// update is rendered to JSON once. The profile is a full customer of the
// reference scenario (CRM attributes, order aggregates, clickstream
// counters).
func BenchmarkAppendProfileJSON(b *testing.B) {
	v := map[string]schemas.Value{
		"email":               schemas.String("ann.lee@example.com"),
		"first_name":          schemas.String("Ann"),
		"last_name":           schemas.String("Lee"),
		"phone":               schemas.String("+14155552671"),
		"country":             schemas.String("DE"),
		"birth_date":          schemas.Date(7000),
		"marketing_opt_in":    schemas.Bool(true),
		"order_count":         schemas.Int(2),
		"lifetime_value":      {Kind: schemas.KindDecimal, Str: "129.90"},
		"last_order_at":       schemas.Timestamp(1_764_000_000_000_000),
		"page_views":          schemas.Int(17),
		"last_seen_at":        schemas.Timestamp(1_764_000_100_000_000),
		"last_product_viewed": schemas.String("sku-1234"),
	}
	changed := []string{"last_seen_at", "page_views"}
	buf := processor.AppendProfileJSON(nil, "42", 3, 1_764_000_100_000_000, v, changed)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = processor.AppendProfileJSON(buf[:0], "42", 3, 1_764_000_100_000_000, v, changed)
	}
}
