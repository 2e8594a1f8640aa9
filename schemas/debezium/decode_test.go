package debezium

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/profiled/profiled/schemas"
)

// A Postgres customers table as JsonConverter writes it, with a column of
// each encoding the profile pipeline cares about.
const pgRowSchema = `{"type":"struct","optional":true,"name":"pg.public.customers.Value","fields":[
 {"type":"int32","optional":false,"field":"id"},
 {"type":"string","optional":true,"field":"email"},
 {"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,
  "parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"balance"},
 {"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"updated_at"},
 {"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"birthday"}]`

func pgEnvelopeSchema() string {
	row := pgRowSchema
	return `{"type":"struct","optional":false,"name":"pg.public.customers.Envelope","version":2,"fields":[` +
		strings.Replace(row, `"optional":true,`, `"field":"before","optional":true,`, 1) + `},` +
		strings.Replace(row, `"optional":true,`, `"field":"after","optional":true,`, 1) + `},` +
		`{"type":"struct","optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source","fields":[
		  {"type":"int64","optional":false,"field":"ts_ms"},{"type":"int64","optional":true,"field":"lsn"}]},
		 {"type":"string","optional":false,"field":"op"},
		 {"type":"int64","optional":true,"field":"ts_ms"}]}`
}

const pgSource = `{"version":"3.7.0.Final","connector":"postgresql","name":"pg","ts_ms":1700000000123,
 "ts_us":1700000000123456,"ts_ns":1700000000123456000,"snapshot":"false","db":"shop",
 "sequence":"[\"100\",\"200\"]","schema":"public","table":"customers","txId":771,"lsn":33554432,"xmin":null}`

const pgRow = `{"id":7,"email":"ann@example.com","balance":"AeI6","updated_at":1700000000123456,"birthday":7000}`

// envelope builds a bare (schemas.enable=false) envelope; "" leaves a part out.
func envelope(op, before, after string) string {
	var b strings.Builder
	b.WriteString(`{"op":"` + op + `","ts_ms":1700000000999,"source":` + pgSource)
	if before != "" {
		b.WriteString(`,"before":` + before)
	}
	if after != "" {
		b.WriteString(`,"after":` + after)
	}
	b.WriteString("}")
	return b.String()
}

func wrap(schema, payload string) string {
	return `{"schema":` + schema + `,"payload":` + payload + `}`
}

func mustDecode(t *testing.T, in string) *Change {
	t.Helper()
	c, err := Decode([]byte(in))
	if err != nil {
		t.Fatalf("Decode: %v\ninput: %s", err, in)
	}
	return c
}

func mustValue(t *testing.T, r Row, col string) schemas.Value {
	t.Helper()
	v, present, err := r.Value(col, Hint{})
	if err != nil || !present {
		t.Fatalf("Value(%q) = %v, %v, %v", col, v, present, err)
	}
	return v
}

func TestDecodeOps(t *testing.T) {
	message := `{"prefix":"audit","content":"aGVsbG8="}`
	cases := []struct {
		name                string
		op, before, after   string
		extra               string // extra envelope members (op=m)
		want                Op
		wantBefore, wantAft bool
	}{
		{name: "create", op: "c", before: "null", after: pgRow, want: OpCreate, wantAft: true},
		{name: "update", op: "u", before: pgRow, after: pgRow, want: OpUpdate, wantBefore: true, wantAft: true},
		{name: "update without old tuple", op: "u", before: "null", after: pgRow, want: OpUpdate, wantAft: true},
		{name: "delete", op: "d", before: `{"id":7}`, after: "null", want: OpDelete, wantBefore: true},
		{name: "read", op: "r", before: "null", after: pgRow, want: OpRead, wantAft: true},
		{name: "truncate", op: "t", want: OpTruncate},
		{name: "message", op: "m", extra: `,"message":` + message, want: OpMessage},
		{name: "upper-case op", op: "C", after: pgRow, want: OpCreate, wantAft: true},
	}
	for _, tc := range cases {
		bare := envelope(tc.op, tc.before, tc.after)
		bare = bare[:len(bare)-1] + tc.extra + "}"
		for mode, in := range map[string]string{
			"schemas=false": bare,
			"schemas=true":  wrap(pgEnvelopeSchema(), bare),
		} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				c := mustDecode(t, in)
				if c.Op != tc.want || c.Tombstone || c.Unwrapped {
					t.Fatalf("got op %q tombstone %v unwrapped %v, want op %q", c.Op, c.Tombstone, c.Unwrapped, tc.want)
				}
				if (c.Before.Fields != nil) != tc.wantBefore || (c.After.Fields != nil) != tc.wantAft {
					t.Fatalf("before %v after %v, want before %v after %v", c.Before.Fields, c.After.Fields, tc.wantBefore, tc.wantAft)
				}
				if c.TsMs != 1700000000999 {
					t.Errorf("TsMs = %d", c.TsMs)
				}
				if c.Source.Table != "customers" || c.Source.LSN != 33554432 || !c.Source.HasLSN {
					t.Errorf("source = %+v", c.Source)
				}
				if et, ok := c.EventTime(); !ok || et != 1700000000123456 {
					t.Errorf("EventTime = %d, %v", et, ok)
				}
				if tc.wantAft || tc.wantBefore {
					if got := mustValue(t, c.Row(), "id"); got != schemas.Int(7) {
						t.Errorf("id = %v", got)
					}
				}
			})
		}
	}
}

func TestDecodeSchemaFields(t *testing.T) {
	c := mustDecode(t, wrap(pgEnvelopeSchema(), envelope("c", "null", pgRow)))
	f := c.After.Fields["balance"]
	if f.Type != "bytes" || f.Semantic != "org.apache.kafka.connect.data.Decimal" ||
		f.Params["scale"] != "2" || f.Params["connect.decimal.precision"] != "10" {
		t.Fatalf("balance field = %+v", f)
	}
	if f := c.After.Fields["id"]; f.Type != "int32" || f.Semantic != "" {
		t.Fatalf("id field = %+v", f)
	}
	// With the schema the semantic types apply without any hint.
	for col, want := range map[string]schemas.Value{
		"balance":    {Kind: schemas.KindDecimal, Str: "1234.50"},
		"updated_at": schemas.Timestamp(1700000000123456),
		"birthday":   schemas.Date(7000),
		"email":      schemas.String("ann@example.com"),
	} {
		if got := mustValue(t, c.After, col); got != want {
			t.Errorf("%s = %v, want %v", col, got, want)
		}
	}
	// Without it the same row reads as plain JSON.
	c = mustDecode(t, envelope("c", "null", pgRow))
	if f := c.After.Fields["balance"]; f.Type != "" || f.Semantic != "" || f.Params != nil {
		t.Fatalf("schemaless field carries schema info: %+v", f)
	}
	if got := mustValue(t, c.After, "balance"); got != schemas.String("AeI6") {
		t.Errorf("schemaless balance = %v", got)
	}
	if got, _, _ := c.After.Value("balance", Hint{Semantic: semDecimal, Scale: 2}); got.Str != "1234.50" {
		t.Errorf("hinted balance = %v", got)
	}
}

// The schema cache must hand out the same info for repeated schemas and
// never mix up schemas that differ.
func TestSchemaCacheDistinguishesSchemas(t *testing.T) {
	other := strings.ReplaceAll(pgEnvelopeSchema(), `"scale":"2"`, `"scale":"3"`)
	for i := 0; i < 3; i++ {
		a := mustDecode(t, wrap(pgEnvelopeSchema(), envelope("c", "null", pgRow)))
		b := mustDecode(t, wrap(other, envelope("c", "null", pgRow)))
		if got := mustValue(t, a.After, "balance"); got.Str != "1234.50" {
			t.Fatalf("round %d: scale 2 schema gave %v", i, got)
		}
		if got := mustValue(t, b.After, "balance"); got.Str != "123.450" {
			t.Fatalf("round %d: scale 3 schema gave %v", i, got)
		}
	}
}

func TestDecodeTombstones(t *testing.T) {
	for name, in := range map[string][]byte{
		"nil":                    nil,
		"empty":                  {},
		"whitespace":             []byte(" \n\t"),
		"json null":              []byte("null"),
		"json null with spaces":  []byte(" null \n"),
		"schema and null":        []byte(wrap(`{"type":"struct","fields":[{"type":"int32","field":"id"}]}`, "null")),
		"payload first":          []byte(`{"payload":null,"schema":{"type":"struct"}}`),
		"null schema and null":   []byte(`{"schema":null,"payload":null}`),
		"unwrap tombstone (SMT)": []byte(wrap(pgRowSchema+`}`, "null")),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Decode(in)
			if err != nil {
				t.Fatal(err)
			}
			if !c.Tombstone || c.Op != 0 || c.Before.Fields != nil || c.After.Fields != nil || c.Unwrapped {
				t.Fatalf("got %+v, want a bare tombstone", c)
			}
			if _, ok := c.EventTime(); ok {
				t.Error("tombstone has an event time")
			}
			if c.Position() != nil {
				t.Error("tombstone has a position")
			}
		})
	}
}

func TestDecodeUnwrapped(t *testing.T) {
	rowSchema := `{"type":"struct","name":"pg.public.customers.Value","fields":[
	  {"type":"int32","optional":false,"field":"id"},
	  {"type":"string","optional":true,"field":"email"},
	  {"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","field":"updated_at"},
	  {"type":"string","optional":true,"field":"__deleted"}]}`
	cases := []struct {
		name      string
		in        string
		op        Op
		inBefore  bool
		tsMicros  int64 // 0: no event time
		table     string
		lsn       int64
		typedCols bool
	}{
		{name: "plain flat row", in: `{"id":7,"email":"a@b.c"}`, op: OpUpdate},
		{name: "rewrite, live row", in: `{"id":7,"email":"a@b.c","__deleted":"false"}`, op: OpUpdate},
		{name: "rewrite, deleted", in: `{"id":7,"email":"a@b.c","__deleted":"true"}`, op: OpDelete, inBefore: true},
		{name: "deleted as boolean", in: `{"id":7,"email":"a@b.c","__deleted":true}`, op: OpDelete, inBefore: true},
		{name: "with __op create", in: `{"id":7,"email":"a@b.c","__op":"c","__source_ts_ms":1700000000123,"__table":"customers","__lsn":4096,"__db":"shop"}`,
			op: OpCreate, tsMicros: 1700000000123000, table: "customers", lsn: 4096},
		{name: "with __op read", in: `{"id":7,"email":"a@b.c","__op":"r","__deleted":"false"}`, op: OpRead},
		{name: "with __op delete and __deleted", in: `{"id":7,"email":"a@b.c","__op":"d","__deleted":"true","__source_ts_us":1700000000123456}`,
			op: OpDelete, inBefore: true, tsMicros: 1700000000123456},
		{name: "__op delete alone", in: `{"id":7,"email":"a@b.c","__op":"d"}`, op: OpDelete, inBefore: true},
		{name: "null metadata says nothing", in: `{"id":7,"email":"a@b.c","__op":null,"__deleted":null,"__lsn":null,"__source_ts_ms":null}`, op: OpUpdate},
		{name: "unknown metadata stripped", in: `{"id":7,"email":"a@b.c","__source_query":"x","__foo":[1]}`, op: OpUpdate},
		{name: "schemas=true", in: wrap(rowSchema, `{"id":7,"email":"a@b.c","updated_at":1700000000123456,"__deleted":"false"}`),
			op: OpUpdate, typedCols: true},
		{name: "schemas=true deleted", in: wrap(rowSchema, `{"id":7,"email":"a@b.c","updated_at":null,"__deleted":"true"}`),
			op: OpDelete, inBefore: true, typedCols: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustDecode(t, tc.in)
			if !c.Unwrapped || c.Tombstone || c.Op != tc.op {
				t.Fatalf("unwrapped %v tombstone %v op %q, want unwrapped op %q", c.Unwrapped, c.Tombstone, c.Op, tc.op)
			}
			row := c.After
			if tc.inBefore {
				row = c.Before
				if c.After.Fields != nil {
					t.Error("deleted row also in After")
				}
			} else if c.Before.Fields != nil {
				t.Error("live row also in Before")
			}
			if got := mustValue(t, row, "email"); got != schemas.String("a@b.c") {
				t.Errorf("email = %v", got)
			}
			for col := range row.Fields {
				if strings.HasPrefix(col, "__") {
					t.Errorf("metadata column %q left in the row", col)
				}
			}
			et, ok := c.EventTime()
			if ok != (tc.tsMicros != 0) || et != tc.tsMicros {
				t.Errorf("EventTime = %d, %v; want %d", et, ok, tc.tsMicros)
			}
			if c.Source.Table != tc.table || c.Source.LSN != tc.lsn || c.Source.HasLSN != (tc.lsn != 0) {
				t.Errorf("source = %+v", c.Source)
			}
			if tc.typedCols {
				if f := row.Fields["updated_at"]; f.Semantic != semMicroTimestamp || f.Type != "int64" {
					t.Errorf("updated_at field = %+v", f)
				}
			}
		})
	}
}

func TestDecodeUnwrappedSourceFields(t *testing.T) {
	c := mustDecode(t, `{"id":1,"__op":"u","__db":"shop","__schema":"public","__ts_ms":1700000000999,
	  "__source_ts_ns":1700000000123456789,"__source_file":"mysql-bin.000004","__source_pos":"99","__source_row":2}`)
	want := Source{DB: "shop", Schema: "public", TsNs: 1700000000123456789, File: "mysql-bin.000004", Pos: 99, Row: 2}
	if c.Source != want || c.TsMs != 1700000000999 {
		t.Fatalf("source = %+v, ts_ms %d", c.Source, c.TsMs)
	}
	if et, ok := c.EventTime(); !ok || et != 1700000000123456 {
		t.Errorf("EventTime = %d, %v", et, ok)
	}
}

func TestDecodeSnapshot(t *testing.T) {
	for in, want := range map[string]string{
		`"true"`: "true", `"last"`: "last", `"incremental"`: "incremental", `"false"`: "false",
		`true`: "true", `false`: "false", `null`: "", `"LAST"`: "last",
	} {
		c := mustDecode(t, `{"op":"r","after":{"id":1},"source":{"snapshot":`+in+`,"ts_ms":1}}`)
		if c.Source.Snapshot != want {
			t.Errorf("snapshot %s -> %q, want %q", in, c.Source.Snapshot, want)
		}
	}
	c := mustDecode(t, `{"op":"r","after":{"id":1},"source":{"ts_ms":1}}`)
	if c.Source.Snapshot != "" {
		t.Errorf("absent snapshot -> %q", c.Source.Snapshot)
	}
	if _, err := Decode([]byte(`{"op":"r","source":{"snapshot":1}}`)); err == nil || !strings.Contains(err.Error(), "snapshot") {
		t.Errorf("numeric snapshot: err = %v", err)
	}
}

func TestDecodeMySQLSource(t *testing.T) {
	c := mustDecode(t, `{"op":"u","after":{"id":1},"source":{"version":"3.7.0.Final","connector":"mysql","name":"my",
	  "ts_ms":1700000000123,"snapshot":"false","db":"shop","table":"customers","server_id":223344,
	  "gtid":"0e4d5dcd-a33b-11ea-80f1-02010a22a99e:10","file":"mysql-bin.000003","pos":805,"row":2,"thread":7,
	  "query":"UPDATE customers SET x=1"}}`)
	want := Source{Version: "3.7.0.Final", Connector: "mysql", Name: "my", DB: "shop", Table: "customers",
		TsMs: 1700000000123, Snapshot: "false", File: "mysql-bin.000003", Pos: 805, Row: 2, ServerID: 223344,
		GTID: "0e4d5dcd-a33b-11ea-80f1-02010a22a99e:10"}
	if c.Source != want {
		t.Fatalf("source = %+v\nwant %+v", c.Source, want)
	}
	if et, ok := c.EventTime(); !ok || et != 1700000000123000 {
		t.Errorf("EventTime = %d, %v", et, ok)
	}
}

func TestEventTime(t *testing.T) {
	cases := []struct {
		name string
		src  Source
		want int64
		ok   bool
	}{
		{"ts_us", Source{TsMs: 1700000000123, TsUs: 1700000000123456, TsNs: 1700000000123456789}, 1700000000123456, true},
		{"ts_ns only", Source{TsNs: 1700000000123456789}, 1700000000123456, true},
		{"ts_ms only", Source{TsMs: 1700000000123}, 1700000000123000, true},
		{"none", Source{}, 0, false},
		{"ts_us without ts_ms", Source{TsUs: 5}, 5, true},
		// Fixture mysql-r-value-schemas-true.json: ts_us holds nanoseconds.
		{"ns-magnitude ts_us", Source{TsMs: 1638985247805, TsUs: 1638985247805000000, TsNs: 1638985247805000000}, 1638985247805000, true},
		{"both finer fields wrong", Source{TsMs: 1638985247805, TsUs: 1, TsNs: 2}, 1638985247805000, true},
		{"pre-epoch ns", Source{TsMs: -1, TsNs: -1}, -1, true},
		{"overflowing ts_ms", Source{TsMs: 1 << 62}, 0, false},
	}
	for _, tc := range cases {
		c := &Change{Source: tc.src}
		got, ok := c.EventTime()
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: EventTime = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPosition(t *testing.T) {
	pg := func(lsn int64) []byte { return (&Change{Source: Source{LSN: lsn, HasLSN: true}}).Position() }
	my := func(file string, pos int64, row int32) []byte {
		return (&Change{Source: Source{File: file, Pos: pos, Row: row}}).Position()
	}
	if got, want := pg(0x16E9058), []byte{'P', 0, 0, 0, 0, 0x01, 0x6E, 0x90, 0x58}; !bytes.Equal(got, want) {
		t.Errorf("pg position = %x, want %x", got, want)
	}
	wantMy := append([]byte("Mmysql-bin.000003\x00"), binary.BigEndian.AppendUint64(nil, 805)...)
	wantMy = binary.BigEndian.AppendUint32(wantMy, 2)
	if got := my("mysql-bin.000003", 805, 2); !bytes.Equal(got, wantMy) {
		t.Errorf("mysql position = %x, want %x", got, wantMy)
	}
	// Each list is in log order.
	for name, seq := range map[string][][]byte{
		"postgres": {pg(0), pg(255), pg(256), pg(24023128), pg(46523128), pg(1 << 40)},
		"mysql": {
			my("mysql-bin.000003", 154, 0), my("mysql-bin.000003", 154, 1), my("mysql-bin.000003", 805, 0),
			my("mysql-bin.000003", 1<<32, 0), my("mysql-bin.000004", 4, 0), my("mysql-bin.000010", 4, 0),
		},
	} {
		for i := 1; i < len(seq); i++ {
			if bytes.Compare(seq[i-1], seq[i]) >= 0 {
				t.Errorf("%s: position %d (%x) does not sort before %d (%x)", name, i-1, seq[i-1], i, seq[i])
			}
		}
	}
	if p := (&Change{Source: Source{Connector: "postgresql", Snapshot: "incremental"}}).Position(); p != nil {
		t.Errorf("position without lsn or file = %x", p)
	}
	// lsn 0 present is a position; absent is not.
	c := mustDecode(t, `{"op":"c","after":{"id":1},"source":{"lsn":0}}`)
	if !c.Source.HasLSN || len(c.Position()) != 9 {
		t.Errorf("lsn 0: HasLSN %v position %x", c.Source.HasLSN, c.Position())
	}
	c = mustDecode(t, `{"op":"c","after":{"id":1},"source":{"lsn":null}}`)
	if c.Source.HasLSN || c.Position() != nil {
		t.Errorf("lsn null: HasLSN %v position %x", c.Source.HasLSN, c.Position())
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)
	cases := []struct {
		name        string
		in          string
		notEnvelope bool   // must wrap ErrNotEnvelope
		contains    string // substring of the message
	}{
		{name: "truncated", in: `{"op":"c","source":{`, contains: "unexpected end"},
		{name: "trailing data", in: `{"op":"c","source":{}} x`, contains: "after the JSON value"},
		{name: "two documents", in: `null null`, contains: "after the JSON value"},
		{name: "bad literal", in: `{"op":"c","source":{},"after":nul}`, contains: "invalid literal"},
		{name: "array", in: `[1,2]`, notEnvelope: true},
		{name: "string", in: `"c"`, notEnvelope: true},
		{name: "number", in: `12`, notEnvelope: true},
		{name: "unknown op", in: `{"op":"x","source":{}}`, notEnvelope: true, contains: "decoding op"},
		{name: "long op", in: `{"op":"create","source":{}}`, notEnvelope: true},
		{name: "op not a string", in: `{"op":1,"source":{}}`, notEnvelope: true},
		{name: "after not an object", in: `{"op":"c","source":{},"after":[1]}`, notEnvelope: true, contains: "decoding after"},
		{name: "before a string", in: `{"op":"d","source":{},"before":"x"}`, notEnvelope: true, contains: "decoding before"},
		{name: "payload not an object", in: `{"schema":{},"payload":[1]}`, notEnvelope: true},
		{name: "lsn not a number", in: `{"op":"c","source":{"lsn":"abc"}}`, contains: "decoding source block: lsn"},
		{name: "lsn fraction", in: `{"op":"c","source":{"lsn":1.5}}`, contains: "lsn"},
		{name: "row out of range", in: `{"op":"c","source":{"row":4294967296}}`, contains: "row"},
		{name: "ts_ms overflow", in: `{"op":"c","source":{"ts_ms":99999999999999999999}}`, contains: "ts_ms"},
		{name: "table not a string", in: `{"op":"c","source":{"table":5}}`, contains: "table"},
		{name: "nesting too deep", in: deep, contains: "nesting deeper"},
		{name: "deep array", in: strings.Repeat("[", 100000), contains: "nesting deeper"},
		{name: "control character", in: "{\"op\":\"c\x01\",\"source\":{}}", contains: "control character"},
		{name: "bad escape", in: `{"op":"\q","source":{}}`, contains: "escape"},
		{name: "heartbeat", in: wrap(`{"type":"struct","name":"io.debezium.connector.common.Heartbeat","fields":[{"type":"int64","field":"ts_ms"}]}`, `{"ts_ms":1}`), notEnvelope: true},
		{name: "schema fields not an array", in: wrap(`{"type":"struct","fields":{}}`, `{"id":1}`), contains: "decoding schema"},
		{name: "schema parameter not a string", in: wrap(`{"type":"struct","fields":[{"type":"bytes","field":"x","parameters":{"scale":2}}]}`, `{"x":"AA=="}`), contains: "parameter"},
		{name: "__deleted not a flag", in: `{"id":1,"__deleted":"maybe"}`, contains: "__deleted"},
		{name: "__deleted contradicts __op", in: `{"id":1,"__deleted":"false","__op":"d"}`, notEnvelope: true},
		{name: "__op unknown", in: `{"id":1,"__op":"z"}`, notEnvelope: true, contains: "__op"},
		{name: "__source_ts_ms not a number", in: `{"id":1,"__source_ts_ms":true}`, contains: "__source_ts_ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode([]byte(tc.in))
			if err == nil {
				t.Fatalf("decoded %+v, want an error", c)
			}
			if errors.Is(err, ErrNotEnvelope) != tc.notEnvelope {
				t.Errorf("errors.Is(err, ErrNotEnvelope) = %v, want %v (err: %v)", !tc.notEnvelope, tc.notEnvelope, err)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not mention %q", err, tc.contains)
			}
		})
	}
}

// TestDecodeTruncatedSchema is the regression test for input ending in a
// backslash inside the "schema" value. The schema cache lookup measures the
// value with the trusted skip before validating it, which used to step past
// the end and panic slicing the input when its capacity equalled its length.
func TestDecodeTruncatedSchema(t *testing.T) {
	for _, in := range []string{`{"schema":"\`, `{"schema":{"\`, `{"schema":["\`, `{"schema":"`, `{"schema":{`} {
		b := []byte(in)
		b = b[:len(b):len(b)] // no spare capacity to hide an overrun
		if c, err := Decode(b); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", in, c)
		}
		if _, err := DecodeKey(b); err == nil {
			t.Errorf("DecodeKey(%q) succeeded, want an error", in)
		}
	}
}

// Shapes that look odd but are valid inputs.
func TestDecodeShapes(t *testing.T) {
	// A table with plain columns named op and source is a flat row: only a
	// source object makes an envelope.
	c := mustDecode(t, `{"id":1,"op":"c","source":"web"}`)
	if !c.Unwrapped || mustValue(t, c.After, "source") != schemas.String("web") {
		t.Errorf("columns op/source: %+v", c)
	}
	// An object with other keys besides schema and payload is a flat row.
	c = mustDecode(t, `{"schema":{},"payload":{},"id":3}`)
	if !c.Unwrapped || mustValue(t, c.After, "id") != schemas.Int(3) {
		t.Errorf("three keys: %+v", c)
	}
	// schema null with a payload: schemaless values behind the wrapper.
	c = mustDecode(t, `{"schema":null,"payload":`+envelope("c", "", `{"id":4}`)+`}`)
	if c.Op != OpCreate || mustValue(t, c.After, "id") != schemas.Int(4) {
		t.Errorf("null schema: %+v", c)
	}
	// Escaped keys decode like plain ones.
	c = mustDecode(t, `{"\u006fp":"c","sourc\u0065":{"t\u0061ble":"t"},"after":{"n\u00e4me":"x"}}`)
	if c.Op != OpCreate || c.Source.Table != "t" || !c.After.Has("näme") {
		t.Errorf("escaped keys: %+v", c)
	}
	// Duplicate keys: the last one wins, as with encoding/json.
	c = mustDecode(t, `{"op":"c","op":"u","source":{},"after":{"id":1,"id":2}}`)
	if c.Op != OpUpdate || mustValue(t, c.After, "id") != schemas.Int(2) {
		t.Errorf("duplicates: %+v", c)
	}
	// Legacy source with ts_sec only.
	c = mustDecode(t, `{"op":"c","after":{"id":1},"source":{"ts_sec":1479753436,"file":"f","pos":1}}`)
	if et, ok := c.EventTime(); !ok || et != 1479753436000000 {
		t.Errorf("ts_sec: EventTime = %d, %v", et, ok)
	}
}

func TestDecodeKey(t *testing.T) {
	r, err := DecodeKey([]byte(`{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],
	  "optional":false,"name":"dbserver1.inventory.customers.Key"},"payload":{"id":1004}}`))
	if err != nil {
		t.Fatal(err)
	}
	if f := r.Fields["id"]; f.Type != "int32" || mustValue(t, r, "id") != schemas.Int(1004) {
		t.Errorf("key with schema: %+v", r)
	}
	r, err = DecodeKey([]byte(`{"id":1004,"region":"eu"}`))
	if err != nil || mustValue(t, r, "region") != schemas.String("eu") || len(r.Fields) != 2 {
		t.Errorf("bare key: %+v, %v", r, err)
	}
	for _, in := range [][]byte{nil, {}, []byte("null"), []byte(`{"schema":{"type":"struct"},"payload":null}`)} {
		r, err := DecodeKey(in)
		if err != nil || r.Fields != nil {
			t.Errorf("DecodeKey(%q) = %+v, %v; want empty row", in, r, err)
		}
	}
	for _, in := range []string{`[1]`, `"abc"`, `{"id":`, `{"schema":{"type":"string"},"payload":"abc"}`} {
		if _, err := DecodeKey([]byte(in)); err == nil {
			t.Errorf("DecodeKey(%s) succeeded, want an error", in)
		}
	}
}

// Decoding runs on many partitions at once; the schema cache and the name
// table are shared. Run with -race.
func TestDecodeConcurrent(t *testing.T) {
	const workers = 8
	done := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			// Each worker has its own schema (a different scale) so the
			// cache sees concurrent misses and inserts as well as hits.
			scale := string(rune('0' + w%4))
			schema := strings.ReplaceAll(pgEnvelopeSchema(), `"scale":"2"`, `"scale":"`+scale+`"`)
			in := []byte(wrap(schema, envelope("u", pgRow, pgRow)))
			for i := 0; i < 200; i++ {
				c, err := Decode(in)
				if err != nil {
					done <- err
					return
				}
				if f := c.After.Fields["balance"]; f.Params["scale"] != scale {
					done <- errors.New("wrong schema for worker: scale " + f.Params["scale"] + ", want " + scale)
					return
				}
			}
			done <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
