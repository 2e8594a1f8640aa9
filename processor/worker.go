package processor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/store"
)

// stage is what a worker does with its partition's records.
type stage interface {
	// process turns one batch into output records and state writes. It must
	// not produce or commit anything itself.
	process(ctx context.Context, recs []*kgo.Record, out *output) error
	// reset forgets in-memory state after a failed batch.
	reset()
	name() string
}

// output collects what one batch produces.
type output struct {
	records []*kgo.Record
	batch   store.Batch
}

// worker owns one assigned partition: its queue, its state and its offset.
type worker struct {
	p     *Pipeline
	tp    tp
	part  *store.Partition
	stage stage

	applied int64 // last offset whose effects are stored; owned by run

	mu         sync.Mutex
	queue      []*kgo.Record
	queueBytes int
	paused     bool

	wake  chan struct{} // capacity 1: coalesces wake-ups
	quit  chan struct{}
	done  chan struct{}
	drain bool // set before quit is closed

	// ctx aborts an in-flight batch: at once when the partition is lost, or
	// when draining takes longer than Options.DrainTimeout. Otherwise a
	// batch waits as long as Kafka needs: kgo retries what is retryable, and
	// a broker that is down for a minute must not crash the pipeline.
	ctx    context.Context
	cancel context.CancelFunc
}

func (p *Pipeline) newWorker(k tp) (*worker, error) {
	w := &worker{
		p:    p,
		tp:   k,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.part = p.partitionStore(k)
	if k.topic == p.repart {
		w.stage = newMergeStage(p, w.part)
	} else {
		w.stage = newIngestStage(p, w.part, k)
	}
	off, err := w.part.Offset()
	if err != nil {
		return nil, fmt.Errorf("reading stored offset: %w", err)
	}
	w.applied = off
	return w, nil
}

// partitionStore is the store namespace of one assigned partition.
func (p *Pipeline) partitionStore(k tp) *store.Partition {
	if k.topic == p.repart {
		return p.opts.Store.Partition("merge", k.partition)
	}
	return p.opts.Store.Partition("ingest/"+k.topic, k.partition)
}

func (w *worker) start() { go w.run() }

// push appends polled records; called only from the poll loop.
func (w *worker) push(recs []*kgo.Record) {
	n := 0
	for _, r := range recs {
		n += len(r.Key) + len(r.Value) + 64
	}
	w.mu.Lock()
	w.queue = append(w.queue, recs...)
	w.queueBytes += n
	if !w.paused && w.queueBytes > w.p.opts.QueueBytes {
		w.paused = true
		w.p.cl.PauseFetchPartitions(map[string][]int32{w.tp.topic: {w.tp.partition}})
		w.p.m.paused.Inc()
		w.p.m.pauses.Inc()
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// take removes up to n records from the queue and resumes fetching when
// the queue has drained below half its budget.
func (w *worker) take(n int) []*kgo.Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return nil
	}
	n = min(n, len(w.queue))
	recs := make([]*kgo.Record, n)
	copy(recs, w.queue)
	for i, r := range w.queue[:n] {
		w.queueBytes -= len(r.Key) + len(r.Value) + 64
		w.queue[i] = nil
	}
	w.queue = w.queue[n:]
	if w.paused && w.queueBytes <= w.p.opts.QueueBytes/2 {
		w.paused = false
		w.p.cl.ResumeFetchPartitions(map[string][]int32{w.tp.topic: {w.tp.partition}})
		w.p.m.paused.Dec()
	}
	return recs
}

// stop ends the worker and waits for it. With drain, the in-flight batch is
// finished and marked; without, it is abandoned unmarked (the partition was
// lost, so another member re-reads it).
func (w *worker) stop(drain bool) {
	w.mu.Lock()
	w.drain = drain
	if w.paused {
		w.paused = false
		w.p.m.paused.Dec()
		w.p.cl.ResumeFetchPartitions(map[string][]int32{w.tp.topic: {w.tp.partition}})
	}
	w.mu.Unlock()
	close(w.quit)
	defer w.cancel()
	if !drain {
		w.cancel()
		<-w.done
		return
	}
	t := time.NewTimer(w.p.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
		w.p.log.Warn("abandoning the in-flight batch: draining took too long",
			"topic", w.tp.topic, "partition", w.tp.partition, "timeout", w.p.opts.DrainTimeout)
		w.cancel()
		<-w.done
	}
}

func (w *worker) run() {
	defer close(w.done)
	for {
		select {
		case <-w.quit:
			return
		case <-w.wake:
		}
		for {
			select {
			case <-w.quit:
				return
			default:
			}
			recs := w.take(w.p.opts.BatchRecords)
			if len(recs) == 0 {
				break
			}
			if err := w.batch(recs); err != nil {
				if w.ctx.Err() != nil {
					return // aborted on purpose: nothing was stored or marked
				}
				w.p.fatal(fmt.Errorf("partition %s/%d: %w", w.tp.topic, w.tp.partition, err))
				return
			}
		}
	}
}

// batch runs the commit protocol described in the package documentation.
func (w *worker) batch(recs []*kgo.Record) error {
	start := time.Now()
	// The batch runs to completion even when the pipeline is shutting down
	// (that is what "shutdown drains" promises); only w.ctx aborts it.
	ctx := w.ctx

	fresh := recs[:0:0]
	for _, r := range recs {
		if r.Offset <= w.applied {
			continue
		}
		fresh = append(fresh, r)
	}
	if skipped := len(recs) - len(fresh); skipped > 0 {
		w.p.m.replaySkipped.WithLabelValues(w.stage.name()).Add(float64(skipped))
	}
	if len(fresh) == 0 {
		// Everything was applied before a restart: still move the group's
		// offset on, or its lag would never reach zero.
		w.mark(recs[len(recs)-1])
		return nil
	}
	w.p.m.recordsIn.WithLabelValues(w.tp.topic).Add(float64(len(fresh)))

	var out output
	if err := w.stage.process(ctx, fresh, &out); err != nil {
		w.stage.reset()
		return err
	}
	// State writes must fit one store transaction. process has no side
	// effects, so a batch that would not fit is simply done in halves, before
	// anything is produced.
	if maxN, maxB := w.p.opts.Store.MaxBatch(); len(fresh) > 1 &&
		(int64(out.batch.Len())+1 > maxN*4/5 || int64(out.batch.Size())+64 > maxB*4/5) {
		w.stage.reset()
		half := len(fresh) / 2
		if err := w.batch(fresh[:half]); err != nil {
			return err
		}
		return w.batch(fresh[half:])
	}
	if err := w.produce(ctx, out.records); err != nil {
		w.stage.reset()
		return err
	}
	last := fresh[len(fresh)-1]
	if err := w.part.Commit(&out.batch, last.Offset); err != nil {
		w.stage.reset()
		return fmt.Errorf("storing state at offset %d: %w", last.Offset, err)
	}
	w.applied = last.Offset

	w.mark(last)
	st := w.stage.name()
	w.p.m.batchDuration.WithLabelValues(st).Observe(time.Since(start).Seconds())
	w.p.m.batchRecords.WithLabelValues(st).Observe(float64(len(fresh)))
	return nil
}

// mark marks r for the group's commit unless the partition was lost: a
// lost partition belongs to another member, whose commits must not be
// overwritten.
func (w *worker) mark(r *kgo.Record) {
	w.mu.Lock()
	lost := w.isStopping() && !w.drain
	w.mu.Unlock()
	if !lost {
		w.p.cl.MarkCommitRecords(r)
	}
}

func (w *worker) isStopping() bool {
	select {
	case <-w.quit:
		return true
	default:
		return false
	}
}

// produce sends the records and waits for every acknowledgement. kgo retries
// retryable errors itself; what comes back is final, and fails the batch.
func (w *worker) produce(ctx context.Context, recs []*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		first    error
		tooLarge []*kgo.Record
	)
	dlq := w.p.dict.Pipeline.DLQTopic
	wg.Add(len(recs))
	for _, r := range recs {
		w.p.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				w.p.m.recordsOut.WithLabelValues(r.Topic).Inc()
			case r.Topic == dlq && errors.Is(err, kerr.MessageTooLarge):
				tooLarge = append(tooLarge, r)
			case first == nil:
				first = fmt.Errorf("producing to %s: %w", r.Topic, err)
			}
		})
	}
	wg.Wait()
	if first != nil || len(tooLarge) == 0 {
		return first
	}
	// A dead letter carries the rejected record whole; when that is more
	// than the broker takes, retrying can never succeed and the partition
	// would stop on every restart. Keep the head of the value and say so.
	for _, r := range tooLarge {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: "profiled.truncated", Value: []byte(strconv.Itoa(len(r.Value)))})
		r.Value = r.Value[:min(len(r.Value), 16<<10)]
	}
	if err := w.p.cl.ProduceSync(ctx, tooLarge...).FirstErr(); err != nil {
		return fmt.Errorf("producing truncated dead letters to %s: %w", dlq, err)
	}
	w.p.m.recordsOut.WithLabelValues(dlq).Add(float64(len(tooLarge)))
	return nil
}

// deadLetter builds the dead-letter record for r: key and value as received,
// the original headers, and the reason and origin.
func (p *Pipeline) workerDL(r *kgo.Record, stage, reason string, err error) *kgo.Record {
	p.m.deadLetters.WithLabelValues(stage, reason).Inc()
	// The error text quotes the offending value (an email, a name), so it
	// goes into the dead letter, which is data, and not into the log.
	if p.opts.LogPersonalData {
		p.log.Warn("dead-lettering record", "stage", stage, "reason", reason,
			"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
	} else if n, ok := p.dlLog.allow(stage+"/"+reason, time.Now()); ok {
		p.log.Warn("dead-lettering records", "stage", stage, "reason", reason,
			"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "more_since_last_log", n)
	} else {
		p.log.Debug("dead-lettering record", "stage", stage, "reason", reason,
			"topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
	}
	h := make([]kgo.RecordHeader, 0, len(r.Headers)+5)
	h = append(h, r.Headers...)
	h = append(h,
		kgo.RecordHeader{Key: "profiled.error", Value: []byte(truncate(err.Error(), 2048))},
		kgo.RecordHeader{Key: "profiled.reason", Value: []byte(reason)},
		kgo.RecordHeader{Key: "profiled.source.topic", Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: "profiled.source.partition", Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: "profiled.source.offset", Value: []byte(strconv.FormatInt(r.Offset, 10))},
	)
	return &kgo.Record{Topic: p.dict.Pipeline.DLQTopic, Key: r.Key, Value: r.Value, Headers: h}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// logLimiter lets one log line per key through per interval and counts the
// rest, so that a burst of bad records (an upstream deploy gone wrong) is
// visible in the log without flooding it; the metrics count every one.
type logLimiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
	held  map[string]int
}

// allow reports whether to log now, and how many were held back since the
// last line for key.
func (l *logLimiter) allow(key string, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.held = map[string]time.Time{}, map[string]int{}
	}
	if t, ok := l.last[key]; ok && now.Sub(t) < l.every {
		l.held[key]++
		return 0, false
	}
	n := l.held[key]
	l.last[key], l.held[key] = now, 0
	return n, true
}
