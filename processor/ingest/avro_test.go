package ingest_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/profiled/profiled/processor/fact"
	"github.com/profiled/profiled/processor/ingest"
	"github.com/profiled/profiled/processor/internal/memstate"
	"github.com/profiled/profiled/processor/merge"
	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/debezium/avrotest"
	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/schemas/registry"
)

// avroDict maps every column type of avrotest.Customers onto an attribute,
// and avrotest.Orders onto a collection with derived attributes. FORMAT is
// replaced by debezium-json or debezium-avro.
const avroDict = `
registry: {urls: ["http://127.0.0.1:8081"]}
attributes:
  email: {type: string, normalize: [trim, lower], validate: {email: true}}
  first_name: {type: string}
  phone: {type: string}
  age: {type: int}
  tier: {type: string}
  tier_enum: {type: string}
  balance: {type: decimal, scale: 2}
  credit: {type: decimal, scale: 3}
  amount: {type: decimal}
  birth_date: {type: date}
  signup_date: {type: date}
  opens_ms: {type: int}
  opens_us: {type: int}
  opens_ns: {type: int}
  closes_ms: {type: int}
  closes_us: {type: int}
  created_ms: {type: timestamp}
  created_us: {type: timestamp}
  created_ns: {type: timestamp}
  updated_at: {type: timestamp}
  seen_ms: {type: timestamp}
  seen_us: {type: timestamp}
  local_us: {type: timestamp}
  external_id: {type: string}
  device_id: {type: string}
  opt_in: {type: bool}
  score: {type: float}
  rating: {type: float}
  tags: {type: string}
  prefs: {type: string}
  order_count: {type: int, derive: {collection: orders, aggregate: count, where: [{field: status, ne: cancelled}]}}
  lifetime_value: {type: decimal, scale: 2, derive: {collection: orders, aggregate: sum, field: total}}
  last_order_at: {type: timestamp, derive: {collection: orders, aggregate: max, field: created_at}}
collections:
  orders:
    fields:
      status: {type: string}
      total: {type: decimal, scale: 2}
      created_at: {type: timestamp}
sources:
  - name: crm
    topic: crm.public.customers
    format: FORMAT
    profile_id: {field: id}
    attributes:
      email: {from: email}
      first_name: {from: first_name}
      phone: {from: phone}
      age: {from: age}
      tier: {from: tier}
      tier_enum: {from: tier_enum}
      balance: {from: balance}
      credit: {from: credit}
      amount: {from: amount}
      birth_date: {from: birth_date}
      signup_date: {from: signup_date}
      opens_ms: {from: opens_ms}
      opens_us: {from: opens_us}
      opens_ns: {from: opens_ns}
      closes_ms: {from: closes_ms}
      closes_us: {from: closes_us}
      created_ms: {from: created_ms}
      created_us: {from: created_us}
      created_ns: {from: created_ns}
      updated_at: {from: updated_at}
      seen_ms: {from: seen_ms}
      seen_us: {from: seen_us}
      local_us: {from: local_us}
      external_id: {from: external_id}
      device_id: {from: device_id}
      opt_in: {from: opt_in}
      score: {from: score}
      rating: {from: rating}
      tags: {from: tags}
      prefs: {from: prefs}
  - name: shop
    topic: shop.inventory.orders
    format: FORMAT
    profile_id: {field: customer_id}
    entity:
      collection: orders
      key: id
      fields:
        status: {from: status}
        total: {from: total}
        created_at: {from: created_at}
`

func parseDict(t testing.TB, format string) *dictionary.File {
	t.Helper()
	d, err := dictionary.Parse([]byte(strings.ReplaceAll(avroDict, "FORMAT", format)), format+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type pair struct {
	topic          string
	jk, jv, ak, av []byte
	wantSkip       bool
}

// stream builds the same CRM and shop changes in both encodings, with the
// customers table changing its writer schema mid-stream: a phone column is
// added, then first_name dropped.
func stream(t testing.TB, cl *sr.Client) []pair {
	t.Helper()
	ctx := context.Background()
	cust, orders := avrotest.Customers(), avrotest.Orders()
	withPhone := *cust
	withPhone.Columns = append(append([]avrotest.Column{}, cust.Columns...),
		avrotest.Column{Name: "phone", Avro: `"string"`, Connect: `{"type":"string"}`, Optional: true})
	dropped := withPhone
	dropped.Columns = nil
	for _, c := range withPhone.Columns {
		if c.Name != "first_name" {
			dropped.Columns = append(dropped.Columns, c)
		}
	}
	var out []pair
	add := func(tbl *avrotest.Table, ch avrotest.Change) {
		s, err := tbl.Register(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		jk, jv := tbl.JSON(ch)
		ak, av, err := tbl.Avro(s, ch)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pair{topic: tbl.Topic, jk: jk, jv: jv, ak: ak, av: av})
	}
	row := func(id int64, email string, edit func(map[string]avrotest.Val)) map[string]avrotest.Val {
		r := avrotest.CustomerRow(id, email)
		if edit != nil {
			edit(r)
		}
		return r
	}
	pg := func(us, lsn int64) avrotest.Source { return avrotest.Source{TsUs: us, LSN: lsn, TxID: lsn} }
	my := func(us, pos int64) avrotest.Source {
		return avrotest.Source{TsUs: us, File: "mysql-bin.000007", Pos: pos, Row: 0, ServerID: 1}
	}
	order := func(id, customer int64, status, total string, createdMs int64) map[string]avrotest.Val {
		return map[string]avrotest.Val{"id": avrotest.Long(id), "customer_id": avrotest.Long(customer),
			"status": avrotest.Str(status), "total": avrotest.Decimal(total, 2), "currency": avrotest.Str("EUR"),
			"created_at": avrotest.Long(createdMs), "updated_at": avrotest.Str("2026-11-24T16:00:00Z")}
	}
	const t0 = 1764000000000000
	add(cust, avrotest.Change{Op: "r", After: row(1, " Ann@Example.com ", nil), Source: pg(t0, 10)})
	add(cust, avrotest.Change{Op: "c", After: row(2, "bob@example.com", func(r map[string]avrotest.Val) {
		r["first_name"] = avrotest.Str("Bob")
	}), Source: pg(t0+1e6, 20)})
	add(orders, avrotest.Change{Op: "c", After: order(100, 1, "paid", "129.90", 1764000001000), Source: my(t0+2e6, 400)})
	add(orders, avrotest.Change{Op: "c", After: order(101, 1, "new", "10.05", 1764000002000), Source: my(t0+3e6, 800)})
	// The writer schema gains a column...
	add(&withPhone, avrotest.Change{Op: "u", Before: row(1, "ann@example.com", nil), After: row(1, "ann.lee@example.com",
		func(r map[string]avrotest.Val) { r["phone"] = avrotest.Str("+4930123456") }), Source: pg(t0+4e6, 30)})
	add(orders, avrotest.Change{Op: "u", Before: order(101, 1, "new", "10.05", 1764000002000),
		After: order(101, 1, "cancelled", "10.05", 1764000002000), Source: my(t0+5e6, 900)})
	// ... then loses one.
	add(&dropped, avrotest.Change{Op: "u", Before: row(2, "bob@example.com", nil), After: row(2, "bob@example.com",
		func(r map[string]avrotest.Val) {
			r["phone"] = avrotest.Str("+14155550123")
			r["score"] = avrotest.Double(12.5)
		}), Source: pg(t0+6e6, 40)})
	add(orders, avrotest.Change{Op: "c", After: order(102, 2, "paid", "5.00", 1764000007000), Source: my(t0+7e6, 1000)})
	add(&dropped, avrotest.Change{Op: "d", Before: map[string]avrotest.Val{"id": avrotest.Long(2), "email": avrotest.Str("bob@example.com"),
		"local_us": avrotest.LogicalLocalTimestampMicros(0)}, Source: pg(t0+8e6, 50)})
	tomb := avrotest.Change{Op: "d", Tombstone: true, Before: map[string]avrotest.Val{"id": avrotest.Long(2)}}
	add(&dropped, tomb)
	out[len(out)-1].wantSkip = true
	return out
}

// runProfiles maps and merges one encoding of the stream and returns the
// rendered profiles.
func runProfiles(t *testing.T, m *ingest.Mapper, d *dictionary.File, recs []pair, avroIn bool) map[string]merge.View {
	t.Helper()
	mg := merge.New(d)
	owners, seen := memstate.Owners{}, memstate.Seen{}
	states := map[string]*merge.State{}
	for i, p := range recs {
		r := &ingest.Record{Topic: p.topic, Offset: int64(i), Key: p.jk, Value: p.jv}
		if avroIn {
			r.Key, r.Value = p.ak, p.av
		}
		facts, skip, err := m.MapContext(context.Background(), r, owners)
		if err != nil {
			t.Fatalf("record %d (avro %t): %v", i, avroIn, err)
		}
		if (skip != ingest.SkipNone) != p.wantSkip {
			t.Fatalf("record %d: skip %q", i, skip)
		}
		for _, f := range facts {
			st := states[f.ProfileID]
			if st == nil {
				st = merge.NewState()
				states[f.ProfileID] = st
			}
			if _, err := mg.Apply(st, f, seen); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := map[string]merge.View{}
	for id, st := range states {
		out[id] = mg.Render(st)
	}
	return out
}

func newAvroMapper(t *testing.T, d *dictionary.File) (*srfake.Registry, *sr.Client, *ingest.Mapper) {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return reg, cl, ingest.NewMapper(d, ingest.WithSchemas(registry.NewSchemaCache(cl, registry.SchemaCacheOptions{})))
}

// TestAvroSameProfilesAsJSON: the same Postgres and MySQL changes, written
// by JsonConverter and by AvroConverter (the customers table changing its
// writer schema twice mid-stream), give the same facts and the same
// profiles; nothing stops and nothing is lost across the schema changes.
func TestAvroSameProfilesAsJSON(t *testing.T) {
	jd, ad := parseDict(t, "debezium-json"), parseDict(t, "debezium-avro")
	_, cl, am := newAvroMapper(t, ad)
	recs := stream(t, cl)

	// Fact by fact first: a difference shows where it starts.
	jm := ingest.NewMapper(jd)
	jo, ao := memstate.Owners{}, memstate.Owners{}
	for i, p := range recs {
		jf, _, jerr := jm.Map(&ingest.Record{Topic: p.topic, Offset: int64(i), Key: p.jk, Value: p.jv}, jo)
		af, _, aerr := am.MapContext(context.Background(), &ingest.Record{Topic: p.topic, Offset: int64(i), Key: p.ak, Value: p.av}, ao)
		if jerr != nil || aerr != nil {
			t.Fatalf("record %d: json %v, avro %v", i, jerr, aerr)
		}
		if !reflect.DeepEqual(af, jf) {
			t.Errorf("record %d: facts differ:\navro %s\njson %s", i, factsText(af), factsText(jf))
		}
	}

	jp := runProfiles(t, ingest.NewMapper(jd), jd, recs, false)
	ap := runProfiles(t, am, ad, recs, true)
	if !reflect.DeepEqual(ap, jp) {
		t.Errorf("profiles differ:\navro %v\njson %v", ap, jp)
	}
	ann := ap["1"]
	want := map[string]schemas.Value{
		"email": schemas.String("ann.lee@example.com"), "phone": schemas.String("+4930123456"),
		"balance": {Kind: schemas.KindDecimal, Str: "1234.56"}, "birth_date": schemas.Date(-23034),
		"seen_us": schemas.Timestamp(1764000000123456), "order_count": schemas.Int(1),
		"lifetime_value": {Kind: schemas.KindDecimal, Str: "139.95"}, "last_order_at": schemas.Timestamp(1764000002000000),
		"tier_enum": schemas.String("silver"), "closes_ms": schemas.Int(64800000000),
	}
	for k, w := range want {
		if ann[k] != w {
			t.Errorf("profile 1: %s = %v, want %v", k, ann[k], w)
		}
	}
	// Bob's row was deleted (attributes cleared), his order remains.
	bob := ap["2"]
	if bob["email"] != schemas.Null || bob["lifetime_value"] != (schemas.Value{Kind: schemas.KindDecimal, Str: "5.00"}) {
		t.Errorf("profile 2: %v", bob)
	}
}

func factsText(fs []*fact.Fact) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.ProfileID + ": ")
		for _, op := range f.Ops {
			b.WriteString(op.Name + "=" + op.Value.String() + " ")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestAvroReasons: undecodable records are dead-lettered with their
// reason; a registry that cannot be reached and a mapper without a schema
// source are failures of the pipeline, not of the record.
func TestAvroReasons(t *testing.T) {
	d := parseDict(t, "debezium-avro")
	reg, cl, m := newAvroMapper(t, d)
	recs := stream(t, cl)
	good := recs[0]
	cases := []struct {
		name  string
		value []byte
		want  ingest.Reason
	}{
		{"unknown schema id", append([]byte{0, 0, 0, 0x7f, 0}, good.av[5:]...), ingest.ReasonSchema},
		{"json on an avro topic", good.jv, ingest.ReasonDecode},
		{"truncated", good.av[:20], ingest.ReasonDecode},
	}
	for _, c := range cases {
		_, _, err := m.MapContext(context.Background(), &ingest.Record{Topic: good.topic, Key: good.ak, Value: c.value}, memstate.Owners{})
		e, ok := ingest.AsError(err)
		if !ok || e.Reason != c.want {
			t.Errorf("%s: %v, want reason %s", c.name, err, c.want)
		}
	}
	_, _, err := m.MapContext(context.Background(), &ingest.Record{Topic: good.topic, Key: []byte{9}, Value: good.av}, memstate.Owners{})
	if e, ok := ingest.AsError(err); !ok || e.Reason != ingest.ReasonDecode {
		t.Errorf("bad key: %v", err)
	}

	_, _, err = ingest.NewMapper(d).Map(&ingest.Record{Topic: good.topic, Key: good.ak, Value: good.av}, memstate.Owners{})
	if _, ok := ingest.AsError(err); ok || err == nil {
		t.Errorf("no schema source: %v, want a pipeline error", err)
	}

	// A new mapper (empty caches) with the registry gone.
	m2 := ingest.NewMapper(d, ingest.WithSchemas(registry.NewSchemaCache(cl, registry.SchemaCacheOptions{})))
	reg.Close()
	_, _, err = m2.MapContext(context.Background(), &ingest.Record{Topic: good.topic, Key: good.ak, Value: good.av}, memstate.Owners{})
	if _, ok := ingest.AsError(err); ok || err == nil {
		t.Errorf("registry down: %v, want a pipeline error", err)
	}
	if _, ok := errors.AsType[*registry.Error](err); !ok {
		t.Errorf("registry down: %T %v", err, err)
	}
}
