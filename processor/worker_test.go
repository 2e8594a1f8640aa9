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

// TestWorkerQueueAnswersAtFlush: the poll loop queues a round's batches
// without waiting, so the worker must answer for all of them at the flush:
// a failed batch makes the flush fail, the batches queued after it are not
// processed (the round cannot commit anyway), and the next round starts
// clean after the abort.
func TestWorkerQueueAnswersAtFlush(t *testing.T) {
	st := &scriptedStage{}
	p := &Pipeline{m: newMetrics(prometheus.NewRegistry()), opts: Options{BatchRecords: 10}}
	w := &worker{
		p: p, tp: tp{"in", 3}, stage: st,
		jobs: make(chan job, 64), results: make(chan error), done: make(chan struct{}),
		overlay: map[string]overlayValue{},
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.start()
	defer func() { w.cancel(); close(w.jobs); <-w.done }()
	rec := func(v string) []*kgo.Record { return []*kgo.Record{{Topic: "in", Partition: 3, Value: []byte(v)}} }

	for _, v := range []string{"a", "fail", "b"} {
		w.jobs <- job{kind: jobProcess, recs: rec(v)}
	}
	w.jobs <- job{kind: jobFlush}
	err := <-w.results
	if err == nil || !strings.Contains(err.Error(), "scripted failure") || !strings.Contains(err.Error(), "in/3") {
		t.Fatalf("flush after a failed batch: %v; want the batch's error, naming the partition", err)
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
	if err := <-w.results; err != nil {
		t.Fatalf("flush of the next round: %v", err)
	}
	if got := strings.Join(st.processed, ","); got != "a,fail,c" || st.flushes != 1 {
		t.Fatalf("processed %q, flushed %d times; want a,fail,c and one flush", got, st.flushes)
	}
}
