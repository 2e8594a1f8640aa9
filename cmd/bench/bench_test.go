package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/fact"
	"github.com/profiled/profiled/processor/ingest"
	"github.com/profiled/profiled/processor/merge"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/schemas/dictionary"
)

func TestLatenciesMatchNewestInputBefore(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	sent := map[string][]time.Time{"a": {at(0), at(100), at(300)}, "b": {at(50)}}
	arrivals := []arrival{
		{key: "a", at: at(40)},  // after the record at 0
		{key: "a", at: at(100)}, // the same instant as a record: that record
		{key: "a", at: at(250)}, // newest before is 100
		{key: "b", at: at(49)},  // before b's only record: unmatched
		{key: "c", at: at(10)},  // no record at all: unmatched
	}
	lat, unmatched := latencies(arrivals, sent)
	want := []time.Duration{0, 40 * time.Millisecond, 150 * time.Millisecond}
	if !reflect.DeepEqual(lat, want) || unmatched != 2 {
		t.Fatalf("latencies %v, %d unmatched; want %v, 2", lat, unmatched, want)
	}
	own := ownLatencies([]arrival{{at: at(30), ts: at(10)}, {at: at(30), ts: t0.Add(-time.Second)}}, t0)
	if !reflect.DeepEqual(own, []time.Duration{20 * time.Millisecond}) {
		t.Fatalf("own latencies %v, want [20ms] (the record from before the pass left out)", own)
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for q, want := range map[float64]time.Duration{0.5: 50, 0.99: 99, 1: 100, 0: 1} {
		if got := quantile(d, q); got != want {
			t.Errorf("quantile %v = %v, want %v", q, got, want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

func TestDiffProfiles(t *testing.T) {
	a := map[string][]byte{
		"1": []byte(`{"profile_id":"1","version":3,"attributes":{"email":"a@x.org","page_views":2}}`),
		"2": []byte(`{"profile_id":"2","version":1,"attributes":{"country":"DE"}}`),
	}
	b := map[string][]byte{
		"1": []byte(`{"profile_id":"1","version":9,"attributes":{"email":"a@x.org","page_views":2}}`),
		"2": []byte(`{"profile_id":"2","version":1,"attributes":{"country":"US","phone":null}}`),
		"3": []byte(`{"profile_id":"3","version":1,"attributes":{}}`),
	}
	got := diffProfiles(a, b)
	want := []string{
		`profile 2 attribute country: "DE" vs "US"`,
		`profile 2 attribute phone: absent vs null`,
		`profile 3 only in the second`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff:\n%q\nwant\n%q", got, want)
	}
}

func TestGokaValuesRoundTrip(t *testing.T) {
	owners := map[string]ingest.Owner{
		"orders\x00{\"id\":1}": {Profile: "7", Stamp: fact.Stamp{Time: 42, Priority: 1, Position: []byte{1, 2}}},
		"orders\x00{\"id\":2}": {Stamp: fact.Stamp{Time: 43}, Deleted: true},
	}
	got, err := decodeOwners(encodeOwners(owners))
	if err != nil || !reflect.DeepEqual(got, owners) {
		t.Fatalf("owners round trip: %v, %v", got, err)
	}
	if _, err := decodeOwners(encodeOwners(owners)[:5]); err == nil {
		t.Fatal("a truncated owners value decoded")
	}

	pv := &profileValue{st: merge.NewState()}
	pv.st.Counters["page_views"] = 2
	for _, id := range []string{"m1", "m2"} {
		if dup, _ := pv.SeenOrAdd("p", "page_views", id); dup {
			t.Fatalf("%s seen before it was added", id)
		}
	}
	back, err := decodeProfileValue(pv.encode())
	if err != nil {
		t.Fatal(err)
	}
	if back.st.Counters["page_views"] != 2 {
		t.Fatalf("state did not round-trip: %+v", back.st)
	}
	for id, want := range map[string]bool{"m1": true, "m2": true, "m3": false} {
		if dup, _ := back.SeenOrAdd("p", "page_views", id); dup != want {
			t.Errorf("after the round trip, %s seen = %v, want %v", id, dup, want)
		}
	}
	if _, err := decodeProfileValue(pv.encode()[:4]); err == nil {
		t.Fatal("a truncated profile value decoded")
	}
}

// TestGokaPeerMatchesOracle runs the goka peer on an in-process broker over
// the reference scenario and checks that its final profiles are the
// scenario oracle's: the peer is a faithful second implementation.
func TestGokaPeerMatchesOracle(t *testing.T) {
	d, err := dictionary.Load("../../deploy/config/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	topics := processor.TopicsOf(d)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(d.Pipeline.Partitions), topics.Inputs...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	sc := scenario.Generate(scenario.DefaultConfig())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(gokaProfiles),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(sc.Records))
	for i, r := range sc.Records {
		recs[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := createGokaTopics(ctx, brokers, d); err != nil {
		t.Fatal(err)
	}
	peerCtx, stopPeer := context.WithCancel(ctx)
	peerDone := make(chan error, 1)
	go func() { peerDone <- runGokaPeer(peerCtx, brokers, d, t.TempDir(), goka.Logger(quietLogger{})) }()
	defer func() {
		stopPeer()
		if err := <-peerDone; err != nil {
			t.Errorf("goka peer: %v", err)
		}
	}()

	got := map[string]map[string]any{}
	for !reflect.DeepEqual(got, sc.Expected) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			diffs := 0
			for id, want := range sc.Expected {
				if g := got[id]; !reflect.DeepEqual(g, want) && diffs < 5 {
					diffs++
					t.Errorf("profile %s:\ngoka   %v\noracle %v", id, g, want)
				}
			}
			t.Fatalf("the goka peer's profiles did not reach the oracle's (%d of %d profiles)", len(got), len(sc.Expected))
		}
		for _, fe := range fs.Errors() {
			t.Fatalf("consuming %s: %v", gokaProfiles, fe.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			var p struct {
				Attributes map[string]any `json:"attributes"`
			}
			if err := json.Unmarshal(r.Value, &p); err != nil {
				t.Fatalf("profile %s is not JSON: %v", r.Key, err)
			}
			got[string(r.Key)] = p.Attributes
		})
	}
}

func TestLatencyRateFlagsChecked(t *testing.T) {
	for _, args := range [][]string{{"-latency-eps", "-1"}, {"-latency-rate", "0"}, {"-latency-rate", "1.5"}} {
		err := cmdHarness(context.Background(), args, io.Discard, io.Discard)
		if !errors.Is(err, errUsage) {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}
