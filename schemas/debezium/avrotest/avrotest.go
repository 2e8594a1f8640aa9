// Package avrotest builds Debezium change events of one table in both of
// the encodings Kafka Connect writes: JsonConverter with schemas.enable=true
// and Confluent's AvroConverter (the Confluent wire format, with the key and
// value schemas registered in a Schema Registry). Tests use it to show that
// both decode to the same changes and profiles.
//
// The Avro schemas follow the shapes AvroData gives Debezium's Connect
// schemas (formats.md §1.10): records Envelope, Value, Key and Source with
// connect.name, optional fields as ["null", T] with a null default, and
// semantic types carried as connect.name on the primitive. The Avro data
// are written with hamba/avro's own encoder, independently of the decoder
// under test.
package avrotest

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// Val is one value in both encodings: what hamba/avro encodes for the
// column's Avro type, and the JSON text JsonConverter writes.
type Val struct {
	Avro any
	JSON string
}

// Null is an SQL NULL.
var Null = Val{Avro: nil, JSON: "null"}

// Long is an int64 column (Avro long).
func Long(v int64) Val { return Val{v, strconv.FormatInt(v, 10)} }

// Int is an int8/16/32 column (Avro int).
func Int(v int32) Val { return Val{int(v), strconv.FormatInt(int64(v), 10)} }

// Str is a string column (also Debezium's Enum, Json, Uuid and
// ZonedTimestamp, which are strings with a connect.name).
func Str(s string) Val {
	b, _ := json.Marshal(s)
	return Val{s, string(b)}
}

// Bool is a boolean column.
func Bool(b bool) Val { return Val{b, strconv.FormatBool(b)} }

// Double is a float64 column.
func Double(f float64) Val { return Val{f, strconv.FormatFloat(f, 'g', -1, 64)} }

// Float is a float32 column.
func Float(f float32) Val { return Val{f, strconv.FormatFloat(float64(f), 'g', -1, 32)} }

// Named is a value of a named Avro type (an enum, a record) in an
// optional column: hamba/avro takes it as a one-entry map from the type's
// full name. The JSON form is unchanged.
func Named(fullName string, v Val) Val { return Val{map[string]any{fullName: v.Avro}, v.JSON} }

// Bytes is a bytes column; JsonConverter writes base64.
func Bytes(b []byte) Val { return Val{b, `"` + base64.StdEncoding.EncodeToString(b) + `"`} }

// Decimal is a Connect Decimal (Avro bytes with logical type decimal) of
// the given scale, from its text ("-12.50"). JsonConverter writes the
// base64 of BigInteger.toByteArray() of the unscaled value.
func Decimal(text string, scale int) Val {
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		panic("avrotest: bad decimal " + text)
	}
	u := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	u.Quo(u, r.Denom())
	return Val{r, `"` + base64.StdEncoding.EncodeToString(twosComplement(u)) + `"`}
}

// VarDecimal is io.debezium.data.VariableScaleDecimal, a record of scale
// and unscaled bytes, in an optional column (Postgres NUMERIC without a
// declared scale): hamba/avro takes a record in a union as a one-entry map
// from its full name.
func VarDecimal(unscaled int64, scale int32) Val {
	b := twosComplement(big.NewInt(unscaled))
	return Val{
		map[string]any{"io.debezium.data.VariableScaleDecimal": map[string]any{"scale": int(scale), "value": b}},
		fmt.Sprintf(`{"scale":%d,"value":%q}`, scale, base64.StdEncoding.EncodeToString(b)),
	}
}

// twosComplement is Java's BigInteger.toByteArray(): the shortest
// big-endian two's complement.
func twosComplement(u *big.Int) []byte {
	if u.Sign() >= 0 {
		b := u.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	n := (u.BitLen() + 8) / 8 // room for the sign bit
	m := new(big.Int).Add(u, new(big.Int).Lsh(big.NewInt(1), uint(n*8)))
	b := m.Bytes()
	for len(b) < n {
		b = append([]byte{0xff}, b...)
	}
	// Drop redundant leading 0xff bytes, as toByteArray does.
	for len(b) > 1 && b[0] == 0xff && b[1]&0x80 != 0 {
		b = b[1:]
	}
	return b
}

// The Logical* values are for optional columns of the named Avro logical
// type: hamba/avro resolves a time.Time or time.Duration in a union by a
// one-entry map from "<type>.<logicalType>".

// LogicalDate is a column of Avro logical type date (Connect Date): days.
func LogicalDate(days int32) Val {
	return Val{map[string]any{"int.date": time.Unix(int64(days)*86400, 0).UTC()}, strconv.FormatInt(int64(days), 10)}
}

// LogicalTimeMillis is a column of logical type time-millis.
func LogicalTimeMillis(ms int32) Val {
	return Val{map[string]any{"int.time-millis": time.Duration(ms) * time.Millisecond}, strconv.FormatInt(int64(ms), 10)}
}

// LogicalTimeMicros is a column of logical type time-micros.
func LogicalTimeMicros(us int64) Val {
	return Val{map[string]any{"long.time-micros": time.Duration(us) * time.Microsecond}, strconv.FormatInt(us, 10)}
}

// LogicalTimestampMillis is a column of logical type timestamp-millis.
func LogicalTimestampMillis(ms int64) Val {
	return Val{map[string]any{"long.timestamp-millis": time.UnixMilli(ms).UTC()}, strconv.FormatInt(ms, 10)}
}

// LogicalTimestampMicros is a column of logical type timestamp-micros.
func LogicalTimestampMicros(us int64) Val {
	return Val{map[string]any{"long.timestamp-micros": time.UnixMicro(us).UTC()}, strconv.FormatInt(us, 10)}
}

// LogicalLocalTimestampMicros is a required column of logical type
// local-timestamp-micros (hamba/avro v2.31.0 cannot name it in a union).
func LogicalLocalTimestampMicros(us int64) Val {
	return Val{time.UnixMicro(us).UTC(), strconv.FormatInt(us, 10)}
}

// Strings is an array of strings.
func Strings(ss ...string) Val {
	a := make([]any, len(ss))
	for i, s := range ss {
		a[i] = s
	}
	b, _ := json.Marshal(append([]string{}, ss...)) // [] for none, not null
	return Val{a, string(b)}
}

// Column is one column of a table in both schema languages.
type Column struct {
	Name string
	// Avro is the Avro type as AvroData writes it (JSON text), without the
	// null branch of an optional column.
	Avro string
	// Connect is the JsonConverter schema of the column (JSON text of an
	// object) without "field" and "optional", which are added.
	Connect  string
	Optional bool
}

// Table describes one captured table.
type Table struct {
	Topic     string // e.g. crm.public.customers: the Avro namespace and Connect name prefix
	Connector string // "postgresql" or "mysql"
	Columns   []Column
	Key       []string // key column names
}

// Change is one change event of the table.
type Change struct {
	Op            string // c, u, d, r
	Before, After map[string]Val
	Source        Source
	// Tombstone builds the Kafka-null value that follows a delete.
	Tombstone bool
}

// Source is what varies in the source block.
type Source struct {
	TsUs     int64
	Snapshot string // default "false"
	// Postgres.
	LSN, TxID int64
	// MySQL.
	File     string
	Pos      int64
	Row      int32
	ServerID int64
	GTID     string
}

type srcField struct {
	name, avro, connect string
	optional            bool
	val                 Val
}

func (t *Table) sourceFields(s Source) []srcField {
	snap := s.Snapshot
	if snap == "" {
		snap = "false"
	}
	db := strings.SplitN(t.Topic, ".", 2)[0]
	parts := strings.Split(t.Topic, ".")
	table := parts[len(parts)-1]
	common := []srcField{
		{"version", `"string"`, `{"type":"string"}`, false, Str("3.7.0.Final")},
		{"connector", `"string"`, `{"type":"string"}`, false, Str(t.Connector)},
		{"name", `"string"`, `{"type":"string"}`, false, Str(db)},
		{"ts_ms", `"long"`, `{"type":"int64"}`, false, Long(s.TsUs / 1000)},
		{"snapshot", `{"type":"string","connect.version":1,"connect.parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"connect.default":"false","connect.name":"io.debezium.data.Enum"}`,
			`{"type":"string","name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false"}`,
			true, Str(snap)},
		{"db", `"string"`, `{"type":"string"}`, false, Str(db)},
		{"sequence", `"string"`, `{"type":"string"}`, true, Null},
		{"ts_us", `"long"`, `{"type":"int64"}`, true, Long(s.TsUs)},
		{"ts_ns", `"long"`, `{"type":"int64"}`, true, Long(s.TsUs * 1000)},
	}
	if t.Connector == "mysql" {
		gtid := Null
		if s.GTID != "" {
			gtid = Str(s.GTID)
		}
		return append(common,
			srcField{"table", `"string"`, `{"type":"string"}`, true, Str(table)},
			srcField{"server_id", `"long"`, `{"type":"int64"}`, false, Long(s.ServerID)},
			srcField{"gtid", `"string"`, `{"type":"string"}`, true, gtid},
			srcField{"file", `"string"`, `{"type":"string"}`, false, Str(s.File)},
			srcField{"pos", `"long"`, `{"type":"int64"}`, false, Long(s.Pos)},
			srcField{"row", `"int"`, `{"type":"int32"}`, false, Int(s.Row)},
			srcField{"thread", `"long"`, `{"type":"int64"}`, true, Long(7)},
			srcField{"query", `"string"`, `{"type":"string"}`, true, Null},
		)
	}
	schema := "public"
	if len(parts) >= 3 {
		schema = parts[len(parts)-2]
	}
	return append(common,
		srcField{"schema", `"string"`, `{"type":"string"}`, false, Str(schema)},
		srcField{"table", `"string"`, `{"type":"string"}`, false, Str(table)},
		srcField{"txId", `"long"`, `{"type":"int64"}`, true, Long(s.TxID)},
		srcField{"lsn", `"long"`, `{"type":"int64"}`, true, Long(s.LSN)},
		srcField{"xmin", `"long"`, `{"type":"int64"}`, true, Null},
	)
}

// avroField writes one record field; an optional one is a union with null
// first (a null default must match the first branch), except the source's
// snapshot, whose default is "false" as AvroData writes it.
func avroField(name, typ string, optional bool) string {
	switch {
	case !optional:
		return fmt.Sprintf(`{"name":%q,"type":%s}`, name, typ)
	case name == "snapshot":
		return fmt.Sprintf(`{"name":%q,"type":[%s,"null"],"default":"false"}`, name, typ)
	}
	return fmt.Sprintf(`{"name":%q,"type":["null",%s],"default":null}`, name, typ)
}

func connectField(name, schema string, optional bool) string {
	return fmt.Sprintf(`{"field":%q,"optional":%t,%s`, name, optional, strings.TrimPrefix(schema, "{"))
}

func (t *Table) sourceName() string { return "io.debezium.connector." + t.Connector + ".Source" }

// AvroValueSchema is the value (Envelope) schema.
func (t *Table) AvroValueSchema() string {
	var cols []string
	for _, c := range t.Columns {
		cols = append(cols, avroField(c.Name, c.Avro, c.Optional))
	}
	var src []string
	for _, f := range t.sourceFields(Source{}) {
		src = append(src, avroField(f.name, f.avro, f.optional))
	}
	value := fmt.Sprintf(`{"type":"record","name":"Value","namespace":%q,"fields":[%s],"connect.name":"%s.Value"}`,
		t.Topic, strings.Join(cols, ","), t.Topic)
	source := fmt.Sprintf(`{"type":"record","name":"Source","namespace":"io.debezium.connector.%s","fields":[%s],"connect.name":%q}`,
		t.Connector, strings.Join(src, ","), t.sourceName())
	block := `{"type":"record","name":"block","namespace":"event","fields":[{"name":"id","type":"string"},` +
		`{"name":"total_order","type":"long"},{"name":"data_collection_order","type":"long"}],"connect.version":1,"connect.name":"event.block"}`
	return fmt.Sprintf(`{"type":"record","name":"Envelope","namespace":%q,"fields":[`+
		`{"name":"before","type":["null",%s],"default":null},`+
		`{"name":"after","type":["null","Value"],"default":null},`+
		`{"name":"source","type":%s},`+
		`{"name":"op","type":"string"},`+
		`{"name":"ts_ms","type":["null","long"],"default":null},`+
		`{"name":"ts_us","type":["null","long"],"default":null},`+
		`{"name":"ts_ns","type":["null","long"],"default":null},`+
		`{"name":"transaction","type":["null",%s],"default":null}],`+
		`"connect.version":2,"connect.name":"%s.Envelope"}`,
		t.Topic, value, source, block, t.Topic)
}

// AvroKeySchema is the key schema.
func (t *Table) AvroKeySchema() string {
	var cols []string
	for _, name := range t.Key {
		c := t.column(name)
		cols = append(cols, avroField(c.Name, c.Avro, false))
	}
	return fmt.Sprintf(`{"type":"record","name":"Key","namespace":%q,"fields":[%s],"connect.name":"%s.Key"}`,
		t.Topic, strings.Join(cols, ","), t.Topic)
}

func (t *Table) column(name string) Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	panic("avrotest: no column " + name)
}

func (t *Table) connectRow(name string, optional bool, field string) string {
	var cols []string
	for _, c := range t.Columns {
		cols = append(cols, connectField(c.Name, c.Connect, c.Optional))
	}
	f := ""
	if field != "" {
		f = fmt.Sprintf(`"field":%q,`, field)
	}
	return fmt.Sprintf(`{%s"type":"struct","optional":%t,"name":"%s.%s","fields":[%s]}`, f, optional, t.Topic, name, strings.Join(cols, ","))
}

// ConnectValueSchema is JsonConverter's schema of the envelope.
func (t *Table) ConnectValueSchema() string {
	var src []string
	for _, f := range t.sourceFields(Source{}) {
		src = append(src, connectField(f.name, f.connect, f.optional))
	}
	return fmt.Sprintf(`{"type":"struct","optional":false,"name":"%s.Envelope","version":2,"fields":[%s,%s,`+
		`{"field":"source","type":"struct","optional":false,"name":%q,"fields":[%s]},`+
		`{"field":"op","type":"string","optional":false},{"field":"ts_ms","type":"int64","optional":true},`+
		`{"field":"ts_us","type":"int64","optional":true},{"field":"ts_ns","type":"int64","optional":true},`+
		`{"field":"transaction","type":"struct","optional":true,"name":"event.block","version":1,"fields":[`+
		`{"field":"id","type":"string","optional":false},{"field":"total_order","type":"int64","optional":false},`+
		`{"field":"data_collection_order","type":"int64","optional":false}]}]}`,
		t.Topic, t.connectRow("Value", true, "before"), t.connectRow("Value", true, "after"),
		t.sourceName(), strings.Join(src, ","))
}

// ConnectKeySchema is JsonConverter's schema of the key.
func (t *Table) ConnectKeySchema() string {
	var cols []string
	for _, name := range t.Key {
		c := t.column(name)
		cols = append(cols, connectField(c.Name, c.Connect, false))
	}
	return fmt.Sprintf(`{"type":"struct","optional":false,"name":"%s.Key","fields":[%s]}`, t.Topic, strings.Join(cols, ","))
}

// keyRow returns the row a change's key is taken from.
func (c *Change) keyRow() map[string]Val {
	if c.After != nil {
		return c.After
	}
	return c.Before
}

// JSON returns the key and value JsonConverter (schemas.enable=true) writes.
func (t *Table) JSON(c Change) (key, value []byte) {
	var kb strings.Builder
	kb.WriteString(`{"schema":` + t.ConnectKeySchema() + `,"payload":{`)
	for i, name := range t.Key {
		if i > 0 {
			kb.WriteByte(',')
		}
		fmt.Fprintf(&kb, "%q:%s", name, c.keyRow()[name].JSON)
	}
	kb.WriteString("}}")
	if c.Tombstone {
		return []byte(kb.String()), nil
	}
	row := func(r map[string]Val) string {
		if r == nil {
			return "null"
		}
		var parts []string
		for _, col := range t.Columns {
			v, ok := r[col.Name]
			if !ok {
				v = Null
			}
			parts = append(parts, fmt.Sprintf("%q:%s", col.Name, v.JSON))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	var src []string
	for _, f := range t.sourceFields(c.Source) {
		src = append(src, fmt.Sprintf("%q:%s", f.name, f.val.JSON))
	}
	v := fmt.Sprintf(`{"schema":%s,"payload":{"before":%s,"after":%s,"source":{%s},"op":%q,"ts_ms":%d,"ts_us":null,"ts_ns":null,"transaction":null}}`,
		t.ConnectValueSchema(), row(c.Before), row(c.After), strings.Join(src, ","), c.Op, c.Source.TsUs/1000+100)
	return []byte(kb.String()), []byte(v)
}

// Schemas are the parsed Avro schemas and their registry ids.
type Schemas struct {
	KeyID, ValueID int
	Key, Value     avro.Schema
}

// Register registers the key and value schemas under the subjects of
// TopicNameStrategy (<topic>-key, <topic>-value) and returns them.
func (t *Table) Register(ctx context.Context, cl *sr.Client) (Schemas, error) {
	return t.RegisterSchemas(ctx, cl, t.AvroKeySchema(), t.AvroValueSchema())
}

// RegisterSchemas registers the given key and value schema texts.
func (t *Table) RegisterSchemas(ctx context.Context, cl *sr.Client, key, value string) (Schemas, error) {
	var s Schemas
	ks, err := cl.CreateSchema(ctx, t.Topic+"-key", sr.Schema{Schema: key, Type: sr.TypeAvro})
	if err != nil {
		return s, fmt.Errorf("registering the key schema: %w", err)
	}
	vs, err := cl.CreateSchema(ctx, t.Topic+"-value", sr.Schema{Schema: value, Type: sr.TypeAvro})
	if err != nil {
		return s, fmt.Errorf("registering the value schema: %w", err)
	}
	s.KeyID, s.ValueID = ks.ID, vs.ID
	if s.Key, err = avro.ParseWithCache(key, "", &avro.SchemaCache{}); err != nil {
		return s, fmt.Errorf("parsing the key schema: %w", err)
	}
	if s.Value, err = avro.ParseWithCache(value, "", &avro.SchemaCache{}); err != nil {
		return s, fmt.Errorf("parsing the value schema: %w", err)
	}
	return s, nil
}

// Avro returns the key and value AvroConverter writes, with the given
// schemas (which may be an older or newer version than t describes, for
// schema evolution: columns the row lacks are written as null, columns the
// schema lacks are left out).
func (t *Table) Avro(s Schemas, c Change) (key, value []byte, err error) {
	k := map[string]any{}
	for _, name := range t.Key {
		k[name] = c.keyRow()[name].Avro
	}
	if key, err = Wire(s.KeyID, s.Key, k); err != nil {
		return nil, nil, fmt.Errorf("key: %w", err)
	}
	if c.Tombstone {
		return key, nil, nil
	}
	row := func(r map[string]Val) any {
		if r == nil {
			return nil
		}
		m := map[string]any{}
		for _, col := range t.Columns {
			if v, ok := r[col.Name]; ok {
				m[col.Name] = v.Avro
			} else {
				m[col.Name] = nil
			}
		}
		// hamba/avro takes a record in a union as a one-entry map from
		// the record's full name.
		return map[string]any{t.Topic + ".Value": m}
	}
	src := map[string]any{}
	for _, f := range t.sourceFields(c.Source) {
		src[f.name] = f.val.Avro
	}
	datum := map[string]any{
		"before": row(c.Before), "after": row(c.After), "source": src, "op": c.Op,
		"ts_ms": c.Source.TsUs/1000 + 100, "ts_us": nil, "ts_ns": nil, "transaction": nil,
	}
	if value, err = Wire(s.ValueID, s.Value, datum); err != nil {
		return nil, nil, fmt.Errorf("value: %w", err)
	}
	return key, value, nil
}

// Wire encodes datum with hamba/avro in the Confluent wire format.
func Wire(id int, schema avro.Schema, datum any) ([]byte, error) {
	// A fresh configuration each time: hamba/avro's shared codec cache
	// can hand a record's older version's codec to a newer version of the
	// same name in a union (seen with v2.31.0), and schema-evolution tests
	// write several versions.
	body, err := avro.Config{}.Freeze().Marshal(schema, datum)
	if err != nil {
		return nil, fmt.Errorf("encoding with schema id %d: %w", id, err)
	}
	out := make([]byte, 5, 5+len(body))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, body...), nil
}
