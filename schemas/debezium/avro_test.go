package debezium_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/debezium"
	"github.com/profiled/profiled/schemas/debezium/avrotest"
	"github.com/profiled/profiled/schemas/registry"
)

// newRegistry starts an in-memory Schema Registry and returns a client and
// an Avro decoder over it.
func newRegistry(t testing.TB) (*srfake.Registry, *sr.Client, *debezium.AvroDecoder) {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return reg, cl, debezium.NewAvroDecoder(registry.NewSchemaCache(cl, registry.SchemaCacheOptions{}))
}

func register(t testing.TB, cl *sr.Client, tbl *avrotest.Table) avrotest.Schemas {
	t.Helper()
	s, err := tbl.Register(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// both returns the JSON and the Avro form of a change.
func both(t testing.TB, tbl *avrotest.Table, s avrotest.Schemas, c avrotest.Change) (jk, jv, ak, av []byte) {
	t.Helper()
	jk, jv = tbl.JSON(c)
	ak, av, err := tbl.Avro(s, c)
	if err != nil {
		t.Fatal(err)
	}
	return jk, jv, ak, av
}

func customerChanges() []avrotest.Change {
	ann := avrotest.CustomerRow(7001, "ann@example.com")
	ann2 := avrotest.CustomerRow(7001, "ann.lee@example.com")
	ann2["first_name"] = avrotest.Str("Ann")
	ann2["tier_enum"] = avrotest.Named("crm.public.customers.tier_enum", avrotest.Str("gold"))
	ann2["balance"] = avrotest.Decimal("-0.50", 2)
	ann2["tags"] = avrotest.Strings()
	src := func(us, lsn int64, snap string) avrotest.Source {
		return avrotest.Source{TsUs: us, LSN: lsn, TxID: lsn / 10, Snapshot: snap}
	}
	return []avrotest.Change{
		{Op: "r", After: ann, Source: src(1764000000000000, 100, "last")},
		{Op: "c", After: ann, Source: src(1764000001000000, 200, "")},
		{Op: "u", Before: ann, After: ann2, Source: src(1764000002000000, 300, "")},
		{Op: "d", Before: map[string]avrotest.Val{"id": avrotest.Long(7001), "email": avrotest.Str("ann.lee@example.com"),
			"local_us": avrotest.LogicalLocalTimestampMicros(0)},
			Source: src(1764000003000000, 400, "")},
	}
}

func orderChanges() []avrotest.Change {
	row := func(status, total string) map[string]avrotest.Val {
		return map[string]avrotest.Val{
			"id": avrotest.Long(5), "customer_id": avrotest.Long(7001), "status": avrotest.Str(status),
			"total": avrotest.Decimal(total, 2), "currency": avrotest.Str("EUR"),
			"created_at": avrotest.Long(1764000000000), "updated_at": avrotest.Str("2026-11-24T16:00:00Z"),
		}
	}
	src := func(us, pos int64, gtid string) avrotest.Source {
		return avrotest.Source{TsUs: us, File: "mysql-bin.000003", Pos: pos, Row: 1, ServerID: 223344, GTID: gtid}
	}
	return []avrotest.Change{
		{Op: "c", After: row("new", "129.90"), Source: src(1764000000000000, 154, "")},
		{Op: "u", Before: row("new", "129.90"), After: row("paid", "129.90"), Source: src(1764000005000000, 820, "3E11FA47-71CA-11E1-9E33-C80AA9429562:23")},
		{Op: "d", Before: row("paid", "129.90"), Source: src(1764000009000000, 1604, "")},
	}
}

// TestAvroMatchesJSON decodes the same changes written by JsonConverter
// (schemas.enable=true) and by AvroConverter: the changes, their keys and
// every column's value are identical, for a Postgres table with a column of
// every type and a MySQL table.
func TestAvroMatchesJSON(t *testing.T) {
	ctx := context.Background()
	_, cl, dec := newRegistry(t)
	cases := []struct {
		tbl     *avrotest.Table
		changes []avrotest.Change
	}{
		{avrotest.Customers(), customerChanges()},
		{avrotest.Orders(), orderChanges()},
	}
	for _, tc := range cases {
		s := register(t, cl, tc.tbl)
		for i, ch := range tc.changes {
			jk, jv, ak, av := both(t, tc.tbl, s, ch)
			want, err := debezium.Decode(jv)
			if err != nil {
				t.Fatalf("%s change %d: JSON: %v", tc.tbl.Topic, i, err)
			}
			got, err := dec.Decode(ctx, av)
			if err != nil {
				t.Fatalf("%s change %d: Avro: %v", tc.tbl.Topic, i, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s change %d (op %s): Avro and JSON differ:\navro %+v\njson %+v", tc.tbl.Topic, i, ch.Op, got, want)
			}
			if got.Op != debezium.Op(ch.Op[0]) {
				t.Errorf("%s change %d: op %q, want %q", tc.tbl.Topic, i, string(got.Op), ch.Op)
			}
			for _, r := range []struct{ a, j debezium.Row }{{got.Before, want.Before}, {got.After, want.After}} {
				for col := range r.j.Fields {
					jvv, _, jerr := r.j.Value(col, debezium.Hint{})
					avv, _, aerr := r.a.Value(col, debezium.Hint{})
					if jerr != nil || aerr != nil || jvv != avv {
						t.Errorf("%s change %d column %s: avro %v (%v), json %v (%v)", tc.tbl.Topic, i, col, avv, aerr, jvv, jerr)
					}
				}
			}
			if !reflect.DeepEqual(got.Position(), want.Position()) {
				t.Errorf("%s change %d: positions differ", tc.tbl.Topic, i)
			}
			wk, err := debezium.DecodeKey(jk)
			if err != nil {
				t.Fatal(err)
			}
			gk, err := dec.DecodeKey(ctx, ak)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gk, wk) {
				t.Errorf("%s change %d: keys differ: avro %+v, json %+v", tc.tbl.Topic, i, gk, wk)
			}
		}
	}
}

// TestAvroValues pins the converted values of every logical type, so that
// the equivalence above is not an agreement of two wrong readings.
func TestAvroValues(t *testing.T) {
	ctx := context.Background()
	_, cl, dec := newRegistry(t)
	tbl := avrotest.Customers()
	s := register(t, cl, tbl)
	_, av, err := tbl.Avro(s, customerChanges()[1])
	if err != nil {
		t.Fatal(err)
	}
	c, err := dec.Decode(ctx, av)
	if err != nil {
		t.Fatal(err)
	}
	dec2 := func(s string) schemas.Value { return schemas.Value{Kind: schemas.KindDecimal, Str: s} }
	want := map[string]schemas.Value{
		"id": schemas.Int(7001), "email": schemas.String("ann@example.com"), "first_name": schemas.Null,
		"age": schemas.Int(42), "tier": schemas.String("gold"), "tier_enum": schemas.String("silver"),
		"balance": dec2("1234.56"), "credit": dec2("-0.500"), "amount": dec2("12.345"),
		"birth_date": schemas.Date(-23034), "signup_date": schemas.Date(19000),
		"opens_ms": schemas.Int(32400000000), "opens_us": schemas.Int(32400000123), "opens_ns": schemas.Int(32400000123),
		"closes_ms": schemas.Int(64800000000), "closes_us": schemas.Int(64800000500),
		"created_ms": schemas.Timestamp(1700000000123000), "created_us": schemas.Timestamp(1700000000123456),
		"created_ns": schemas.Timestamp(1700000000123456), "updated_at": schemas.Timestamp(time.Date(2026, 11, 22, 10, 15, 2, 412345000, time.UTC).UnixMicro()),
		"seen_ms": schemas.Timestamp(1764000000123000), "seen_us": schemas.Timestamp(1764000000123456),
		"local_us":    schemas.Timestamp(1764000000654321),
		"external_id": schemas.String("8c4b1a52-4f1e-4e43-9a7e-2a6f0b6f3c11"), "device_id": schemas.String("0d1f7a1e-5b7c-4d2e-8f00-1234567890ab"),
		"opt_in": schemas.Bool(true), "score": schemas.Float(98.25), "rating": schemas.Float(4.5),
		"avatar": schemas.String("3q2+7w=="), "tags": schemas.String(`["vip","beta"]`),
		"prefs": schemas.String(`{"newsletter":true}`),
	}
	if len(want) != len(tbl.Columns) {
		t.Fatalf("the test covers %d of %d columns", len(want), len(tbl.Columns))
	}
	for col, w := range want {
		got, present, err := c.After.Value(col, debezium.Hint{})
		if err != nil || !present || got != w {
			t.Errorf("%s = %v (present %t, %v), want %v", col, got, present, err, w)
		}
	}
	if tm, ok := c.EventTime(); !ok || tm != 1764000001000000 {
		t.Errorf("event time %d, %t", tm, ok)
	}
	if c.Source.Connector != "postgresql" || c.Source.Table != "customers" || !c.Source.HasLSN || c.Source.LSN != 200 || c.Source.Snapshot != "false" {
		t.Errorf("source %+v", c.Source)
	}
}

// TestAvroMySQLSource reads the binlog coordinates of a MySQL source block.
func TestAvroMySQLSource(t *testing.T) {
	_, cl, dec := newRegistry(t)
	tbl := avrotest.Orders()
	s := register(t, cl, tbl)
	_, av, err := tbl.Avro(s, orderChanges()[1])
	if err != nil {
		t.Fatal(err)
	}
	c, err := dec.Decode(context.Background(), av)
	if err != nil {
		t.Fatal(err)
	}
	src := c.Source
	if src.File != "mysql-bin.000003" || src.Pos != 820 || src.Row != 1 || src.ServerID != 223344 ||
		src.GTID != "3E11FA47-71CA-11E1-9E33-C80AA9429562:23" || src.Connector != "mysql" || src.HasLSN {
		t.Errorf("source %+v", src)
	}
	if c.Position() == nil {
		t.Error("no position")
	}
}

// TestAvroSchemaEvolution decodes a stream whose writer schema changes
// mid-stream: a column is added (with a default), then another dropped.
// Every record decodes with its own writer schema, by column name.
func TestAvroSchemaEvolution(t *testing.T) {
	ctx := context.Background()
	_, cl, dec := newRegistry(t)
	v1 := &avrotest.Table{Topic: "crm.public.people", Connector: "postgresql", Key: []string{"id"}, Columns: []avrotest.Column{
		{Name: "id", Avro: `"long"`, Connect: `{"type":"int64"}`},
		{Name: "email", Avro: `"string"`, Connect: `{"type":"string"}`, Optional: true},
		{Name: "country", Avro: `"string"`, Connect: `{"type":"string"}`, Optional: true},
	}}
	v2 := &avrotest.Table{Topic: v1.Topic, Connector: "postgresql", Key: v1.Key, Columns: append(v1.Columns[:3:3],
		avrotest.Column{Name: "phone", Avro: `"string"`, Connect: `{"type":"string"}`, Optional: true})}
	v3 := &avrotest.Table{Topic: v1.Topic, Connector: "postgresql", Key: v1.Key, Columns: []avrotest.Column{
		v1.Columns[0], v1.Columns[1], v2.Columns[3]}}
	var recs [][]byte
	for i, tbl := range []*avrotest.Table{v1, v2, v3, v1} {
		s := register(t, cl, tbl)
		row := map[string]avrotest.Val{
			"id": avrotest.Long(int64(i)), "email": avrotest.Str("a@example.com"),
			"country": avrotest.Str("DE"), "phone": avrotest.Str("+4930123"),
		}
		_, av, err := tbl.Avro(s, avrotest.Change{Op: "c", After: row, Source: avrotest.Source{TsUs: int64(i+1) * 1e6}})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, av)
	}
	want := []map[string]bool{
		{"id": true, "email": true, "country": true},
		{"id": true, "email": true, "country": true, "phone": true},
		{"id": true, "email": true, "phone": true},
		{"id": true, "email": true, "country": true},
	}
	for i, r := range recs {
		c, err := dec.Decode(ctx, r)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		got := map[string]bool{}
		for col := range c.After.Fields {
			got[col] = true
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("record %d columns %v, want %v", i, got, want[i])
		}
		if v, _, _ := c.After.Value("id", debezium.Hint{}); v != schemas.Int(int64(i)) {
			t.Errorf("record %d id %v", i, v)
		}
		if c.After.Has("phone") {
			if v, _, _ := c.After.Value("phone", debezium.Hint{}); v != schemas.String("+4930123") {
				t.Errorf("record %d phone %v", i, v)
			}
		}
	}
}

// TestAvroUnwrapped decodes the flat row of the unwrap SMT (rewrite mode
// with add.fields=op,source.ts_ms) as the JSON decoder does.
func TestAvroUnwrapped(t *testing.T) {
	ctx := context.Background()
	_, cl, dec := newRegistry(t)
	schema := `{"type":"record","name":"Value","namespace":"crm.public.customers","fields":[
	 {"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null},
	 {"name":"birth_date","type":["null",` + avrotest.DateAvro + `],"default":null},
	 {"name":"__op","type":["null","string"],"default":null},
	 {"name":"__source_ts_ms","type":["null","long"],"default":null},
	 {"name":"__lsn","type":["null","long"],"default":null},
	 {"name":"__deleted","type":["null","string"],"default":null}],"connect.name":"crm.public.customers.Value"}`
	ss, err := cl.CreateSchema(ctx, "crm.public.customers-value", sr.Schema{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	jsonSchema := `{"type":"struct","name":"crm.public.customers.Value","optional":false,"fields":[
	 {"field":"id","type":"int64","optional":false},{"field":"email","type":"string","optional":true},
	 {"field":"birth_date","type":"int32","optional":true,"name":"io.debezium.time.Date","version":1},
	 {"field":"__op","type":"string","optional":true},{"field":"__source_ts_ms","type":"int64","optional":true},
	 {"field":"__lsn","type":"int64","optional":true},{"field":"__deleted","type":"string","optional":true}]}`
	parsed := mustParse(t, schema)
	for _, row := range []map[string]any{
		{"id": int64(1), "email": "a@example.com", "birth_date": 7000, "__op": "c", "__source_ts_ms": int64(1700000000123), "__lsn": int64(5), "__deleted": "false"},
		{"id": int64(1), "email": nil, "birth_date": nil, "__op": "d", "__source_ts_ms": int64(1700000000999), "__lsn": int64(6), "__deleted": "true"},
		{"id": int64(2), "email": "b@example.com", "birth_date": nil, "__op": nil, "__source_ts_ms": nil, "__lsn": nil, "__deleted": nil},
	} {
		av, err := avrotest.Wire(ss.ID, parsed, row)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.Decode(ctx, av)
		if err != nil {
			t.Fatal(err)
		}
		want, err := debezium.Decode([]byte(`{"schema":` + jsonSchema + `,"payload":` + jsonOf(t, row) + `}`))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %v: avro %+v, json %+v", row, got, want)
		}
		if !got.Unwrapped {
			t.Errorf("row %v: not unwrapped", row)
		}
	}
}

// TestAvroErrors: each kind of bad input fails with its sentinel, and a
// tombstone is a tombstone.
func TestAvroErrors(t *testing.T) {
	ctx := context.Background()
	_, cl, dec := newRegistry(t)
	tbl := avrotest.Customers()
	s := register(t, cl, tbl)
	_, good, err := tbl.Avro(s, customerChanges()[2])
	if err != nil {
		t.Fatal(err)
	}
	heartbeat, err := cl.CreateSchema(ctx, "__debezium-heartbeat.crm-value", sr.Schema{Schema: `{"type":"record","name":"Heartbeat",
	 "namespace":"io.debezium.connector.common","fields":[{"name":"ts_ms","type":"long"}],"connect.name":"io.debezium.connector.common.Heartbeat"}`})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := cl.CreateSchema(ctx, "plain-value", sr.Schema{Schema: `"string"`})
	if err != nil {
		t.Fatal(err)
	}
	withID := func(id int, body []byte) []byte {
		b := []byte{0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], uint32(id))
		return append(b, body...)
	}
	cases := []struct {
		name  string
		value []byte
		want  error
	}{
		{"short", []byte{0, 0, 1}, debezium.ErrWireFormat},
		{"json instead", []byte(`{"op":"c"}`), debezium.ErrWireFormat},
		{"header id magic", append([]byte{1}, good[1:]...), debezium.ErrWireFormat},
		{"unknown id", withID(999, good[5:]), debezium.ErrUnknownSchema},
		{"truncated", good[:len(good)/2], debezium.ErrAvroData},
		{"trailing bytes", append(append([]byte(nil), good...), 0), debezium.ErrAvroData},
		{"garbage", withID(s.ValueID, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), debezium.ErrAvroData},
		{"union branch out of range", withID(s.ValueID, []byte{0x08}), debezium.ErrAvroData},
		{"heartbeat", withID(heartbeat.ID, []byte{2}), debezium.ErrNotEnvelope},
		{"not a record", withID(plain.ID, []byte{2, 'x'}), debezium.ErrNotEnvelope},
	}
	for _, c := range cases {
		_, err := dec.Decode(ctx, c.value)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := dec.DecodeKey(ctx, withID(plain.ID, []byte{2, 'x'})); !errors.Is(err, debezium.ErrNotEnvelope) {
		t.Errorf("non-record key: %v", err)
	}
	if _, err := dec.DecodeKey(ctx, []byte{7}); !errors.Is(err, debezium.ErrWireFormat) {
		t.Errorf("short key: %v", err)
	}
	for _, v := range [][]byte{nil, {}} {
		c, err := dec.Decode(ctx, v)
		if err != nil || !c.Tombstone {
			t.Errorf("tombstone %v: %+v, %v", v, c, err)
		}
	}
	if k, err := dec.DecodeKey(ctx, nil); err != nil || k.Fields != nil {
		t.Errorf("nil key: %+v, %v", k, err)
	}
}

// TestAvroRegistryDown: a registry that cannot be reached is not a bad
// record: the error wraps none of the record sentinels.
func TestAvroRegistryDown(t *testing.T) {
	reg, cl, dec := newRegistry(t)
	tbl := avrotest.Orders()
	s := register(t, cl, tbl)
	_, av, err := tbl.Avro(s, orderChanges()[0])
	if err != nil {
		t.Fatal(err)
	}
	reg.Close()
	_, err = dec.Decode(context.Background(), av)
	if err == nil {
		t.Fatal("decoded without a registry")
	}
	for _, sentinel := range []error{debezium.ErrUnknownSchema, debezium.ErrAvroData, debezium.ErrWireFormat, debezium.ErrNotEnvelope} {
		if errors.Is(err, sentinel) {
			t.Errorf("registry down reported as a bad record (%v): %v", sentinel, err)
		}
	}
	if _, ok := errors.AsType[*registry.Error](err); !ok {
		t.Errorf("want a *registry.Error, got %T: %v", err, err)
	}
}

// TestAvroConcurrent decodes from many goroutines while the schema is
// first looked up (run with -race).
func TestAvroConcurrent(t *testing.T) {
	ctx := context.Background()
	_, cl, dec := newRegistry(t)
	tbl := avrotest.Customers()
	s := register(t, cl, tbl)
	_, av, err := tbl.Avro(s, customerChanges()[2])
	if err != nil {
		t.Fatal(err)
	}
	want, err := dec.Decode(ctx, av)
	if err != nil {
		t.Fatal(err)
	}
	// A second decoder, so that the lookups race.
	dec2 := debezium.NewAvroDecoder(registry.NewSchemaCache(cl, registry.SchemaCacheOptions{}))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, err := dec2.Decode(ctx, av)
				if err != nil {
					errs <- err
					return
				}
				if !reflect.DeepEqual(got, want) {
					errs <- errors.New("concurrent decode differs")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func mustParse(t testing.TB, schema string) avro.Schema {
	t.Helper()
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
