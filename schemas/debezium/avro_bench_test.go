package debezium_test

import (
	"context"
	"testing"

	"github.com/profiled/profiled/schemas/debezium"
	"github.com/profiled/profiled/schemas/debezium/avrotest"
)

// benchTable is the customers row of BenchmarkDecode (bench_test.go) as
// a table of both encodings.
func benchTable() *avrotest.Table {
	return &avrotest.Table{
		Topic: "crm.public.customers", Connector: "postgresql", Key: []string{"id"},
		Columns: []avrotest.Column{
			{Name: "id", Avro: `"long"`, Connect: `{"type":"int64"}`},
			{Name: "email", Avro: `"string"`, Connect: `{"type":"string"}`},
			{Name: "first_name", Avro: `"string"`, Connect: `{"type":"string"}`, Optional: true},
			{Name: "last_name", Avro: `"string"`, Connect: `{"type":"string"}`, Optional: true},
			{Name: "phone", Avro: `"string"`, Connect: `{"type":"string"}`, Optional: true},
			{Name: "tier", Avro: avrotest.EnumAvro, Connect: avrotest.EnumConnect, Optional: true},
			{Name: "lifetime_value", Avro: avrotest.DecimalAvro, Connect: avrotest.DecimalConnect, Optional: true},
			{Name: "birthday", Avro: avrotest.DateAvro, Connect: avrotest.DateConnect, Optional: true},
			{Name: "marketing_opt_in", Avro: `"boolean"`, Connect: `{"type":"boolean"}`},
			{Name: "preferences", Avro: `{"type":"string","connect.version":1,"connect.name":"io.debezium.data.Json"}`,
				Connect: `{"type":"string","name":"io.debezium.data.Json","version":1}`, Optional: true},
			{Name: "created_at", Avro: avrotest.MicroTimestampAvro, Connect: avrotest.MicroTimestampConnect},
			{Name: "updated_at", Avro: avrotest.ZonedTimestampAvro, Connect: avrotest.ZonedTimestampConnect},
		},
	}
}

func benchChange() avrotest.Change {
	row := func(tier string) map[string]avrotest.Val {
		return map[string]avrotest.Val{
			"id": avrotest.Long(1000042), "email": avrotest.Str("anne.kretchmar@example.com"),
			"first_name": avrotest.Str("Anne"), "last_name": avrotest.Str("Kretchmar"), "phone": avrotest.Str("+14155550123"),
			"tier": avrotest.Str(tier), "lifetime_value": avrotest.Decimal("1234.50", 2), "birthday": avrotest.Int(7000),
			"marketing_opt_in": avrotest.Bool(true), "preferences": avrotest.Str(`{"newsletter":true,"sms":false}`),
			"created_at": avrotest.Long(1559033904863123), "updated_at": avrotest.Str("2024-05-01T10:00:00.123456Z"),
		}
	}
	return avrotest.Change{Op: "u", Before: row("gold"), After: row("silver"),
		Source: avrotest.Source{TsUs: 1714557600123456, LSN: 24023128, TxID: 555}}
}

// BenchmarkDecodeFormat decodes the same Postgres update (full before and
// after rows of 12 columns) written by JsonConverter with schemas and by
// AvroConverter; "convert" also types every column of the after image, the
// whole per-record cost on the hot path. Compare with benchstat:
//
//	go test -run '^$' -bench BenchmarkDecodeFormat -count 6 ./schemas/debezium/ > x.txt
//	benchstat -col /format x.txt
func BenchmarkDecodeFormat(b *testing.B) {
	ctx := context.Background()
	_, cl, dec := newRegistry(b)
	tbl := benchTable()
	s := register(b, cl, tbl)
	_, jv, _, av := both(b, tbl, s, benchChange())
	decoders := []struct {
		format string
		data   []byte
		decode func() (*debezium.Change, error)
	}{
		{"json", jv, func() (*debezium.Change, error) { return debezium.Decode(jv) }},
		{"avro", av, func() (*debezium.Change, error) { return dec.Decode(ctx, av) }},
	}
	for _, d := range decoders {
		if _, err := d.decode(); err != nil { // also warms the schema caches
			b.Fatalf("%s: %v", d.format, err)
		}
	}
	for _, op := range []string{"decode", "convert"} {
		for _, d := range decoders {
			b.Run("op="+op+"/format="+d.format, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(d.data)))
				for b.Loop() {
					c, err := d.decode()
					if err != nil {
						b.Fatal(err)
					}
					if op != "convert" {
						continue
					}
					for col := range c.After.Fields {
						if _, _, err := c.After.Value(col, debezium.Hint{}); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
