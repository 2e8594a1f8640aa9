package processor_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/schemas/debezium/avrotest"
	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/schemas/profileavro"
	"github.com/profiled/profiled/schemas/registry"
)

// avroE2EDict is a CRM customers table and a shop orders table; FORMAT and
// OUTPUT are filled in per run.
const avroE2EDict = `
registry: {urls: ["REGISTRY"]}
output: {format: OUTPUT}
attributes:
  email: {type: string, description: Primary email., normalize: [trim, lower], validate: {email: true}}
  tier: {type: string}
  balance: {type: decimal, scale: 2}
  signup_date: {type: date}
  seen_us: {type: timestamp}
  opt_in: {type: bool}
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
      tier: {from: tier}
      balance: {from: balance}
      signup_date: {from: signup_date}
      seen_us: {from: seen_us}
      opt_in: {from: opt_in}
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

// TestAvroInAndOutThroughKafka runs the same Postgres and MySQL changes
// through two pipelines on kfake: one reading JsonConverter JSON and
// writing JSON profiles, one reading AvroConverter Avro (schemas in a
// registry, srfake) and writing Avro profiles registered under
// profiles-value. A consumer that knows only the registry (it fetches the
// writer schema by the id in each record and decodes with plain
// hamba/avro) reads the same final profiles as the JSON reader.
func TestAvroInAndOutThroughKafka(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	jd, ad := parseAvroE2E(t, reg.URL(), "debezium-json", "json"), parseAvroE2E(t, reg.URL(), "debezium-avro", "avro")

	jsonRecs, avroRecs := avroStream(t, cl, 40)
	ctx := context.Background()

	// JSON in, JSON out.
	kj := newCluster(t, jd)
	kj.produce(jsonRecs)
	inJ := kj.start(t.TempDir())
	kj.waitIdle(60 * time.Second)
	want := map[string]map[string]any{}
	for id, p := range kj.finalProfiles() {
		want[id] = p.Attributes
	}
	if err := inJ.stop(); err != nil {
		t.Fatal(err)
	}
	if len(want) != 40 {
		t.Fatalf("%d JSON profiles, want 40", len(want))
	}

	// Avro in, Avro out.
	schema, err := profileavro.Generate(ad)
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := profileavro.Register(ctx, cl, ad.Output.Subject, schema)
	if err != nil {
		t.Fatal(err)
	}
	ka := newCluster(t, ad)
	ka.produce(avroRecs)
	inA := ka.startOpts(t.TempDir(), func(o *processor.Options) {
		o.Schemas = registry.NewSchemaCache(cl, registry.SchemaCacheOptions{})
		o.ProfileEncoder = profileavro.NewEncoder(schema, id)
	})
	ka.waitIdle(60 * time.Second)
	got := decodeWithRegistryOnly(t, cl, ka.readAll(ad.Pipeline.ProfilesTopic))
	if err := inA.stop(); err != nil {
		t.Fatal(err)
	}
	if diffs := scenario.Diff(got, want); len(diffs) > 0 {
		t.Fatalf("Avro profiles differ from JSON ones (%d), e.g. %v", len(diffs), diffs[:min(5, len(diffs))])
	}
	if dl := ka.readAll(ad.Pipeline.DLQTopic); len(dl) != 0 {
		t.Fatalf("%d dead letters, e.g. %s", len(dl), header(dl[0], "profiled.error"))
	}
}

// avroStream registers the Customers and Orders schemas and builds the
// same changes in JsonConverter JSON and AvroConverter Avro: each customer
// is created and updated, and has three orders, some cancelled.
func avroStream(t testing.TB, cl *sr.Client, customers int64) (jsonRecs, avroRecs []scenario.Record) {
	t.Helper()
	ctx := context.Background()
	cust, orders := avrotest.Customers(), avrotest.Orders()
	cs, err := cust.Register(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	ords, err := orders.Register(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	add := func(tbl *avrotest.Table, s avrotest.Schemas, ch avrotest.Change) {
		jk, jv := tbl.JSON(ch)
		ak, av, err := tbl.Avro(s, ch)
		if err != nil {
			t.Fatal(err)
		}
		jsonRecs = append(jsonRecs, scenario.Record{Topic: tbl.Topic, Key: jk, Value: jv})
		avroRecs = append(avroRecs, scenario.Record{Topic: tbl.Topic, Key: ak, Value: av})
	}
	const t0 = int64(1764000000000000)
	for i := range customers {
		row := avrotest.CustomerRow(i+1, fmt.Sprintf(" User%d@Example.com ", i))
		add(cust, cs, avrotest.Change{Op: "c", After: row, Source: avrotest.Source{TsUs: t0 + i*1000, LSN: 10 + i, TxID: 10 + i}})
		row2 := avrotest.CustomerRow(i+1, fmt.Sprintf("user%d@example.org", i))
		row2["tier"] = avrotest.Str("silver")
		add(cust, cs, avrotest.Change{Op: "u", Before: row, After: row2, Source: avrotest.Source{TsUs: t0 + 1e9 + i*1000, LSN: 1e6 + i, TxID: 1e6 + i}})
		for j := range int64(3) {
			status := "paid"
			if (i+j)%4 == 0 {
				status = "cancelled"
			}
			o := map[string]avrotest.Val{"id": avrotest.Long(i*10 + j), "customer_id": avrotest.Long(i + 1),
				"status": avrotest.Str(status), "total": avrotest.Decimal(fmt.Sprintf("%d.%02d", 10+j, i%100), 2),
				"currency": avrotest.Str("EUR"), "created_at": avrotest.Long(1764000000000 + i*60000 + j*1000),
				"updated_at": avrotest.Str("2026-11-24T16:00:00Z")}
			add(orders, ords, avrotest.Change{Op: "c", After: o, Source: avrotest.Source{
				TsUs: t0 + 2e9 + i*1000 + j, File: "mysql-bin.000003", Pos: 100 + i*10 + j, ServerID: 1}})
		}
	}
	return jsonRecs, avroRecs
}

// parseAvroE2E fills in avroE2EDict.
func parseAvroE2E(t testing.TB, registryURL, format, output string) *dictionary.File {
	t.Helper()
	text := strings.NewReplacer("REGISTRY", registryURL, "FORMAT", format, "OUTPUT", output).Replace(avroE2EDict)
	d, err := dictionary.Parse([]byte(text), format+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// decodeWithRegistryOnly is what a downstream consumer does with nothing
// but the registry: read the schema id from the Confluent wire format,
// fetch that schema, decode with hamba/avro. Values are rendered as the
// JSON output renders them, to compare.
func decodeWithRegistryOnly(t *testing.T, cl *sr.Client, recs []*kgo.Record) map[string]map[string]any {
	t.Helper()
	schemas := map[int]avro.Schema{}
	out := map[string]map[string]any{}
	for _, r := range recs {
		if len(r.Value) < 5 || r.Value[0] != 0 {
			t.Fatalf("record %d/%d is not in the Confluent wire format", r.Partition, r.Offset)
		}
		id := int(binary.BigEndian.Uint32(r.Value[1:5]))
		s, ok := schemas[id]
		if !ok {
			ss, err := cl.SchemaByID(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if s, err = avro.Parse(ss.Schema); err != nil {
				t.Fatal(err)
			}
			schemas[id] = s
		}
		var p map[string]any
		if err := avro.Unmarshal(s, r.Value[5:], &p); err != nil {
			t.Fatalf("decoding profile %s: %v", r.Key, err)
		}
		attrs := map[string]any{}
		for k, v := range p["attributes"].(map[string]any) {
			if v = jsonLike(v); v != nil {
				attrs[k] = v
			}
		}
		out[p["profile_id"].(string)] = attrs
	}
	return out
}

// jsonLike unwraps a nullable union and renders logical types as the JSON
// output does: decimals as strings with their scale, dates as YYYY-MM-DD,
// timestamps in RFC 3339 UTC, integers as JSON numbers.
func jsonLike(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for _, inner := range m {
			v = inner
		}
	}
	switch x := v.(type) {
	case nil:
		return nil
	case *big.Rat:
		return x.FloatString(2)
	case time.Time:
		// A date decodes as midnight UTC; no timestamp of this data is.
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.UTC().Format(time.DateOnly)
		}
		return x.UTC().Format(time.RFC3339Nano)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case int:
		return float64(x)
	}
	return v
}
