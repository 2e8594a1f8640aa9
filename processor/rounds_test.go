package processor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
)

// TestRoundsEndWhenCaughtUp checks both sides of the round policy with a
// commit interval far longer than the test may take: a backlog is
// gathered into rounds of many polls, and a round that caught up with its
// input commits at once instead of waiting for the interval.
func TestRoundsEndWhenCaughtUp(t *testing.T) {
	d := devConfig(t)
	k := newCluster(t, d)
	identify := func(user int) *kgo.Record {
		return &kgo.Record{Topic: "clickstream", Key: fmt.Appendf(nil, "%d", user), Value: fmt.Appendf(nil,
			`{"type":"identify","messageId":"m%d","userId":"%d","traits":{"email":"u%d@example.com"},"timestamp":"2025-06-15T10:00:00Z"}`,
			user, user, user)}
	}
	// The backlog goes in small producer batches, and the pipeline fetches
	// little at a time, so that stage 1 needs many polls whatever a poll
	// may take (a poll takes what the round has room for, and a fetch
	// returns whole batches up to its byte bound).
	const batchBytes, fetchBytes = 1 << 10, 4 << 10
	pcl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.ProducerBatchMaxBytes(batchBytes),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	produce := func(recs ...*kgo.Record) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := pcl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	const backlog = 3000
	var (
		recs  []*kgo.Record
		bytes int
	)
	for u := range backlog {
		r := identify(u)
		bytes += len(r.Key) + len(r.Value)
		recs = append(recs, r)
	}
	produce(recs...)

	reg := prometheus.NewRegistry()
	in := k.startOpts(t.TempDir(), func(o *processor.Options) {
		o.Registerer = reg
		o.CommitInterval = time.Hour
		o.ClientOpts = append(o.ClientOpts, kgo.FetchMaxBytes(fetchBytes), kgo.FetchMaxPartitionBytes(fetchBytes))
	})
	defer func() {
		if err := in.stop(); err != nil {
			t.Error(err)
		}
	}()
	// Rounds that waited for the interval would take an hour.
	k.waitIdle(60 * time.Second)
	rounds := counterValue(t, reg, "profiled_rounds_committed_total")
	// A fetch carries at most its byte bound plus one batch, so stage 1
	// alone needs this many polls at least: a round per poll would be as
	// many rounds or more.
	polls := bytes / (fetchBytes + batchBytes)
	if polls < 50 {
		t.Fatalf("the backlog is %d polls; the test needs many more than a few rounds", polls)
	}
	if rounds == 0 || rounds >= float64(polls)/4 {
		t.Errorf("%v rounds for a backlog of at least %d polls in stage 1: the rounds did not gather", rounds, polls)
	}
	if got := len(k.readAll(d.Pipeline.ProfilesTopic)); got < backlog {
		t.Fatalf("%d profile updates, want %d", got, backlog)
	}

	// One more record, into a pipeline that is caught up: its update comes
	// out at once.
	produce(identify(backlog))
	k.waitIdle(60 * time.Second)
	if got := len(k.readAll(d.Pipeline.ProfilesTopic)); got != backlog+1 {
		t.Fatalf("%d profile updates after one more record, want %d", got, backlog+1)
	}
	t.Logf("%v rounds for the backlog (at least %d polls in stage 1), %v in all", rounds, polls, counterValue(t, reg, "profiled_rounds_committed_total"))
}
