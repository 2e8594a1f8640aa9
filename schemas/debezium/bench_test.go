package debezium

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// A typical Postgres update of a customers row (REPLICA IDENTITY FULL, so
// before and after are full rows) with the column encodings of a CRM table.
const benchRowSchema = `{"type":"struct","optional":true,"name":"crm.public.customers.Value","fields":[
 {"type":"int64","optional":false,"field":"id"},
 {"type":"string","optional":false,"field":"email"},
 {"type":"string","optional":true,"field":"first_name"},
 {"type":"string","optional":true,"field":"last_name"},
 {"type":"string","optional":true,"field":"phone"},
 {"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"bronze,silver,gold"},"field":"tier"},
 {"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"12"},"field":"lifetime_value"},
 {"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"birthday"},
 {"type":"boolean","optional":false,"field":"marketing_opt_in"},
 {"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"preferences"},
 {"type":"int64","optional":false,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"created_at"},
 {"type":"string","optional":false,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"updated_at"}]`

const benchRow = `{"id":1000042,"email":"anne.kretchmar@example.com","first_name":"Anne","last_name":"Kretchmar",
 "phone":"+14155550123","tier":"gold","lifetime_value":"AeI6","birthday":7000,"marketing_opt_in":true,
 "preferences":"{\"newsletter\":true,\"sms\":false}","created_at":1559033904863123,"updated_at":"2024-05-01T10:00:00.123456Z"}`

func benchEnvelope() string {
	return `{"before":` + benchRow + `,"after":` + strings.Replace(benchRow, `"tier":"gold"`, `"tier":"silver"`, 1) +
		`,"source":{"version":"3.7.0.Final","connector":"postgresql","name":"crm","ts_ms":1714557600123,` +
		`"ts_us":1714557600123456,"ts_ns":1714557600123456000,"snapshot":"false","db":"crm",` +
		`"sequence":"[\"24023119\",\"24023128\"]","schema":"public","table":"customers","txId":555,"lsn":24023128,"xmin":null},` +
		`"op":"u","ts_ms":1714557600200,"ts_us":1714557600200123,"ts_ns":1714557600200123456,"transaction":null}`
}

func benchEnvelopeSchema() string {
	row := benchRowSchema
	return `{"type":"struct","optional":false,"name":"crm.public.customers.Envelope","version":2,"fields":[` +
		strings.Replace(row, `"optional":true,`, `"field":"before","optional":true,`, 1) + `},` +
		strings.Replace(row, `"optional":true,`, `"field":"after","optional":true,`, 1) + `},` +
		`{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},
		{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},
		{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},
		{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},
		{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},
		{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},
		{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},
		{"type":"int64","optional":true,"field":"xmin"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source"},
		{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},
		{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},
		{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},
		{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}]}`
}

func BenchmarkDecode(b *testing.B) {
	inputs := []struct {
		name string
		data []byte
	}{
		{"postgres/schemas=false", []byte(benchEnvelope())},
		{"postgres/schemas=true", []byte(wrap(benchEnvelopeSchema(), benchEnvelope()))},
	}
	for _, in := range inputs {
		if _, err := Decode(in.data); err != nil {
			b.Fatalf("%s: %v", in.name, err)
		}
		b.Run("decode/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				if _, err := Decode(in.data); err != nil {
					b.Fatal(err)
				}
			}
		})
		// For comparison: encoding/json alone, as the brief's baseline
		// decoder would call it (no Change built at all).
		b.Run("encoding-json-baseline/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				dec := json.NewDecoder(bytes.NewReader(in.data))
				dec.UseNumber()
				var v map[string]any
				if err := dec.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeAndConvert is the whole per-record cost on the hot path:
// decode plus typing every column of the after image.
func BenchmarkDecodeAndConvert(b *testing.B) {
	data := []byte(wrap(benchEnvelopeSchema(), benchEnvelope()))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		for col := range c.After.Fields {
			if _, _, err := c.After.Value(col, Hint{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
