package esp_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/connectors/esp/esptest"
	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/store"
)

// runPipeline runs the real processor over a generated scenario until it
// has committed everything, then stops it.
func (e *env) runPipeline(cfg scenario.Config) {
	e.t.Helper()
	d := e.dict("")
	var recs []*kgo.Record
	if err := scenario.Stream(cfg, func(r scenario.Record) error {
		recs = append(recs, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value})
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	e.produce(recs)
	db, err := store.Open(store.Options{Dir: e.t.TempDir(), MemoryBudget: 64 << 20, GCInterval: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := processor.New(processor.Options{Brokers: e.brokers, Dictionary: d, Store: db, Logger: testLogger(),
		ClientOpts: append(testClientOpts(), kgo.AutoCommitInterval(100*time.Millisecond))})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	topics := processor.TopicsOf(d)
	deadline := time.Now().Add(90 * time.Second)
	quiet := 0
	for quiet < 2 {
		if time.Now().After(deadline) {
			cancel()
			e.t.Fatal("the pipeline did not finish the scenario in time")
		}
		time.Sleep(200 * time.Millisecond)
		var lag int64
		for _, topic := range append([]string{topics.Repartition}, topics.Inputs...) {
			l, err := e.lag(d.Pipeline.Group, topic)
			if err != nil {
				l = 1
			}
			lag += l
		}
		if lag == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	cancel()
	if err := <-done; err != nil {
		e.t.Fatalf("pipeline: %v", err)
	}
	if err := db.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// TestEndToEnd: the reference scenario goes through the real pipeline on
// kfake; three customers are then deleted (tombstones on the profiles
// topic). Each connector, from an empty group, brings its ESP test server
// to exactly the final profiles: mapped fields, subscription status,
// deletions; and no write ever lowered a contact's version.
func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 40
	e.runPipeline(cfg)
	final, _ := e.finalState()
	if len(final) < 40 {
		t.Fatalf("the pipeline emitted %d profiles", len(final))
	}
	e.produce([]*kgo.Record{tombstone("1"), tombstone("2"), tombstone("3")})
	hist := e.history()
	for _, c := range connectors {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			srv, url := c.start(esptest.Options{APIKey: apiKey, VersionField: c.versionField})
			defer srv.Close()
			d := e.dict(c.yaml(url, fastLimits))
			r := e.startSink(d, nil)
			e.waitSynced(d, 60*time.Second)
			if err := r.stop(); err != nil {
				t.Fatalf("sink: %v", err)
			}
			e.check(c, srv, hist, nil)
			st := srv.Stats()
			if st.Regressions != 0 {
				t.Errorf("%d writes lowered a contact's version", st.Regressions)
			}
			if r.metric("profiled_sink_dead_letters_total") != 0 {
				t.Errorf("%v dead letters", r.metric("profiled_sink_dead_letters_total"))
			}
			t.Logf("%s: %d requests, %d contacts sent, %d profiles", c.name, st.Requests, st.Contacts, len(final))
		})
	}
}
