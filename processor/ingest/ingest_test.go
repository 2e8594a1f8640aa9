package ingest_test

import (
	"testing"

	"github.com/profiled/profiled/processor/fact"
	"github.com/profiled/profiled/processor/ingest"
	"github.com/profiled/profiled/processor/internal/memstate"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/schemas/dictionary"
)

func devConfig(t testing.TB) *dictionary.File {
	t.Helper()
	d, err := dictionary.Load("../../deploy/config/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ordersDelete(id string) []byte {
	return []byte(`{"before":{"id":` + id + `},"after":null,"source":{"connector":"postgresql","ts_us":3000000,"ts_ms":3000,"lsn":30},"op":"d"}`)
}

func orderChange(id, customer string, tsUs, lsn string) []byte {
	return []byte(`{"before":null,"after":{"id":` + id + `,"customer_id":` + customer + `,"status":"paid","total":"9.99","currency":"eur","created_at":1000000},"source":{"connector":"postgresql","ts_us":` + tsUs + `,"lsn":` + lsn + `},"op":"u"}`)
}

// TestOwnerRouting walks the cases of the entity-owner rules: a PK-only
// delete reaches the owner, a move supersedes the old profile, and a delete
// that arrives before anything else is held until the owner is known.
func TestOwnerRouting(t *testing.T) {
	m := ingest.NewMapper(devConfig(t))
	key := []byte(`{"id":5}`)
	rec := func(v []byte) *ingest.Record {
		return &ingest.Record{Topic: "shop.public.orders", Key: key, Value: v}
	}
	type got struct {
		profile string
		kind    fact.OpKind
		time    int64
	}
	summarize := func(fs []*fact.Fact) []got {
		var out []got
		for _, f := range fs {
			for _, op := range f.Ops {
				out = append(out, got{f.ProfileID, op.Kind, f.Stamp.Time})
			}
		}
		return out
	}

	// In order: create for 1, move to 2, PK-only delete.
	owners := memstate.Owners{}
	fs, _, err := m.Map(rec(orderChange("5", "1", "1000000", "10")), owners)
	if err != nil || len(summarize(fs)) != 1 || fs[0].ProfileID != "1" {
		t.Fatalf("create: %v %+v", err, summarize(fs))
	}
	fs, _, err = m.Map(rec(orderChange("5", "2", "2000000", "20")), owners)
	want := []got{{"2", fact.OpUpsert, 2000000}, {"1", fact.OpDelete, 2000000}}
	if err != nil || !equal(summarize(fs), want) {
		t.Fatalf("move: %v %+v, want %+v", err, summarize(fs), want)
	}
	fs, _, err = m.Map(rec(ordersDelete("5")), owners)
	want = []got{{"2", fact.OpDelete, 3000000}}
	if err != nil || !equal(summarize(fs), want) {
		t.Fatalf("delete: %v %+v, want %+v", err, summarize(fs), want)
	}

	// Reversed: the delete first is held, then each older version is
	// superseded in its own profile.
	owners = memstate.Owners{}
	fs, skip, err := m.Map(rec(ordersDelete("5")), owners)
	if err != nil || len(fs) != 0 || skip != ingest.SkipPendingDelete {
		t.Fatalf("early delete: %v %+v %q", err, summarize(fs), skip)
	}
	fs, _, err = m.Map(rec(orderChange("5", "2", "2000000", "20")), owners)
	want = []got{{"2", fact.OpUpsert, 2000000}, {"2", fact.OpDelete, 3000000}}
	if err != nil || !equal(summarize(fs), want) {
		t.Fatalf("late move: %v %+v, want %+v", err, summarize(fs), want)
	}
	fs, _, err = m.Map(rec(orderChange("5", "1", "1000000", "10")), owners)
	want = []got{{"1", fact.OpUpsert, 1000000}, {"1", fact.OpDelete, 3000000}}
	if err != nil || !equal(summarize(fs), want) {
		t.Fatalf("late create: %v %+v, want %+v", err, summarize(fs), want)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// BenchmarkMap measures stage 1 per record (decode, map, normalize,
// validate, build facts) over the reference scenario's mix of topics.
func BenchmarkMap(b *testing.B) {
	d := devConfig(b)
	sc := scenario.Generate(scenario.DefaultConfig())
	m := ingest.NewMapper(d)
	for _, topic := range []string{scenario.TopicCustomers, scenario.TopicOrders, scenario.TopicClickstream} {
		var recs []scenario.Record
		for _, r := range sc.Records {
			if r.Topic == topic && r.Value != nil {
				recs = append(recs, r)
			}
		}
		b.Run(topic, func(b *testing.B) {
			owners := memstate.Owners{}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := recs[i%len(recs)]
				i++
				_, _, _ = m.Map(&ingest.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Offset: int64(i)}, owners)
			}
		})
	}
}

// TestSkipsAndPlaceholders: tombstones, truncates and logical-decoding
// messages are skipped (not dead-lettered), and an unchanged TOAST value
// leaves its attribute alone while the rest of the row is applied.
func TestSkipsAndPlaceholders(t *testing.T) {
	m := ingest.NewMapper(devConfig(t))
	rec := func(v string) *ingest.Record {
		r := &ingest.Record{Topic: "crm.public.customers", Key: []byte(`{"id":9}`)}
		if v != "" {
			r.Value = []byte(v)
		}
		return r
	}
	for name, c := range map[string]struct {
		value string
		skip  ingest.Skip
	}{
		"kafka tombstone":    {"", ingest.SkipTombstone},
		"json null":          {"null", ingest.SkipTombstone},
		"schema, no payload": {`{"schema":{"type":"struct","fields":[]},"payload":null}`, ingest.SkipTombstone},
		"truncate":           {`{"source":{"connector":"postgresql","ts_ms":1000,"ts_us":1000000},"op":"t","ts_ms":1}`, ingest.SkipTruncate},
		"message":            {`{"source":{"connector":"postgresql","ts_ms":1000,"ts_us":1000000},"op":"m","message":{"prefix":"p","content":"Y29udGVudA=="}}`, ingest.SkipMessage},
	} {
		fs, skip, err := m.Map(rec(c.value), memstate.Owners{})
		if err != nil || len(fs) != 0 || skip != c.skip {
			t.Errorf("%s: facts %d, skip %q, err %v; want skip %q", name, len(fs), skip, err, c.skip)
		}
	}

	toast := `{"before":null,"after":{"id":9,"email":"__debezium_unavailable_value","first_name":"Ada","last_name":"Byron","phone":null,"country":"gb","birth_date":null,"marketing_opt_in":false},` +
		`"source":{"connector":"postgresql","ts_ms":1000,"ts_us":1000000,"lsn":7},"op":"u"}`
	fs, _, err := m.Map(rec(toast), memstate.Owners{})
	if err != nil || len(fs) != 1 {
		t.Fatalf("toast row: %v, %d facts", err, len(fs))
	}
	set := map[string]string{}
	for _, op := range fs[0].Ops {
		set[op.Name] = op.Value.Text()
	}
	if _, ok := set["email"]; ok {
		t.Errorf("the unavailable email was applied: %v", set)
	}
	if set["first_name"] != "Ada" || set["country"] != "GB" || set["phone"] != "null" {
		t.Errorf("the rest of the row: %v", set)
	}
}
