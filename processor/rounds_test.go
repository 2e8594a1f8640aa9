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
	produce := func(recs ...*kgo.Record) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := k.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	// A backlog of many polls' worth (a poll takes at most 4 batches).
	const backlog, batch = 3000, 50
	var recs []*kgo.Record
	for u := range backlog {
		recs = append(recs, identify(u))
	}
	produce(recs...)

	reg := prometheus.NewRegistry()
	in := k.startOpts(t.TempDir(), func(o *processor.Options) {
		o.Registerer = reg
		o.CommitInterval = time.Hour
		o.BatchRecords = batch
	})
	defer func() {
		if err := in.stop(); err != nil {
			t.Error(err)
		}
	}()
	// Rounds that waited for the interval would take an hour.
	k.waitIdle(60 * time.Second)
	rounds := counterValue(t, reg, "profiled_rounds_committed_total")
	// Stage 1 needs 3000/200 = 15 polls at least, stage 2 as many again:
	// a round per poll would be 30 rounds or more.
	if polls := backlog / (4 * batch); rounds == 0 || rounds >= float64(polls) {
		t.Errorf("%v rounds for a backlog of %d polls per stage: the rounds did not gather", rounds, polls)
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
	t.Logf("%v rounds for the backlog, %v in all", rounds, counterValue(t, reg, "profiled_rounds_committed_total"))
}
