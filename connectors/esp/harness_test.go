package esp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/connectors/esp"
	"github.com/profiled/profiled/connectors/sink"
	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/kafkatest"
	"github.com/profiled/profiled/schemas/dictionary"
)

// testClientOpts make group membership fast on kfake (rebalances in 0.2 s
// instead of 3.5 s).
func testClientOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.MetadataMinAge(50 * time.Millisecond),
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("PROFILED_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// env is an in-process Kafka with the pipeline's topics.
type env struct {
	t       testing.TB
	brokers []string
	cl      *kgo.Client
	adm     *kadm.Client
	base    []byte // deploy/config/dev.yaml
}

func newEnv(t testing.TB) *env {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(append(testClientOpts(), kgo.SeedBrokers(c.ListenAddrs()...),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	base, err := os.ReadFile("../../deploy/config/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, brokers: c.ListenAddrs(), cl: cl, adm: kadm.NewClient(cl), base: base}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := processor.TopicsOf(e.dict("")).Ensure(ctx, e.adm, true); err != nil {
		t.Fatal(err)
	}
	return e
}

// dict is dev.yaml with the given sinks: entries.
func (e *env) dict(sinks string) *dictionary.File {
	e.t.Helper()
	src := string(e.base)
	if sinks != "" {
		src += "\nsinks:\n" + sinks
	}
	d, err := dictionary.Parse([]byte(src), "dev+sinks.yaml")
	if err != nil {
		e.t.Fatalf("parsing the test configuration: %v", err)
	}
	return d
}

// running is one sink instance.
type running struct {
	s      *sink.Sink
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

// startSink starts an instance of the only sink of d.
func (e *env) startSink(d *dictionary.File, mod func(*sink.Options)) *running {
	e.t.Helper()
	cfg := d.Sinks[0]
	reg := prometheus.NewRegistry()
	hc := sink.NewClient(sink.ClientOptions{Rate: cfg.Rate, Retry: cfg.Retry,
		Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"connector": cfg.Name}, reg)})
	a, err := esp.New(cfg, hc, esp.Options{PollInterval: 20 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	opts := sink.Options{Config: cfg, Dictionary: d, Brokers: e.brokers, Adapter: a, Client: hc,
		Logger: testLogger(), ClientOpts: testClientOpts(), DrainTimeout: 10 * time.Second}
	if mod != nil {
		mod(&opts)
	}
	s, err := sink.New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	e.t.Cleanup(func() { _ = r.stop() })
	return r
}

func (r *running) stop() error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.cancel = nil
	return <-r.done
}

// metric sums a counter of the instance's registry.
func (r *running) metric(name string) float64 {
	mfs, _ := r.reg.Gather()
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// waitSynced waits until the connector's group has committed past the
// last record of every partition of the profiles topic, twice in a row.
// (The topic's end offsets are one higher where a transaction marker ends
// the log; a consumer commits after the last record it saw.)
func (e *env) waitSynced(d *dictionary.File, timeout time.Duration) {
	e.t.Helper()
	group := sink.GroupOf(d, d.Sinks[0].Name)
	targets := map[int32]int64{}
	for _, r := range e.readAll(d.Pipeline.ProfilesTopic) {
		targets[r.Partition] = max(targets[r.Partition], r.Offset+1)
	}
	deadline := time.Now().Add(timeout)
	quiet := 0
	last := ""
	for time.Now().Before(deadline) {
		lag, err := e.behind(group, d.Pipeline.ProfilesTopic, targets)
		if err == nil && lag == 0 {
			if quiet++; quiet == 2 {
				return
			}
		} else {
			quiet, last = 0, fmt.Sprintf("%d records behind, err %v", lag, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("sink %s not caught up after %v (%s)", d.Sinks[0].Name, timeout, last)
}

// behind is how many records below the targets the group's commits are.
func (e *env) behind(group, topic string, targets map[int32]int64) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	committed, err := e.adm.FetchOffsets(ctx, group)
	if err != nil {
		return -1, err
	}
	var total int64
	for p, target := range targets {
		c, ok := committed.Lookup(topic, p)
		if !ok {
			total += target
			continue
		}
		total += max(0, target-c.At)
	}
	return total, nil
}

func (e *env) lag(group, topic string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return kafkatest.GroupLag(ctx, e.adm, group, topic)
}

// readAll reads a topic from the start to its current end.
func (e *env) readAll(topic string) []*kgo.Record {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := kafkatest.ReadAll(ctx, e.brokers, topic)
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

func (e *env) produce(recs []*kgo.Record) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		e.t.Fatalf("producing: %v", err)
	}
}

// profile is one value of the profiles topic.
type profile struct {
	ProfileID  string         `json:"profile_id"`
	Version    uint64         `json:"version"`
	UpdatedAt  string         `json:"updated_at"`
	Attributes map[string]any `json:"attributes"`
	Changed    []string       `json:"changed"`
}

// finalState is the latest value of every profile on the topic, and the
// profiles whose latest record is a tombstone.
func (e *env) finalState() (map[string]profile, map[string]bool) {
	e.t.Helper()
	final, deleted := map[string]profile{}, map[string]bool{}
	for _, r := range e.readAll("profiles") {
		id := string(r.Key)
		if r.Value == nil {
			delete(final, id)
			deleted[id] = true
			continue
		}
		var p profile
		if err := json.Unmarshal(r.Value, &p); err != nil {
			e.t.Fatalf("profiles record %d/%d: %v", r.Partition, r.Offset, err)
		}
		if prev, ok := final[id]; ok && p.Version < prev.Version {
			e.t.Fatalf("profile %s: version %d after %d on the topic", id, p.Version, prev.Version)
		}
		final[id] = p
		delete(deleted, id)
	}
	return final, deleted
}

// synth makes profile updates the way the processor renders them: updates
// to n profiles, in random order, each profile's versions increasing. A
// share of them change the email (a new address) or withdraw and give
// consent; bad lists ids whose address is under .invalid in their last
// versions.
type synth struct {
	rng   *rand.Rand
	state map[string]map[string]any
	vers  map[string]uint64
	bad   map[string]bool // addresses under .invalid
	phone map[string]bool // a phone number without a country code
}

func newSynth(seed uint64) *synth {
	return &synth{rng: rand.New(rand.NewPCG(seed, seed+1)), state: map[string]map[string]any{},
		vers: map[string]uint64{}, bad: map[string]bool{}, phone: map[string]bool{}}
}

// updates returns count updates over profiles p0..p{n-1}.
func (g *synth) updates(n, count int) []*kgo.Record {
	recs := make([]*kgo.Record, 0, count)
	for range count {
		id := "p" + strconv.Itoa(g.rng.IntN(n))
		recs = append(recs, g.next(id))
	}
	return recs
}

func (g *synth) next(id string) *kgo.Record {
	old := g.state[id]
	cur := map[string]any{}
	for k, v := range old {
		cur[k] = v
	}
	if old == nil {
		n, _ := strconv.Atoi(strings.TrimPrefix(id, "p"))
		cur["email"] = fmt.Sprintf("%s@example.com", id)
		cur["first_name"] = fmt.Sprintf("Name%d", n)
		cur["last_name"] = nil
		cur["country"] = "DE"
		cur["phone"] = fmt.Sprintf("+4930%07d", n)
		cur["birth_date"] = fmt.Sprintf("19%02d-%02d-%02d", 50+n%50, 1+n%12, 1+n%28)
		cur["marketing_opt_in"] = n%3 != 0
		cur["order_count"] = 0
		cur["lifetime_value"] = "0.00"
	}
	switch r := g.rng.IntN(10); {
	case r == 0:
		cur["email"] = fmt.Sprintf("%s.%d@example.com", id, g.vers[id]+1)
	case r <= 2:
		cur["marketing_opt_in"] = !(cur["marketing_opt_in"] == true)
	case r <= 6:
		oc, _ := cur["order_count"].(int)
		cur["order_count"] = oc + 1
		cur["lifetime_value"] = fmt.Sprintf("%d.%02d", (oc+1)*12, (oc*7)%100)
	default:
		cur["first_name"] = fmt.Sprintf("Name%d-%d", g.rng.IntN(1000), g.vers[id])
	}
	if g.bad[id] {
		cur["email"] = id + "@broken.invalid"
	}
	if g.phone[id] {
		cur["phone"] = "5550100"
	}
	var changed []string
	for k, v := range cur {
		if old == nil || fmt.Sprint(old[k]) != fmt.Sprint(v) {
			if old != nil || v != nil {
				changed = append(changed, k)
			}
		}
	}
	slices.Sort(changed)
	g.state[id] = cur
	g.vers[id]++
	b, _ := json.Marshal(profile{ProfileID: id, Version: g.vers[id], UpdatedAt: time.Now().UTC().Format(time.RFC3339Nano),
		Attributes: cur, Changed: changed})
	return &kgo.Record{Topic: "profiles", Key: []byte(id), Value: b}
}

func tombstone(id string) *kgo.Record { return &kgo.Record{Topic: "profiles", Key: []byte(id)} }

// txt renders a value for comparison: nil and "" are the same (an ESP
// clears a field either way), numbers by their decimal text.
func txt(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(bytes.TrimSpace(b))
}

// errorsCollector gathers differences and reports a screenful.
type diffs struct {
	t testing.TB
	n int
}

func (d *diffs) errorf(format string, args ...any) {
	d.t.Helper()
	d.n++
	if d.n <= 25 {
		d.t.Errorf(format, args...)
	}
}

func (d *diffs) done() {
	if d.n > 25 {
		d.t.Errorf("... and %d more differences", d.n-25)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func toSlice(recs ...*kgo.Record) []*kgo.Record { return recs }
