package processor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/scenario"
)

const lookupT0 = int64(1_764_000_000_000_000) // 2025-11-24T16:00:00Z, µs

// crmCustomer is a Debezium change of the CRM's customers table
// (JsonConverter, schemas.enable=false) committed at tsUs.
func crmCustomer(id int, email, first, last string, tsUs int64) *kgo.Record {
	v := fmt.Sprintf(`{"before":null,"after":{"id":%d,"email":%q,"first_name":%q,"last_name":%q,"phone":null,"country":"DE","birth_date":null,"marketing_opt_in":true,"updated_at":%d},`+
		`"source":{"connector":"postgresql","name":"crm","ts_ms":%d,"ts_us":%d,"snapshot":"false","db":"crm","schema":"public","table":"customers","lsn":%d},"op":"u","ts_ms":%d}`,
		id, email, first, last, tsUs, tsUs/1000, tsUs, tsUs, tsUs/1000)
	return &kgo.Record{Topic: scenario.TopicCustomers, Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: []byte(v)}
}

// shopOrder is a Debezium insert into the shop's orders table.
func shopOrder(id, customer int, total string, tsUs int64) *kgo.Record {
	v := fmt.Sprintf(`{"before":null,"after":{"id":%d,"customer_id":%d,"status":"paid","total":%q,"currency":"EUR","created_at":%d},`+
		`"source":{"connector":"postgresql","name":"shop","ts_ms":%d,"ts_us":%d,"snapshot":"false","db":"shop","schema":"public","table":"orders","lsn":%d},"op":"c","ts_ms":%d}`,
		id, customer, total, tsUs, tsUs/1000, tsUs, tsUs, tsUs/1000)
	return &kgo.Record{Topic: scenario.TopicOrders, Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: []byte(v)}
}

// segment is a Segment message of user at tsUs: an identify with traits,
// or a page view.
func segment(typ, user, messageID string, traits map[string]string, tsUs int64) *kgo.Record {
	ts := time.UnixMicro(tsUs).UTC().Format("2006-01-02T15:04:05.000Z")
	msg := map[string]any{
		"type": typ, "userId": user, "messageId": messageID,
		"timestamp": ts, "sentAt": ts, "receivedAt": ts, "originalTimestamp": ts,
	}
	if traits != nil {
		msg["traits"] = traits
	}
	if typ == "page" {
		msg["name"] = "Home"
		msg["properties"] = map[string]any{"path": "/"}
	}
	b, _ := json.Marshal(msg)
	return &kgo.Record{Topic: scenario.TopicClickstream, Key: []byte(user), Value: b}
}

// produceSync produces recs with Kafka's default partitioner and returns
// them with their partitions and offsets.
func (k *cluster) produceSync(recs ...*kgo.Record) []*kgo.Record {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Results come in completion order; the records themselves carry
	// their partition and offset once produced.
	if err := k.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		k.t.Fatalf("producing: %v", err)
	}
	return recs
}

// lookupEventually retries Lookup while the partition is not ready (a
// rebalance or restore in progress) or its state is older than minVersion
// (the round committed to Kafka but is not stored yet).
func lookupEventually(t *testing.T, p *processor.Pipeline, id string, minVersion uint64) (*processor.ProfileLookup, error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := p.Lookup(ctx, id)
		cancel()
		retry := errors.Is(err, processor.ErrNotReady) || (err == nil && got.Version < minVersion)
		if !retry || time.Now().After(deadline) {
			return got, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLookupLineage: a profile whose name came from the CRM and whose
// newer email came from a clickstream identify shows exactly that, with the
// offsets of the records that set them; derived and counted attributes say
// what they aggregate.
func TestLookupLineage(t *testing.T) {
	d := devConfig(t)
	k := newCluster(t, d)
	recs := k.produceSync(
		crmCustomer(7001, "grace@crm.example", "Grace", "Hopper", lookupT0),
		shopOrder(9001, 7001, "129.90", lookupT0+10_000_000),
		segment("page", "7001", "page-1", nil, lookupT0+20_000_000),
		// An hour later the customer changes her email on the website.
		segment("identify", "7001", "identify-1", map[string]string{"email": "Grace@Click.example"}, lookupT0+3_600_000_000),
	)
	crm, order, identify := recs[0], recs[1], recs[3]
	in := k.startOpts(t.TempDir(), func(o *processor.Options) { o.AdvertiseAddr = "127.0.0.1:18080" })
	k.waitIdle(60 * time.Second)

	got, err := lookupEventually(t, in.p, "7001", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.ProfileID != "7001" || got.Version < 1 || got.ServedBy != "127.0.0.1:18080" {
		t.Errorf("header: %+v", got)
	}
	at := func(us int64) string { return time.UnixMicro(us).UTC().Format(time.RFC3339Nano) }
	check := func(name, value, policy string, want *processor.Origin) {
		t.Helper()
		a, ok := got.Attributes[name]
		if !ok {
			t.Errorf("%s: missing; attributes: %v", name, keys(got.Attributes))
			return
		}
		if string(a.Value) != value || a.Policy != policy {
			t.Errorf("%s = %s (%s), want %s (%s)", name, a.Value, a.Policy, value, policy)
		}
		if !reflect.DeepEqual(a.Origin, want) {
			t.Errorf("%s: origin %+v, want %+v", name, a.Origin, want)
		}
	}
	check("email", `"grace@click.example"`, "lww", &processor.Origin{
		Source: "clickstream", Topic: scenario.TopicClickstream, Partition: identify.Partition, Offset: identify.Offset,
		EventTime: at(lookupT0 + 3_600_000_000),
	})
	crmOrigin := &processor.Origin{
		Source: "crm", Topic: scenario.TopicCustomers, Partition: crm.Partition, Offset: crm.Offset,
		EventTime: at(lookupT0), Priority: 10,
	}
	check("first_name", `"Grace"`, "lww", crmOrigin)
	check("last_name", `"Hopper"`, "lww", crmOrigin)
	check("last_seen_at", `"`+time.UnixMicro(lookupT0+3_600_000_000).UTC().Format(time.RFC3339)+`"`, "max", &processor.Origin{
		Source: "clickstream", Topic: scenario.TopicClickstream, Partition: identify.Partition, Offset: identify.Offset,
		EventTime: at(lookupT0 + 3_600_000_000),
	})
	orderOrigin := &processor.Origin{
		Source: "orders", Topic: scenario.TopicOrders, Partition: order.Partition, Offset: order.Offset,
		EventTime: at(lookupT0 + 10_000_000), Entity: "9001",
	}
	check("order_count", `1`, "derived", orderOrigin)
	check("lifetime_value", `"129.90"`, "derived", orderOrigin)
	if dv := got.Attributes["lifetime_value"].Derived; dv == nil || *dv != (processor.Derivation{Collection: "orders", Aggregate: "sum", Field: "total", Entities: 1}) {
		t.Errorf("lifetime_value derivation: %+v", dv)
	}
	check("page_views", `1`, "counter", nil)
	if cb := got.Attributes["page_views"].CountedBy; !slices.Equal(cb, []string{"clickstream"}) {
		t.Errorf("page_views counted by %v", cb)
	}

	// The JSON the API serves.
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Attributes map[string]struct {
			Origin struct {
				Topic  string `json:"topic"`
				Offset int64  `json:"offset"`
			} `json:"origin"`
		} `json:"attributes"`
	}
	mustJSON(t, b, &doc)
	if o := doc.Attributes["email"].Origin; o.Topic != scenario.TopicClickstream || o.Offset != identify.Offset {
		t.Errorf("JSON email origin %+v in %s", o, b)
	}

	// An id this instance owns but has never seen.
	if _, err := in.p.Lookup(context.Background(), "no-such-profile"); !errors.Is(err, processor.ErrProfileNotFound) {
		t.Errorf("unknown profile: err = %v, want ErrProfileNotFound", err)
	}
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestLookupNamesTheOwner runs two instances: for every profile exactly one
// of them answers, with the attributes of the profile's last version on
// the profiles topic, and the other names it by its advertised address.
func TestLookupNamesTheOwner(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 30
	cfg.Seed = 5
	sc := scenario.Generate(cfg)
	k := newCluster(t, d)
	k.produce(sc.Records)
	addrs := []string{"a.profiled.test:8080", "b.profiled.test:8080"}
	var ins []*instance
	for _, addr := range addrs {
		ins = append(ins, k.startOpts(t.TempDir(), func(o *processor.Options) { o.AdvertiseAddr = addr }))
	}
	k.waitIdle(90 * time.Second)
	final := k.finalProfiles()
	if len(final) < 30 {
		t.Fatalf("only %d profiles", len(final))
	}
	served := map[string]int{}
	for id, want := range final {
		var answer *processor.ProfileLookup
		var owners []string
		for i, in := range ins {
			got, err := lookupEventually(t, in.p, id, want.Version)
			var notOwner *processor.NotOwnerError
			switch {
			case err == nil:
				answer = got
				served[addrs[i]]++
			case errors.As(err, &notOwner):
				owners = append(owners, notOwner.Owner)
				if notOwner.Owner != addrs[1-i] {
					t.Errorf("profile %s: instance %s names %q as the owner, want %s", id, addrs[i], notOwner.Owner, addrs[1-i])
				}
			default:
				t.Fatalf("profile %s on %s: %v", id, addrs[i], err)
			}
		}
		if answer == nil || len(owners) != 1 {
			t.Fatalf("profile %s: answered %v, redirected to %v; want one of each", id, answer != nil, owners)
		}
		if answer.Version != want.Version {
			t.Errorf("profile %s: lookup version %d, topic version %d", id, answer.Version, want.Version)
		}
		for name, v := range want.Attributes {
			var got any
			mustJSON(t, answer.Attributes[name].Value, &got)
			if !reflect.DeepEqual(got, v) {
				t.Errorf("profile %s: %s = %v by lookup, %v on the topic", id, name, got, v)
			}
		}
	}
	if served[addrs[0]] == 0 || served[addrs[1]] == 0 {
		t.Errorf("one instance served every profile: %v", served)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
