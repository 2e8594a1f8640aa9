package debezium

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/profiled/profiled/schemas"
)

// sharedFixtureDir returns the shared Debezium fixtures: $PROFILED_SHARED/
// fixtures/debezium, else ../../../shared/fixtures/debezium from this
// package. The fixtures are the only real connector output the tests have,
// so a missing directory fails the test instead of skipping it.
func sharedFixtureDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "debezium")
	if s := os.Getenv("PROFILED_SHARED"); s != "" {
		dir = filepath.Join(s, "fixtures", "debezium")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		abs, _ := filepath.Abs(dir)
		tb.Fatalf("the shared Debezium fixtures are required: no directory %s (looked in $PROFILED_SHARED/fixtures/debezium "+
			"when PROFILED_SHARED is set, else ../../../shared/fixtures/debezium relative to the package): %v", abs, err)
	}
	return dir
}

// legacyRecord is a test-harness dump of a whole record (fixtures
// mysql-legacy-*): the value and its schema are separate members.
type legacyRecord struct {
	KeySchema   json.RawMessage `json:"keySchema"`
	Key         json.RawMessage `json:"key"`
	ValueSchema json.RawMessage `json:"valueSchema"`
	Value       json.RawMessage `json:"value"`
}

// fixtureInputs returns what to decode for a fixture file: the value itself,
// or for a legacy record its value twice, as JsonConverter would write it
// with schemas.enable=true and false.
func fixtureInputs(t *testing.T, name string, data []byte) map[string][]byte {
	if !strings.HasPrefix(name, "mysql-legacy-") {
		return map[string][]byte{"": data}
	}
	var rec legacyRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatalf("%s: reading legacy record: %v", name, err)
	}
	return map[string][]byte{
		"/schemas=true":  []byte(`{"schema":` + string(rec.ValueSchema) + `,"payload":` + string(rec.Value) + `}`),
		"/schemas=false": rec.Value,
	}
}

type fixtureWant struct {
	op        Op
	unwrapped bool
	eventTime int64 // 0: EventTime must report !ok
	position  bool
	columns   map[string]schemas.Value // read with Hint{} (or hints below)
	hints     map[string]Hint          // for schemaless inputs
	check     func(t *testing.T, c *Change)
}

var fixtureWants = map[string]fixtureWant{
	"mysql-c-value-schemas-false.json": {op: OpCreate, position: true,
		columns: map[string]schemas.Value{"id": schemas.Int(1004), "email": schemas.String("annek@noanswer.org")},
		check: func(t *testing.T, c *Change) {
			if c.Source.File != "mysql-bin.000003" || c.Source.Pos != 154 || c.Source.Snapshot != "false" || c.TsMs != 1465491411815 {
				t.Errorf("source %+v ts_ms %d", c.Source, c.TsMs)
			}
		}},
	"mysql-c-value-schemas-true.json": {op: OpCreate, position: true,
		columns: map[string]schemas.Value{"id": schemas.Int(1004), "first_name": schemas.String("Anne")},
		check: func(t *testing.T, c *Change) {
			if f := c.After.Fields["id"]; f.Type != "int32" {
				t.Errorf("id field %+v, want type int32 from the schema", f)
			}
			if c.Source.Connector != "mysql" || c.Source.Table != "customers" {
				t.Errorf("source %+v", c.Source)
			}
		}},
	"mysql-u-value-schemas-false.json": {op: OpUpdate, position: true,
		columns: map[string]schemas.Value{"first_name": schemas.String("Anne")},
		check: func(t *testing.T, c *Change) {
			if v := mustValue(t, c.Before, "first_name"); v != schemas.String("Anne-Marie") {
				t.Errorf("before.first_name = %v", v)
			}
		}},
	"mysql-u-value-extra-column.json": {op: OpUpdate, position: true,
		columns: map[string]schemas.Value{"middle_name": schemas.String("L"), "first_name": schemas.String("Anne")}},
	"mysql-unwrapped-value.json": {op: OpUpdate, unwrapped: true,
		columns: map[string]schemas.Value{"id": schemas.Int(1004), "last_name": schemas.String("Kretchmar")}},
	"mysql-d-value.json": {op: OpDelete, eventTime: 1465581902300000, position: true,
		columns: map[string]schemas.Value{"id": schemas.Int(1004), "first_name": schemas.String("Anne Marie")},
		check: func(t *testing.T, c *Change) {
			if c.After.Fields != nil || c.Source.ServerID != 223344 || c.Source.Pos != 805 {
				t.Errorf("after %v source %+v", c.After.Fields, c.Source)
			}
		}},
	"mysql-r-value-schemas-true.json": {op: OpRead, position: true,
		// source.ts_us is a docs bug (ns magnitude); ts_ns is consistent
		// with ts_ms and is used instead.
		eventTime: 1638985247805000,
		columns:   map[string]schemas.Value{"product_id": schemas.Int(101), "quantity": schemas.Int(3)},
		check: func(t *testing.T, c *Change) {
			if c.Source.Snapshot != "true" {
				t.Errorf("snapshot = %q", c.Source.Snapshot)
			}
		}},
	"mysql-legacy-temporal-record.json": {op: OpCreate, eventTime: 1479753435000000, position: true,
		columns: map[string]schemas.Value{
			"c1": schemas.Date(16321),                 // 2014-09-08
			"c2": schemas.Int(64264780000),            // 17:51:04.78 in µs
			"c3": schemas.Timestamp(1410198664780000), // 2014-09-08T17:51:04.78Z
			"c4": schemas.Timestamp(1410198664780000), // same instant, zone-less string read as UTC
		},
		hints: map[string]Hint{
			"c1": {Semantic: semDate}, "c2": {Semantic: semTime},
			"c3": {Semantic: semTimestamp}, "c4": {Semantic: semZonedTimestamp},
		},
		check: func(t *testing.T, c *Change) {
			if c.Source.Snapshot != "true" || c.Source.Pos != 3935743 {
				t.Errorf("source %+v", c.Source)
			}
		}},
	"mysql-legacy-decimal-record.json": {op: OpCreate, eventTime: 1479753436000000, position: true,
		columns: map[string]schemas.Value{"pk_column": schemas.Int(1), "decimal_value": dec("12345.67")},
		hints:   map[string]Hint{"decimal_value": {Semantic: semDecimal, Scale: 2}}},
	"pg-c-value-schemas-true.json": {op: OpCreate, eventTime: 1559033904863123, position: true,
		columns: map[string]schemas.Value{"id": schemas.Int(1), "email": schemas.String("annek@noanswer.org")},
		check: func(t *testing.T, c *Change) {
			if c.Source.LSN != 24023128 || c.Source.TxID != 555 || c.Source.Schema != "public" || c.Source.Snapshot != "true" {
				t.Errorf("source %+v", c.Source)
			}
		}},
	"pg-c-value-zonedtimestamp.json": {op: OpCreate, eventTime: 1559033904863000, position: true,
		columns: map[string]schemas.Value{"created_at": schemas.Timestamp(1294764030123456)}, // 2011-01-11T16:40:30.123456Z
		hints:   map[string]Hint{"created_at": {Semantic: semZonedTimestamp}}},
	"pg-u-value-replica-identity-default.json": {op: OpUpdate, eventTime: 1559033904863769, position: true,
		columns: map[string]schemas.Value{"first_name": schemas.String("Anne Marie")},
		check: func(t *testing.T, c *Change) {
			if len(c.Before.Fields) != 1 || !c.Before.Has("id") {
				t.Errorf("before = %v, want the key only", c.Before.Fields)
			}
		}},
	"pg-d-value-replica-identity-default.json": {op: OpDelete, eventTime: 1559033904863852, position: true,
		columns: map[string]schemas.Value{"id": schemas.Int(1)},
		check: func(t *testing.T, c *Change) {
			if c.After.Fields != nil || c.Source.LSN != 46523128 {
				t.Errorf("after %v source %+v", c.After.Fields, c.Source)
			}
		}},
	"pg-t-value.json": {op: OpTruncate, eventTime: 1559033904863112, position: true,
		check: func(t *testing.T, c *Change) {
			if c.Before.Fields != nil || c.After.Fields != nil {
				t.Errorf("truncate has rows: %+v", c)
			}
		}},
}

func TestSharedFixtures(t *testing.T) {
	dir := sharedFixtureDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s (%v)", dir, err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if name == "mysql-key-schemas-true.json" {
			t.Run(name, func(t *testing.T) {
				r, err := DecodeKey(data)
				if err != nil {
					t.Fatal(err)
				}
				if f := r.Fields["id"]; f.Type != "int32" || mustValue(t, r, "id") != schemas.Int(1004) || len(r.Fields) != 1 {
					t.Errorf("key = %+v", r)
				}
			})
			continue
		}
		want, known := fixtureWants[name]
		for suffix, in := range fixtureInputs(t, name, data) {
			t.Run(name+suffix, func(t *testing.T) {
				c, err := Decode(in)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if c.Tombstone {
					t.Fatal("decoded as a tombstone")
				}
				if !known {
					// A fixture added after these tests: decoding is all
					// that can be checked; add expectations above.
					t.Logf("no expectations for %s; only checked that it decodes (op %q)", name, c.Op)
					return
				}
				if c.Op != want.op || c.Unwrapped != want.unwrapped {
					t.Errorf("op %q unwrapped %v, want op %q unwrapped %v", c.Op, c.Unwrapped, want.op, want.unwrapped)
				}
				et, ok := c.EventTime()
				if ok != (want.eventTime != 0) || et != want.eventTime {
					t.Errorf("EventTime = %d, %v; want %d", et, ok, want.eventTime)
				}
				if (c.Position() != nil) != want.position {
					t.Errorf("Position = %x, want present %v", c.Position(), want.position)
				}
				row := c.Row()
				for col, wv := range want.columns {
					var h Hint
					if suffix != "/schemas=true" {
						h = want.hints[col]
					}
					got, present, err := row.Value(col, h)
					if err != nil || !present || got != wv {
						t.Errorf("column %s = %v, %v, %v; want %v", col, got, present, err, wv)
					}
				}
				if want.check != nil {
					want.check(t, c)
				}
			})
		}
	}
	for name := range fixtureWants {
		if !seen[name] {
			t.Errorf("fixture %s is missing from %s", name, dir)
		}
	}
}
