package processor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLogLimiter(t *testing.T) {
	l := logLimiter{every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	if n, ok := l.allow("a", t0); !ok || n != 0 {
		t.Fatalf("first line held back")
	}
	for i := 1; i <= 5; i++ {
		if _, ok := l.allow("a", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("line %d within the interval let through", i)
		}
	}
	if _, ok := l.allow("b", t0.Add(time.Second)); !ok {
		t.Fatal("another key was held back")
	}
	if n, ok := l.allow("a", t0.Add(11*time.Second)); !ok || n != 5 {
		t.Fatalf("after the interval: n=%d ok=%v, want 5 held back", n, ok)
	}
}

// scriptedStage fails the batches whose first record's value is "fail" and
// remembers what it was asked to do.
type scriptedStage struct {
	processed []string
	flushes   int
}

func (s *scriptedStage) process(_ context.Context, recs []*kgo.Record, _ *output) error {
	for _, r := range recs {
		s.processed = append(s.processed, string(r.Value))
	}
	if string(recs[0].Value) == "fail" {
		return errors.New("scripted failure")
	}
	return nil
}
func (s *scriptedStage) flush(*output) error { s.flushes++; return nil }
func (s *scriptedStage) reset()              {}
func (s *scriptedStage) name() string        { return "scripted" }

// TestWorkerQueueAfterAFailedBatch: the poll loop queues a poll's batches
// before it collects the previous poll's answers, so a worker may hold
// batches queued after one that failed: it answers the failure once,
// skips the rest of the round (it cannot commit), fails the flush with the
// same error, and starts the next round clean after the abort.
func TestWorkerQueueAfterAFailedBatch(t *testing.T) {
	st := &scriptedStage{}
	p := &Pipeline{m: newMetrics(prometheus.NewRegistry()), opts: Options{BatchRecords: 10}}
	w := &worker{
		p: p, tp: tp{"in", 3}, stage: st,
		jobs: make(chan job, 64), results: make(chan error, 8), done: make(chan struct{}),
		overlay: map[string]overlayValue{},
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.start()
	defer func() { w.cancel(); close(w.jobs); <-w.done }()
	rec := func(v string) []*kgo.Record { return []*kgo.Record{{Topic: "in", Partition: 3, Value: []byte(v)}} }
	failure := func(err error) bool {
		return err != nil && strings.Contains(err.Error(), "scripted failure") && strings.Contains(err.Error(), "in/3")
	}

	for _, v := range []string{"a", "fail", "b"} {
		w.jobs <- job{kind: jobProcess, recs: rec(v)}
	}
	w.jobs <- job{kind: jobFlush}
	answers := make([]error, 4)
	for i := range answers {
		answers[i] = <-w.results
	}
	if answers[0] != nil || !failure(answers[1]) || answers[2] != nil || !failure(answers[3]) {
		t.Fatalf("answers %v; want nil, the failure (naming the partition), nil (skipped), the failure again at the flush", answers)
	}
	if got := strings.Join(st.processed, ","); got != "a,fail" || st.flushes != 0 {
		t.Fatalf("processed %q, flushed %d times; want a,fail and no flush", got, st.flushes)
	}

	w.jobs <- job{kind: jobAbort}
	if err := <-w.results; err != nil {
		t.Fatal(err)
	}
	w.jobs <- job{kind: jobProcess, recs: rec("c")}
	w.jobs <- job{kind: jobFlush}
	for range 2 {
		if err := <-w.results; err != nil {
			t.Fatalf("next round: %v", err)
		}
	}
	if got := strings.Join(st.processed, ","); got != "a,fail,c" || st.flushes != 1 {
		t.Fatalf("processed %q, flushed %d times; want a,fail,c and one flush", got, st.flushes)
	}
}
