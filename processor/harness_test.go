package processor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/kafkatest"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/store"
)

// devConfig loads the reference scenario's configuration from the repository.
func devConfig(t testing.TB) *dictionary.File {
	t.Helper()
	d, err := dictionary.Load("../deploy/config/dev.yaml")
	if err != nil {
		t.Fatalf("loading dev.yaml: %v", err)
	}
	return d
}

// testClientOpts make group membership fast on kfake: rebalances take 0.2 s
// instead of 3.5 s, and retries are not throttled by metadata age.
func testClientOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.MetadataMinAge(50 * time.Millisecond),
		kgo.AutoCommitInterval(100 * time.Millisecond),
	}
}

// cluster is an in-process Kafka (kfake) with the pipeline's topics.
type cluster struct {
	t       testing.TB
	c       *kfake.Cluster
	brokers []string
	dict    *dictionary.File
	adm     *kadm.Client
	cl      *kgo.Client
}

func newCluster(t testing.TB, d *dictionary.File) *cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	cl, err := kgo.NewClient(append(testClientOpts(), kgo.SeedBrokers(brokers...),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	k := &cluster{t: t, c: c, brokers: brokers, dict: d, adm: kadm.NewClient(cl), cl: cl}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := processor.TopicsOf(d).Ensure(ctx, k.adm, true); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *cluster) produce(recs []scenario.Record) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	krs := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		krs[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}
	}
	if err := k.cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		k.t.Fatalf("producing input: %v", err)
	}
}

// instance is one running pipeline member with its own on-disk store.
type instance struct {
	p      *processor.Pipeline
	db     *store.DB
	cancel context.CancelFunc
	done   chan error
}

func (k *cluster) start(dir string) *instance {
	k.t.Helper()
	return k.startOpts(dir, nil)
}

// startOpts starts an instance; mod may adjust its options.
func (k *cluster) startOpts(dir string, mod func(*processor.Options)) *instance {
	k.t.Helper()
	return k.startStore(store.Options{Dir: dir}, mod)
}

// startStore starts an instance on a store opened with so (the harness's
// memory budget and no GC unless so sets them); mod may adjust the pipeline
// options.
func (k *cluster) startStore(so store.Options, mod func(*processor.Options)) *instance {
	k.t.Helper()
	if so.MemoryBudget == 0 {
		so.MemoryBudget = 64 << 20
	}
	if so.GCInterval == 0 {
		so.GCInterval = -1
	}
	db, err := store.Open(so)
	if err != nil {
		k.t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("PROFILED_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opts := processor.Options{
		Brokers:    k.brokers,
		Dictionary: k.dict,
		Store:      db,
		Logger:     log,
		ClientOpts: testClientOpts(),
		// One per instance, as in production; a restarted instance (same
		// directory) keeps its id and fences its previous life.
		TransactionalID: "test-" + so.Dir,
	}
	if mod != nil {
		mod(&opts)
	}
	p, err := processor.New(opts)
	if err != nil {
		k.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{p: p, db: db, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- p.Run(ctx) }()
	k.t.Cleanup(func() { _ = in.stop() })
	return in
}

// stop shuts the instance down cleanly and closes its store.
func (in *instance) stop() error {
	if in.cancel == nil {
		return nil
	}
	in.cancel()
	in.cancel = nil
	err := <-in.done
	return errors.Join(err, in.db.Close())
}

// waitIdle waits until the group has committed everything on every topic it
// reads (inputs and repartition), twice in a row: stage 1 commits only after
// its facts were acknowledged, stage 2 only after its profiles were.
func (k *cluster) waitIdle(timeout time.Duration) {
	k.t.Helper()
	k.waitIdleEvery(timeout, 100*time.Millisecond)
}

func (k *cluster) waitIdleEvery(timeout, every time.Duration) {
	k.t.Helper()
	deadline := time.Now().Add(timeout)
	topics := processor.TopicsOf(k.dict)
	want := append([]string{topics.Repartition}, topics.Inputs...)
	quiet := 0
	var last string
	for time.Now().Before(deadline) {
		lag, err := k.lag(want)
		if err == nil && lag == 0 {
			quiet++
			if quiet == 2 {
				return
			}
		} else {
			quiet = 0
			last = fmt.Sprintf("lag %d, err %v", lag, err)
		}
		time.Sleep(every)
	}
	k.t.Fatalf("pipeline not idle after %v (%s)", timeout, last)
}

func (k *cluster) lag(topics []string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return kafkatest.GroupLag(ctx, k.adm, k.dict.Pipeline.Group, topics...)
}

// readAll reads a topic from the start to its current end (read_committed).
func (k *cluster) readAll(topic string) []*kgo.Record {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := kafkatest.ReadAll(ctx, k.brokers, topic)
	if err != nil {
		k.t.Fatal(err)
	}
	return recs
}

// profile is one decoded record of the profiles topic.
type profile struct {
	ProfileID  string         `json:"profile_id"`
	Version    uint64         `json:"version"`
	UpdatedAt  string         `json:"updated_at"`
	Attributes map[string]any `json:"attributes"`
	Changed    []string       `json:"changed"`
}

// finalProfiles returns the latest version of every profile on the topic,
// checking on the way that versions of a profile only grow.
func (k *cluster) finalProfiles() map[string]profile {
	k.t.Helper()
	out := map[string]profile{}
	for _, r := range k.readAll(k.dict.Pipeline.ProfilesTopic) {
		var p profile
		if err := json.Unmarshal(r.Value, &p); err != nil {
			k.t.Fatalf("profiles record at %d/%d is not JSON: %v", r.Partition, r.Offset, err)
		}
		if p.ProfileID != string(r.Key) {
			k.t.Fatalf("record key %q carries profile %q", r.Key, p.ProfileID)
		}
		if prev, ok := out[p.ProfileID]; ok && p.Version < prev.Version {
			k.t.Fatalf("profile %s: version %d after version %d", p.ProfileID, p.Version, prev.Version)
		}
		out[p.ProfileID] = p
	}
	return out
}

// compareProfiles checks every final profile against the oracle, attribute
// by attribute, and reports at most a screenful of differences.
func compareProfiles(t testing.TB, got map[string]profile, want map[string]map[string]any) {
	t.Helper()
	attrs := make(map[string]map[string]any, len(got))
	for id, p := range got {
		attrs[id] = p.Attributes
	}
	diffs := scenario.Diff(attrs, want)
	for i, d := range diffs {
		if i == 25 {
			t.Errorf("... and %d more differences", len(diffs)-25)
			break
		}
		t.Error(d)
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func mustJSON(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
}
