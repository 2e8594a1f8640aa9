package processor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/store"
)

// stage is what a worker does with its partition's records.
type stage interface {
	// process turns one batch into output records and state writes. It must
	// not produce or commit anything itself; it reads state through the
	// worker (get), which sees the round's uncommitted writes. It may keep
	// what the round changed and emit it at flush instead.
	process(ctx context.Context, recs []*kgo.Record, out *output) error
	// flush emits what the round gathered, before the round commits: a
	// hot profile touched by every batch of a round is rendered, stored
	// and published once per round, not once per batch.
	flush(out *output) error
	// reset forgets the round's in-memory state (the round ended, or a
	// batch failed).
	reset()
	name() string
}

// output collects what one batch produces.
type output struct {
	records []*kgo.Record
	batch   store.Batch
}

// jobKind is what the poll loop asks a worker to do.
type jobKind int

const (
	jobProcess jobKind = iota // process records into the open round
	jobFlush                  // the round is about to commit: emit what it gathered
	jobStore                  // the round committed: store its state (no result: the poll loop goes on)
	jobAbort                  // the round aborted: forget it
)

type job struct {
	kind jobKind
	recs []*kgo.Record
}

// overlayValue is one uncommitted state write of the current round.
type overlayValue struct {
	value   []byte
	deleted bool
}

// worker owns one assigned partition and all of its state. Its goroutine is
// the only one that touches the partition's store namespace while the
// worker is active; while it restores, the restorer writes instead and the
// worker gets no jobs.
type worker struct {
	p         *Pipeline
	tp        tp
	part      *store.Partition
	stage     stage
	changelog string // topic mirroring the partition's state

	jobs    chan job
	results chan error
	done    chan struct{}

	// active is false while the partition restores its state; its fetching
	// is paused then and the poll loop sends it nothing.
	active atomic.Bool
	// behind is set by the poll loop (and read only there) when the
	// partition's latest fetch stopped short of its last stable offset.
	behind bool
	// lost is set when the partition went to another member without a
	// clean hand-over: nothing of this round may be stored or committed.
	lost atomic.Bool

	// ctx aborts in-flight produce calls when the partition is lost or the
	// pipeline gives up draining.
	ctx    context.Context
	cancel context.CancelFunc

	// Round state, owned by the worker goroutine (the poll loop reads it only
	// between jobs, after a result was received).
	pending store.Batch             // state writes of the round, in order
	overlay map[string]overlayValue // string(kind)+key -> latest write
	last    *kgo.Record             // last input record of the round
	scratch []byte                  // state reads build their key here
	cache   *stateCache             // committed state read or written recently
	reader  *store.Reader           // the current job's reads of the store; nil between jobs
	// storeErr is set when a jobStore failed: the store is behind the
	// committed changelog, so the worker refuses to process on top of it.
	storeErr error

	// clMu guards clLast, which produce promises update.
	clMu   sync.Mutex
	clLast int64 // highest acknowledged changelog offset of the round
}

func (p *Pipeline) newWorker(k tp) *worker {
	w := &worker{
		p:       p,
		tp:      k,
		jobs:    make(chan job),
		results: make(chan error),
		done:    make(chan struct{}),
		overlay: map[string]overlayValue{},
		clLast:  -1,
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.part = p.partitionStore(k)
	w.changelog = p.changelogOf(k.topic)
	if k.topic == p.repart {
		w.stage = newMergeStage(p, w)
		w.cache = newStateCache(p.cacheBytes(true), p.cm)
	} else {
		w.stage = newIngestStage(p, w)
		w.cache = newStateCache(p.cacheBytes(false), p.cm)
	}
	return w
}

// changelogOf names the changelog of a consumed topic's state.
func (p *Pipeline) changelogOf(topic string) string {
	if topic == p.repart {
		return ChangelogTopic(p.dict)
	}
	return IngestChangelogTopic(p.dict, topic)
}

// partitionStore is the store namespace of one partition.
func (p *Pipeline) partitionStore(k tp) *store.Partition {
	if k.topic == p.repart {
		return p.opts.Store.Partition("merge", k.partition)
	}
	return p.opts.Store.Partition("ingest/"+k.topic, k.partition)
}

// get reads state as of the round so far: the round's own writes first,
// then the cache of committed state, then the store.
func (w *worker) get(kind byte, key []byte) ([]byte, error) {
	// Indexing with string(bytes) does not allocate: every read goes
	// through here.
	w.scratch = append(append(w.scratch[:0], kind), key...)
	if len(w.overlay) > 0 {
		if v, ok := w.overlay[string(w.scratch)]; ok {
			if v.deleted {
				return nil, store.ErrNotFound
			}
			return v.value, nil
		}
	}
	if !cacheable(kind) {
		return w.read(kind, key)
	}
	if v, ok := w.cache.get(w.scratch); ok {
		return v, nil
	}
	v, err := w.read(kind, key)
	if err == nil {
		// The store holds committed state only (a round is stored after
		// its transaction commits), so what it returns may be cached.
		w.cache.put(w.scratch, v)
	}
	return v, err
}

// read reads the store. A job's reads share one snapshot, opened at its
// first read that misses the overlay and the cache: the worker is the
// partition's only writer, and it stores between jobs, never during one.
func (w *worker) read(kind byte, key []byte) ([]byte, error) {
	if w.reader == nil {
		r, err := w.part.Reader()
		if err != nil {
			return nil, err
		}
		w.reader = r
	}
	return w.reader.Get(kind, key)
}

// cacheable tells the state kinds worth caching: profiles and row owners
// are read again and again; de-duplication markers are mostly looked up
// once and not found.
func cacheable(kind byte) bool { return kind == kindProfile || kind == kindOwner }

func (w *worker) start() { go w.run() }

// run serves jobs until the jobs channel is closed.
func (w *worker) run() {
	defer close(w.done)
	for j := range w.jobs {
		err := w.do(j)
		w.closeReader()
		if j.kind == jobStore {
			continue // nobody waits for it
		}
		w.results <- err
	}
}

func (w *worker) closeReader() {
	if w.reader != nil {
		w.reader.Close()
		w.reader = nil
	}
}

// do runs one job.
func (w *worker) do(j job) error {
	var err error
	switch j.kind {
	case jobProcess:
		if err = w.storeErr; err == nil {
			err = w.process(j.recs)
		}
	case jobFlush:
		if err = w.storeErr; err == nil {
			err = w.flush()
		}
	case jobStore:
		if err := w.commit(); err != nil {
			// Nobody waits for this job. The round is committed in
			// Kafka but not stored here: no later round of this
			// partition may read the store as if it were, so every
			// later job fails, and the pipeline stops; a restart
			// restores the state from the changelog.
			w.storeErr = err
			w.p.fatal(err)
		}
	case jobAbort:
		w.abort()
	}
	return err
}

// stop ends the worker goroutine and waits for it. The caller makes sure no
// round is open for the worker (rounds end before partitions move).
func (w *worker) stop() {
	w.cancel()
	close(w.jobs)
	<-w.done
	w.cache.reset()
}

// process runs the records through the stage in batches and sends what
// they produce into the open round: output records, and the state writes
// both into the round's overlay and onto the changelog.
func (w *worker) process(recs []*kgo.Record) error {
	// The last record, control or not, is what the round commits past
	// (at least once it names the offsets to commit).
	w.last = recs[len(recs)-1]
	recs = dropControl(recs)
	for len(recs) > 0 {
		n := min(len(recs), w.p.opts.BatchRecords)
		if err := w.batch(recs[:n]); err != nil {
			if errors.Is(err, store.ErrCorrupt) {
				// A stored value failed its checksum. The changelog holds the
				// state: drop the partition's copy so that the next start
				// restores it whole, and stop rather than merge onto it.
				w.cache.reset()
				w.closeReader()
				if derr := w.part.Drop(); derr != nil {
					err = errors.Join(err, derr)
				} else {
					err = fmt.Errorf("%w (its stored state was dropped and is restored from the changelog at the next start)", err)
				}
			}
			return fmt.Errorf("partition %s/%d: %w", w.tp.topic, w.tp.partition, err)
		}
		recs = recs[n:]
	}
	return nil
}

func (w *worker) batch(recs []*kgo.Record) error {
	start := time.Now()
	w.p.m.recordsIn.WithLabelValues(w.tp.topic).Add(float64(len(recs)))
	var out output
	if err := w.stage.process(w.ctx, recs, &out); err != nil {
		w.stage.reset()
		return err
	}
	w.emit(&out)
	st := w.stage.name()
	w.p.m.batchDuration.WithLabelValues(st).Observe(time.Since(start).Seconds())
	w.p.m.batchRecords.WithLabelValues(st).Observe(float64(len(recs)))
	return nil
}

// flush emits what the stage kept for the end of the round.
func (w *worker) flush() error {
	var out output
	if err := w.stage.flush(&out); err != nil {
		return fmt.Errorf("partition %s/%d: %w", w.tp.topic, w.tp.partition, err)
	}
	w.emit(&out)
	return nil
}

// emit sends a stage's output into the open round: the records to their
// topics, the state writes into the round's overlay and onto the
// changelog.
func (w *worker) emit(out *output) {
	for _, r := range out.records {
		w.p.produce(w.ctx, r)
	}
	out.batch.Each(func(kind byte, key, value []byte, deleted bool) {
		// The changelog key is the overlay's: the state kind, then the key.
		k := make([]byte, 0, 1+len(key))
		k = append(append(k, kind), key...)
		w.overlay[string(k)] = overlayValue{value: value, deleted: deleted}
		if deleted {
			w.pending.Delete(kind, key)
		} else {
			w.pending.Set(kind, key, value)
		}
		cl := &kgo.Record{Topic: w.changelog, Partition: w.tp.partition, Key: k}
		if !deleted {
			// A nil value is a tombstone; state that is present but empty
			// (a de-duplication marker) must stay a zero-length value.
			cl.Value = value
			if cl.Value == nil {
				cl.Value = []byte{}
			}
		}
		w.p.produceChangelog(w.ctx, cl, w)
	})
}

// dropControl removes transaction markers. The consumer keeps them only so
// that the committed offsets move past them: otherwise a partition written
// by transactions (the repartition topic) would show a lag of one marker
// for ever.
func dropControl(recs []*kgo.Record) []*kgo.Record {
	for i, r := range recs {
		if r.Attrs.IsControl() {
			out := append(make([]*kgo.Record, 0, len(recs)-1), recs[:i]...)
			for _, r := range recs[i+1:] {
				if !r.Attrs.IsControl() {
					out = append(out, r)
				}
			}
			return out
		}
	}
	return recs
}

// acked records the offset of an acknowledged changelog record.
func (w *worker) acked(offset int64) {
	w.clMu.Lock()
	w.clLast = max(w.clLast, offset)
	w.clMu.Unlock()
}

// commit stores the committed round's state with the changelog offset it
// reflects, so that a restart catches up from exactly there.
func (w *worker) commit() error {
	defer w.endRound()
	if w.pending.Len() == 0 {
		return nil
	}
	// Every pending write was produced to the changelog, so the round has
	// an acknowledged changelog offset to store with it.
	w.clMu.Lock()
	checkpoint := w.clLast
	w.clMu.Unlock()
	if err := w.part.CommitAll(&w.pending, checkpoint); err != nil {
		return fmt.Errorf("partition %s/%d: storing committed state at changelog offset %d: %w",
			w.tp.topic, w.tp.partition, checkpoint, err)
	}
	w.pending.Each(func(kind byte, key, value []byte, deleted bool) {
		if cacheable(kind) {
			w.scratch = append(append(w.scratch[:0], kind), key...)
			if deleted {
				value = nil
			}
			w.cache.put(w.scratch, value)
		}
	})
	return nil
}

// abort forgets the round: its output was aborted (or never acknowledged)
// and its input is read again.
func (w *worker) abort() {
	w.endRound()
}

func (w *worker) endRound() {
	w.stage.reset()
	w.pending.Reset()
	clear(w.overlay)
	w.last = nil
}

// produce sends one output record into the open round; the round ends
// with the acknowledgement of every record (Flush) and fails if any failed.
func (p *Pipeline) produce(ctx context.Context, r *kgo.Record) {
	if r.Topic == p.dict.Pipeline.DLQTopic {
		clipDeadLetter(r)
	}
	p.cl.Produce(ctx, r, p.promise)
}

func (p *Pipeline) produceChangelog(ctx context.Context, r *kgo.Record, w *worker) {
	p.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
		if err == nil {
			w.acked(r.Offset)
		}
		p.promise(r, err)
	})
}

func (p *Pipeline) promise(r *kgo.Record, err error) {
	if err != nil {
		p.roundErr.CompareAndSwap(nil, &errBox{fmt.Errorf("producing to %s: %w", r.Topic, err)})
		return
	}
	p.m.recordsOut.WithLabelValues(r.Topic).Inc()
}

type errBox struct{ err error }

// maxDeadLetter is the largest dead letter sent whole. A dead letter
// carries the rejected record; when that is more than a broker takes by
// default (1 MiB), retrying could never succeed and the partition would
// stop on every restart. Keep the head of the value and say so.
const maxDeadLetter = 1<<20 - 64<<10

func clipDeadLetter(r *kgo.Record) {
	size := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		size += len(h.Key) + len(h.Value)
	}
	if size <= maxDeadLetter {
		return
	}
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: "profiled.truncated", Value: []byte(strconv.Itoa(len(r.Value)))})
	r.Value = r.Value[:min(len(r.Value), 16<<10)]
	if len(r.Key) > 16<<10 {
		r.Key = r.Key[:16<<10]
	}
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

var errUnprocessed = errors.New("records arrived for a partition that is not ready")
