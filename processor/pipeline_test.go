package processor_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/fact"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/schemas"
)

// TestReferenceScenario runs the reference scenario (CRM and shop CDC plus
// clickstream, with late, duplicated and bad records) through kfake and an
// on-disk Badger, and compares every final profile with the generator's
// independently computed expectation.
func TestReferenceScenario(t *testing.T) {
	d := devConfig(t)
	sc := scenario.Generate(scenario.DefaultConfig())
	k := newCluster(t, d)
	k.produce(sc.Records)

	reg := prometheus.NewRegistry()
	in := k.startOpts(t.TempDir(), func(o *processor.Options) { o.Registerer = reg })
	k.waitIdle(90 * time.Second)

	compareProfiles(t, k.finalProfiles(), sc.Expected)

	wantBad := 0
	for _, n := range sc.Bad {
		wantBad += n
	}
	dl := k.readAll(d.Pipeline.DLQTopic)
	if len(dl) != wantBad {
		t.Errorf("dead letters: %d, want %d (%v)", len(dl), wantBad, sc.Bad)
	}
	for _, r := range dl {
		if header(r, "profiled.error") == "" || header(r, "profiled.source.topic") == "" {
			t.Errorf("dead letter at %d lacks its reason or origin: %v", r.Offset, r.Headers)
		}
	}
	if got := testutil.ToFloat64(counterWith(t, reg, "profiled_records_skipped_total", "reason", "tombstone")); got < float64(sc.Tombstones) {
		t.Errorf("skipped tombstones = %v, want at least %d", got, sc.Tombstones)
	}
	if err := in.stop(); err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}
}

// TestRestartResumes stops the pipeline half way and starts it again on the
// same store: the result is exact and no profile version is emitted twice.
func TestRestartResumes(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Seed = 7
	sc := scenario.Generate(cfg)
	half := len(sc.Records) / 2
	k := newCluster(t, d)
	dir := t.TempDir()

	k.produce(sc.Records[:half])
	in := k.start(dir)
	k.waitIdle(90 * time.Second)
	if err := in.stop(); err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}

	k.produce(sc.Records[half:])
	in = k.start(dir)
	k.waitIdle(90 * time.Second)
	compareProfiles(t, k.finalProfiles(), sc.Expected)

	checkVersions(t, k.readAll(d.Pipeline.ProfilesTopic))
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestPermutationsThroughKafka shuffles and duplicates the input records (so
// they arrive in other orders across topics, partitions and within each)
// and checks that the final profiles do not change.
func TestPermutationsThroughKafka(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 60
	cfg.Seed = 11
	sc := scenario.Generate(cfg)
	for i := range 3 {
		t.Run("permutation-"+strconv.Itoa(i), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 99))
			recs := permuteWithDuplicates(rng, sc.Records, 0.2)
			k := newCluster(t, d)
			k.produce(recs)
			in := k.start(t.TempDir())
			k.waitIdle(90 * time.Second)
			compareProfiles(t, k.finalProfiles(), sc.Expected)
			if err := in.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func permuteWithDuplicates(rng *rand.Rand, recs []scenario.Record, dupShare float64) []scenario.Record {
	out := append([]scenario.Record(nil), recs...)
	for _, r := range recs {
		if rng.Float64() < dupShare {
			out = append(out, r)
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// TestDeadLetters sends one bad record of every kind between good ones and
// checks each lands in the dead-letter topic whole, with its reason and
// origin, while the good records around it are all applied.
func TestDeadLetters(t *testing.T) {
	d := devConfig(t)
	k := newCluster(t, d)
	const ts = 1_750_000_000_000_000 // µs
	cust := func(id int, email, country string, tsUs int64) scenario.Record {
		v := `{"before":null,"after":{"id":` + strconv.Itoa(id) + `,"email":"` + email + `","first_name":"Ann","last_name":"Lee","phone":null,"country":"` + country + `","birth_date":7000,"marketing_opt_in":true,"updated_at":1},` +
			`"source":{"version":"2.7.0.Final","connector":"postgresql","name":"crm","ts_ms":` + strconv.FormatInt(tsUs/1000, 10) + `,"ts_us":` + strconv.FormatInt(tsUs, 10) + `,"snapshot":"false","db":"crm","schema":"public","table":"customers","txId":1,"lsn":` + strconv.FormatInt(tsUs, 10) + `},"op":"c","ts_ms":1}`
		return scenario.Record{Topic: "crm.public.customers", Key: []byte(`{"id":` + strconv.Itoa(id) + `}`), Value: []byte(v)}
	}
	order := func(id, customer int, total string) scenario.Record {
		v := `{"before":null,"after":{"id":` + strconv.Itoa(id) + `,"customer_id":` + strconv.Itoa(customer) + `,"status":"paid","total":"` + total + `","currency":"eur","created_at":` + strconv.FormatInt(ts, 10) + `},` +
			`"source":{"connector":"postgresql","ts_ms":1750000000000,"ts_us":` + strconv.FormatInt(ts, 10) + `,"snapshot":"false","lsn":5},"op":"c"}`
		return scenario.Record{Topic: "shop.public.orders", Key: []byte(`{"id":` + strconv.Itoa(id) + `}`), Value: []byte(v)}
	}
	click := func(body string) scenario.Record {
		return scenario.Record{Topic: "clickstream", Key: []byte("k"), Value: []byte(body)}
	}
	type bad struct {
		rec    scenario.Record
		reason string
		phrase string
	}
	bads := []bad{
		{scenario.Record{Topic: "crm.public.customers", Key: []byte(`{"id":1}`), Value: []byte(`{"before":null,"after":{"id":1,`)}, "decode", "debezium"},
		{cust(2, "bob@", "US", ts), "validate", "email"},
		{cust(3, "ok@example.com", "USA", ts), "validate", "country"},
		{order(10, 1, "-5.00"), "validate", "total"},
		{scenario.Record{Topic: "shop.public.orders", Key: []byte(`{"id":11}`), Value: []byte(`{"op":"x","source":{"ts_us":1},"after":{"id":11}}`)}, "decode", "op"},
		{click(`{"type":"page","messageId":"m-bad-1","timestamp":"2025-06-15T10:00:00Z"}`), "mapping", "profile id"},
		{click(`{"type":"page","messageId":"m-bad-2","userId":"1","timestamp":"yesterday"}`), "decode", "timestamp"},
		{click(`not json at all`), "decode", "segment"},
	}
	var recs []scenario.Record
	recs = append(recs, cust(1, " Ann.Lee@Example.COM ", "us", ts))
	for i, b := range bads {
		recs = append(recs, b.rec)
		recs = append(recs, click(`{"type":"page","messageId":"good-`+strconv.Itoa(i)+`","userId":"1","timestamp":"2025-06-15T10:00:0`+strconv.Itoa(i)+`Z"}`))
	}
	recs = append(recs, order(20, 1, "12.50"))
	k.produce(recs)

	// A corrupt fact on the repartition topic must not stop stage 2 either.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	corrupt := &kgo.Record{Topic: processor.RepartitionTopic(d), Key: []byte("1"), Value: []byte{fact.Version, 0xff}}
	if err := k.cl.ProduceSync(ctx, corrupt).FirstErr(); err != nil {
		t.Fatal(err)
	}

	in := k.start(t.TempDir())
	k.waitIdle(60 * time.Second)

	dl := k.readAll(d.Pipeline.DLQTopic)
	if len(dl) != len(bads)+1 {
		for _, r := range dl {
			t.Logf("dead letter: %s %q", header(r, "profiled.error"), r.Value)
		}
		t.Fatalf("dead letters: %d, want %d", len(dl), len(bads)+1)
	}
	byValue := map[string]*kgo.Record{}
	for _, r := range dl {
		byValue[string(r.Value)] = r
	}
	for _, b := range bads {
		r, ok := byValue[string(b.rec.Value)]
		if !ok {
			t.Errorf("not dead-lettered: %s", b.rec.Value)
			continue
		}
		if string(r.Key) != string(b.rec.Key) {
			t.Errorf("dead letter key %q, want %q", r.Key, b.rec.Key)
		}
		if got := header(r, "profiled.reason"); got != b.reason {
			t.Errorf("%s: reason %q, want %q (error: %s)", b.rec.Value, got, b.reason, header(r, "profiled.error"))
		}
		if msg := header(r, "profiled.error"); !strings.Contains(strings.ToLower(msg), b.phrase) {
			t.Errorf("%s: error %q does not mention %q", b.rec.Value, msg, b.phrase)
		}
		if header(r, "profiled.source.topic") != b.rec.Topic {
			t.Errorf("dead letter origin topic %q, want %q", header(r, "profiled.source.topic"), b.rec.Topic)
		}
		if _, err := strconv.ParseInt(header(r, "profiled.source.offset"), 10, 64); err != nil {
			t.Errorf("dead letter offset header: %v", err)
		}
		if _, err := strconv.Atoi(header(r, "profiled.source.partition")); err != nil {
			t.Errorf("dead letter partition header: %v", err)
		}
	}
	if r, ok := byValue[string(corrupt.Value)]; !ok || header(r, "profiled.source.topic") != processor.RepartitionTopic(d) {
		t.Errorf("corrupt fact not dead-lettered with its origin")
	}

	// The good records around the bad ones are all applied.
	p := k.finalProfiles()["1"]
	want := map[string]any{
		"email": "ann.lee@example.com", "first_name": "Ann", "last_name": "Lee", "phone": nil,
		"country": "US", "birth_date": "1989-03-02", "marketing_opt_in": true,
		"page_views": float64(len(bads)), "last_seen_at": "2025-06-15T10:00:07Z",
		"order_count": float64(1), "lifetime_value": "12.50", "last_order_at": "2025-06-15T15:06:40Z",
	}
	compareProfiles(t, map[string]profile{"1": p}, map[string]map[string]any{"1": want})
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
}

func counterWith(t testing.TB, reg *prometheus.Registry, name, label, value string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x", Help: "x"})
					c.Add(m.GetCounter().GetValue())
					return c
				}
			}
		}
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x", Help: "x"})
	return c
}

// TestSmallRounds makes batches and rounds tiny, so that every partition
// goes through many transactions; the result must be just as exact.
func TestSmallRounds(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 80
	cfg.Seed = 5
	sc := scenario.Generate(cfg)
	k := newCluster(t, d)
	k.produce(sc.Records)
	reg := prometheus.NewRegistry()
	in := k.startOpts(t.TempDir(), func(o *processor.Options) {
		o.Registerer = reg
		o.BatchRecords = 16
		o.RoundRecords = 64
		o.CommitInterval = 5 * time.Millisecond
		// A cache far smaller than the state: entries are evicted and
		// read back from the store all the time.
		o.StateCacheBytes = 16 << 10
		o.ClientOpts = append(o.ClientOpts, kgo.FetchMaxWait(200*time.Millisecond), kgo.FetchMaxPartitionBytes(4<<10))
	})
	k.waitIdle(120 * time.Second)
	compareProfiles(t, k.finalProfiles(), sc.Expected)
	rounds := counterValue(t, reg, "profiled_rounds_committed_total")
	if rounds < float64(len(sc.Records))/64/2 {
		t.Fatalf("%v rounds for %d records in rounds of at most 64", rounds, len(sc.Records))
	}
	t.Logf("%v rounds", rounds)
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
}

// counterValue is the sum of a counter's series.
func counterValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// TestStoreFailureStopsRun: when the state store fails under a worker, Run
// returns the error promptly instead of hanging in the poll loop or
// committing past the failed batch, in both delivery modes.
func TestStoreFailureStopsRun(t *testing.T) {
	for _, alo := range []bool{false, true} {
		t.Run(fmt.Sprintf("at-least-once=%v", alo), func(t *testing.T) {
			testStoreFailureStopsRun(t, alo)
		})
	}
}

func testStoreFailureStopsRun(t *testing.T, atLeastOnce bool) {
	d := devConfig(t)
	k := newCluster(t, d)
	in := k.startOpts(t.TempDir(), func(o *processor.Options) { o.AtLeastOnce = atLeastOnce })
	deadline := time.Now().Add(30 * time.Second)
	for !in.p.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("pipeline never became ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := in.db.Close(); err != nil {
		t.Fatal(err)
	}
	k.produce([]scenario.Record{{Topic: "clickstream", Key: []byte("u1"),
		Value: []byte(`{"type":"page","messageId":"m1","userId":"u1","timestamp":"2025-06-15T10:00:00Z"}`)}})
	select {
	case err := <-in.done:
		if err == nil || !strings.Contains(err.Error(), "store") {
			t.Fatalf("Run returned %v, want a store error", err)
		}
		in.cancel = nil // already stopped
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its store failed")
	}
	// The ingest stage keeps no state for clickstream and commits; the
	// merge stage's store read fails, so the repartition topic is not.
	lag, err := k.lag([]string{processor.RepartitionTopic(d)})
	if err != nil || lag == 0 {
		t.Fatalf("the failed batch was committed: lag %d, err %v", lag, err)
	}
}

// TestRecreatedTopicIsRefused: a state directory that has applied more of a
// partition than its log now holds (the topic was re-created, or the broker
// lost its log) must stop the pipeline with an explanation instead of
// silently skipping the new records as already applied.
func TestRecreatedTopicIsRefused(t *testing.T) {
	d := devConfig(t)
	dir := t.TempDir()
	cfg := scenario.DefaultConfig()
	cfg.Customers = 20
	sc := scenario.Generate(cfg)

	first := newCluster(t, d)
	first.produce(sc.Records)
	in := first.start(dir)
	first.waitIdle(60 * time.Second)
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}

	second := newCluster(t, d) // same topics, empty logs
	second.produce(sc.Records[:5])
	in = second.start(dir)
	select {
	case err := <-in.done:
		in.cancel = nil
		if err == nil || !strings.Contains(err.Error(), "re-created") {
			t.Fatalf("Run returned %v, want an error about a re-created topic", err)
		}
		_ = in.db.Close()
	case <-time.After(30 * time.Second):
		t.Fatal("the pipeline kept running on logs shorter than its state")
	}
}

// TestDeletedStateIsRestored: with the data directory deleted (a lost
// disk, or an operator rebuilding the state), the pipeline restores every
// partition from its changelog before it processes, so profile versions
// continue where they were instead of restarting at 1, and new input
// merges onto the restored state exactly.
func TestDeletedStateIsRestored(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 40
	cfg.Seed = 21
	sc := scenario.Generate(cfg)
	half := len(sc.Records) / 2
	k := newCluster(t, d)
	k.produce(sc.Records[:half])
	in := k.start(t.TempDir())
	k.waitIdle(60 * time.Second)
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	in = k.startOpts(t.TempDir(), func(o *processor.Options) { o.Registerer = reg }) // a fresh, empty state directory
	k.produce(sc.Records[half:])
	k.waitIdle(60 * time.Second)
	if n := counterValue(t, reg, "profiled_changelog_restored_records_total"); n == 0 {
		t.Fatal("nothing was restored from the changelogs")
	}
	compareProfiles(t, k.finalProfiles(), sc.Expected)
	checkVersions(t, k.readAll(d.Pipeline.ProfilesTopic))
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
}

// checkVersions: every version of every profile appears exactly once, in
// order.
func checkVersions(t testing.TB, recs []*kgo.Record) {
	t.Helper()
	next := map[string]uint64{}
	for _, r := range recs {
		var p profile
		mustJSON(t, r.Value, &p)
		if want := next[p.ProfileID] + 1; p.Version != want {
			t.Fatalf("profile %s: version %d follows %d", p.ProfileID, p.Version, want-1)
		}
		next[p.ProfileID] = p.Version
	}
}

// TestBatchLargerThanOneTransaction is a regression test from the first
// review: a batch whose state writes exceed one Badger transaction failed on
// every restart. It is now done in halves and everything is applied.
func TestBatchLargerThanOneTransaction(t *testing.T) {
	d := devConfig(t)
	k := newCluster(t, d)
	status := strings.Repeat("x", 5000)
	var recs []*kgo.Record
	for i := range 3000 {
		id := fmt.Sprintf("p%05d", i)
		f := &fact.Fact{ProfileID: id, Stamp: fact.Stamp{Time: 1_750_000_000_000_000},
			Ops: []fact.Op{{Kind: fact.OpUpsert, Name: "orders", EntityID: "o1",
				Fields: []fact.Field{{Name: "status", Value: schemas.String(status)}}}}}
		recs = append(recs, &kgo.Record{Topic: processor.RepartitionTopic(d), Key: []byte(id), Value: fact.Append(nil, f)})
	}
	if err := k.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	in := k.start(t.TempDir()) // 64 MiB budget: about 1.2 MB per transaction
	k.waitIdle(120 * time.Second)
	if got := len(k.finalProfiles()); got != 3000 {
		t.Fatalf("%d profiles emitted, want 3000", got)
	}
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestOversizedDeadLetterIsTruncated is a regression test from the first
// review: a rejected record just below the broker's size limit grew past it
// with the dead-letter headers, failed to produce, and stopped the pipeline
// on every restart. Its dead letter is now truncated, and says so.
func TestOversizedDeadLetterIsTruncated(t *testing.T) {
	d := devConfig(t)
	k := newCluster(t, d)
	bad := append([]byte(`{"type":"page",`), bytes.Repeat([]byte("x"), 999_800)...)
	k.produce([]scenario.Record{
		{Topic: "clickstream", Key: []byte("u1"), Value: bad},
		{Topic: "clickstream", Key: []byte("u1"), Value: []byte(`{"type":"page","messageId":"ok-1","userId":"u1","timestamp":"2025-06-15T10:00:00Z"}`)},
	})
	in := k.start(t.TempDir())
	k.waitIdle(60 * time.Second)
	dl := k.readAll(d.Pipeline.DLQTopic)
	if len(dl) != 1 || header(dl[0], "profiled.truncated") != strconv.Itoa(len(bad)) || !bytes.HasPrefix(bad, dl[0].Value) {
		t.Fatalf("dead letters: %d, truncated header %q", len(dl), header(dl[0], "profiled.truncated"))
	}
	if p := k.finalProfiles()["u1"]; p.Attributes["page_views"] != float64(1) {
		t.Fatalf("the good record after it was not applied: %+v", p)
	}
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionGapIsRefused is a regression test from the first review: a
// store that needs offsets the log no longer has (retention deleted them
// while the instance was down) must stop with an explanation, not resume
// silently past the gap.
func TestRetentionGapIsRefused(t *testing.T) {
	d := devConfig(t)
	k := newCluster(t, d)
	dir := t.TempDir()
	click := func(n int) scenario.Record {
		return scenario.Record{Topic: "clickstream", Key: []byte("u1"),
			Value: []byte(fmt.Sprintf(`{"type":"page","messageId":"m%d","userId":"u1","timestamp":"2025-06-15T10:00:%02dZ"}`, n, n))}
	}
	k.produce([]scenario.Record{click(1)})
	in := k.start(dir)
	k.waitIdle(30 * time.Second)
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	k.produce([]scenario.Record{click(2), click(3), click(4)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := k.adm.ListEndOffsets(ctx, "clickstream")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.adm.DeleteRecords(ctx, ends.Offsets()); err != nil {
		t.Fatal(err)
	}
	in = k.start(dir)
	select {
	case err := <-in.done:
		in.cancel = nil
		_ = in.db.Close()
		if err == nil || !strings.Contains(err.Error(), "retention deleted records") {
			t.Fatalf("Run returned %v, want an error about a retention gap", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the pipeline resumed past a gap in its input")
	}
}

// TestProfileCarriesInputTime: a profile update carries the Kafka timestamp
// of the newest input record that changed it, so that a consumer of the
// profiles topic (and the benchmark harness) can measure input-to-profile
// latency per update; a record that changes nothing moves no timestamp.
func TestProfileCarriesInputTime(t *testing.T) {
	d := devConfig(t)
	k := newCluster(t, d)
	in := k.start(t.TempDir())
	defer func() {
		if err := in.stop(); err != nil {
			t.Error(err)
		}
	}()
	page := func(msg, at string) []byte {
		return []byte(`{"type":"identify","messageId":"` + msg + `","userId":"42","traits":{"email":"` + msg + `@example.com"},"timestamp":"` + at + `"}`)
	}
	produce := func(ts time.Time, values ...[]byte) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var recs []*kgo.Record
		for _, v := range values {
			recs = append(recs, &kgo.Record{Topic: "clickstream", Key: []byte("42"), Value: v, Timestamp: ts})
		}
		if err := k.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		k.waitIdle(60 * time.Second)
	}
	latest := func() *kgo.Record {
		t.Helper()
		recs := k.readAll(d.Pipeline.ProfilesTopic)
		if len(recs) == 0 {
			t.Fatal("no profile update")
		}
		return recs[len(recs)-1]
	}

	t1 := time.UnixMilli(1_700_000_000_000)
	produce(t1, page("a", "2025-06-15T10:00:00Z"))
	if got := latest(); !got.Timestamp.Equal(t1) {
		t.Fatalf("first update: timestamp %v, want the input's %v", got.Timestamp, t1)
	}
	// An older event (by event time) changes nothing: no update, so the
	// latest update keeps t1.
	t2 := t1.Add(time.Hour)
	produce(t2, page("old", "2025-06-14T10:00:00Z"))
	if got := latest(); !got.Timestamp.Equal(t1) {
		t.Fatalf("after a no-op record: timestamp %v, want %v", got.Timestamp, t1)
	}
	t3 := t2.Add(time.Hour)
	produce(t3, page("b", "2025-06-16T10:00:00Z"))
	if got := latest(); !got.Timestamp.Equal(t3) {
		t.Fatalf("second update: timestamp %v, want the input's %v", got.Timestamp, t3)
	}
}
