package avrotest

// Column types as AvroData and JsonConverter write them for Debezium's
// Connect schemas. Each pair describes one column type in both languages.
const (
	EnumAvro    = `{"type":"string","connect.version":1,"connect.parameters":{"allowed":"bronze,silver,gold"},"connect.name":"io.debezium.data.Enum"}`
	EnumConnect = `{"type":"string","name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"bronze,silver,gold"}}`

	DecimalAvro    = `{"type":"bytes","scale":2,"precision":10,"connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}`
	DecimalConnect = `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"}}`

	DateAvro    = `{"type":"int","connect.version":1,"connect.name":"io.debezium.time.Date"}`
	DateConnect = `{"type":"int32","name":"io.debezium.time.Date","version":1}`

	TimestampAvro    = `{"type":"long","connect.version":1,"connect.name":"io.debezium.time.Timestamp"}`
	TimestampConnect = `{"type":"int64","name":"io.debezium.time.Timestamp","version":1}`

	MicroTimestampAvro    = `{"type":"long","connect.version":1,"connect.name":"io.debezium.time.MicroTimestamp"}`
	MicroTimestampConnect = `{"type":"int64","name":"io.debezium.time.MicroTimestamp","version":1}`

	ZonedTimestampAvro    = `{"type":"string","connect.version":1,"connect.name":"io.debezium.time.ZonedTimestamp"}`
	ZonedTimestampConnect = `{"type":"string","name":"io.debezium.time.ZonedTimestamp","version":1}`

	VarDecimalAvro = `{"type":"record","name":"VariableScaleDecimal","namespace":"io.debezium.data","fields":[{"name":"scale","type":"int"},` +
		`{"name":"value","type":"bytes"}],"connect.doc":"Variable scaled decimal","connect.version":1,"connect.name":"io.debezium.data.VariableScaleDecimal"}`
	VarDecimalConnect = `{"type":"struct","name":"io.debezium.data.VariableScaleDecimal","version":1,"doc":"Variable scaled decimal","fields":[` +
		`{"type":"int32","optional":false,"field":"scale"},{"type":"bytes","optional":false,"field":"value"}]}`
)

// Customers is a Postgres CRM table with a column of every type the Avro
// input handles: Debezium's io.debezium.time.* and data types (carried as
// connect.name), Connect's logical types (Decimal, Date, Time, Timestamp,
// with their Avro logical types), Avro logical types written by another
// serializer without connect.name (decimal, time-micros, timestamp-micros,
// local-timestamp-micros, uuid), an Avro enum, int16, float, double,
// boolean, bytes, an array and nullable columns.
func Customers() *Table {
	return &Table{
		Topic: "crm.public.customers", Connector: "postgresql", Key: []string{"id"},
		Columns: []Column{
			{"id", `"long"`, `{"type":"int64"}`, false},
			{"email", `"string"`, `{"type":"string"}`, false},
			{"first_name", `"string"`, `{"type":"string"}`, true},
			{"age", `{"type":"int","connect.type":"int16"}`, `{"type":"int16"}`, true},
			{"tier", EnumAvro, EnumConnect, true},
			{"tier_enum", `{"type":"enum","name":"tier_enum","symbols":["bronze","silver","gold"],` +
				`"connect.parameters":{"allowed":"bronze,silver,gold"},"connect.name":"io.debezium.data.Enum"}`, EnumConnect, true},
			{"balance", DecimalAvro, DecimalConnect, true},
			{"credit", `{"type":"bytes","logicalType":"decimal","precision":12,"scale":3}`,
				`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"3","connect.decimal.precision":"12"}}`, true},
			{"amount", VarDecimalAvro, VarDecimalConnect, true},
			{"birth_date", DateAvro, DateConnect, true},
			{"signup_date", `{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}`,
				`{"type":"int32","name":"org.apache.kafka.connect.data.Date","version":1}`, true},
			{"opens_ms", `{"type":"int","connect.version":1,"connect.name":"io.debezium.time.Time"}`,
				`{"type":"int32","name":"io.debezium.time.Time","version":1}`, true},
			{"opens_us", `{"type":"long","connect.version":1,"connect.name":"io.debezium.time.MicroTime"}`,
				`{"type":"int64","name":"io.debezium.time.MicroTime","version":1}`, true},
			{"opens_ns", `{"type":"long","connect.version":1,"connect.name":"io.debezium.time.NanoTime"}`,
				`{"type":"int64","name":"io.debezium.time.NanoTime","version":1}`, true},
			{"closes_ms", `{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}`,
				`{"type":"int32","name":"org.apache.kafka.connect.data.Time","version":1}`, true},
			{"closes_us", `{"type":"long","logicalType":"time-micros"}`, `{"type":"int64","name":"io.debezium.time.MicroTime"}`, true},
			{"created_ms", TimestampAvro, TimestampConnect, true},
			{"created_us", MicroTimestampAvro, MicroTimestampConnect, true},
			{"created_ns", `{"type":"long","connect.version":1,"connect.name":"io.debezium.time.NanoTimestamp"}`,
				`{"type":"int64","name":"io.debezium.time.NanoTimestamp","version":1}`, true},
			{"updated_at", ZonedTimestampAvro, ZonedTimestampConnect, true},
			{"seen_ms", `{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}`,
				`{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp","version":1}`, true},
			{"seen_us", `{"type":"long","logicalType":"timestamp-micros"}`, `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`, true},
			{"local_us", `{"type":"long","logicalType":"local-timestamp-micros"}`, `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`, false},
			{"external_id", `{"type":"string","connect.version":1,"connect.name":"io.debezium.data.Uuid"}`,
				`{"type":"string","name":"io.debezium.data.Uuid","version":1}`, true},
			{"device_id", `{"type":"string","logicalType":"uuid"}`, `{"type":"string","name":"io.debezium.data.Uuid"}`, true},
			{"opt_in", `"boolean"`, `{"type":"boolean"}`, true},
			{"score", `"double"`, `{"type":"double"}`, true},
			{"rating", `"float"`, `{"type":"float"}`, true},
			{"avatar", `"bytes"`, `{"type":"bytes"}`, true},
			{"tags", `{"type":"array","items":"string"}`, `{"type":"array","items":{"type":"string","optional":false}}`, true},
			{"prefs", `{"type":"string","connect.version":1,"connect.name":"io.debezium.data.Json"}`,
				`{"type":"string","name":"io.debezium.data.Json","version":1}`, true},
		},
	}
}

// CustomerRow is a full row of Customers with a value in every column
// (nickname-like columns null where noted).
func CustomerRow(id int64, email string) map[string]Val {
	return map[string]Val{
		"id": Long(id), "email": Str(email), "first_name": Null, "age": Int(42),
		"tier": Str("gold"), "tier_enum": Named("crm.public.customers.tier_enum", Str("silver")),
		"balance": Decimal("1234.56", 2), "credit": Decimal("-0.500", 3), "amount": VarDecimal(12345, 3),
		"birth_date": Int(-23034), "signup_date": LogicalDate(19000),
		"opens_ms": Int(32400000), "opens_us": Long(32400000123), "opens_ns": Long(32400000123456),
		"closes_ms": LogicalTimeMillis(64800000), "closes_us": LogicalTimeMicros(64800000500),
		"created_ms": Long(1700000000123), "created_us": Long(1700000000123456), "created_ns": Long(1700000000123456789),
		"updated_at": Str("2026-11-22T10:15:02.412345Z"),
		"seen_ms":    LogicalTimestampMillis(1764000000123), "seen_us": LogicalTimestampMicros(1764000000123456),
		"local_us":    LogicalLocalTimestampMicros(1764000000654321),
		"external_id": Str("8c4b1a52-4f1e-4e43-9a7e-2a6f0b6f3c11"), "device_id": Str("0d1f7a1e-5b7c-4d2e-8f00-1234567890ab"),
		"opt_in": Bool(true), "score": Double(98.25), "rating": Float(4.5),
		"avatar": Bytes([]byte{0xde, 0xad, 0xbe, 0xef}), "tags": Strings("vip", "beta"),
		"prefs": Str(`{"newsletter":true}`),
	}
}

// Orders is a MySQL shop table.
func Orders() *Table {
	return &Table{
		Topic: "shop.inventory.orders", Connector: "mysql", Key: []string{"id"},
		Columns: []Column{
			{"id", `"long"`, `{"type":"int64"}`, false},
			{"customer_id", `"long"`, `{"type":"int64"}`, false},
			{"status", `"string"`, `{"type":"string"}`, true},
			{"total", DecimalAvro, DecimalConnect, true},
			{"currency", `"string"`, `{"type":"string"}`, true},
			{"created_at", TimestampAvro, TimestampConnect, true},
			{"updated_at", ZonedTimestampAvro, ZonedTimestampConnect, true},
		},
	}
}
