package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/profiled/profiled/processor"
)

// errRevoked is returned by commit once the partition is no longer ours.
var errRevoked = errors.New("partition revoked")

// worker owns one partition of the profiles topic: it batches the
// partition's records, delivers one batch at a time and commits after each.
type worker struct {
	s    *Sink
	part int32
	// known is the last email and consent of each profile seen on this
	// partition, for deletes (a tombstone carries no attributes), address
	// changes and consent given again.
	known known

	ctx    context.Context // canceled to abandon the in-flight batch
	cancel context.CancelFunc
	quit   chan struct{} // closed: take no further batch
	done   chan struct{} // closed when run returns
	notify chan struct{} // a push happened

	qmu    sync.Mutex
	queue  []*kgo.Record
	qbytes int
	paused bool
	scan   scanState

	cmu     sync.Mutex // held while committing; guards revoked
	revoked bool

	warm bool // emails holds what the partition says before the first batch
}

// scanState is how far the queue has been measured against the batch
// limits, so that each push only measures the new records.
type scanState struct {
	n     int            // records measured
	cut   int            // records that fit the limits
	full  bool           // the record at cut would exceed them
	sizes map[string]int // latest value size per profile among the fitting records
	bytes int
}

func newWorker(parent context.Context, s *Sink, part int32) *worker {
	ctx, cancel := context.WithCancel(parent)
	return &worker{
		s: s, part: part, known: newKnown(),
		ctx: ctx, cancel: cancel,
		quit: make(chan struct{}), done: make(chan struct{}), notify: make(chan struct{}, 1),
		scan: scanState{sizes: map[string]int{}},
	}
}

// push appends polled records; over the byte budget the partition's fetching
// pauses until the worker catches up.
func (w *worker) push(recs []*kgo.Record) {
	w.qmu.Lock()
	w.queue = append(w.queue, recs...)
	for _, r := range recs {
		w.qbytes += len(r.Value) + len(r.Key)
	}
	if w.qbytes > w.s.opts.QueueBytes && !w.paused {
		w.paused = true
		w.s.cl.PauseFetchPartitions(map[string][]int32{w.s.topic: {w.part}})
	}
	w.qmu.Unlock()
	w.s.m.records.Add(float64(len(recs)))
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// stop ends the worker. With drain, the in-flight batch may finish and
// commit within timeout; after that (or without drain) it is abandoned and
// nothing more is committed.
func (w *worker) stop(drain bool, timeout time.Duration) {
	close(w.quit)
	if drain {
		t := time.NewTimer(timeout)
		select {
		case <-w.done:
		case <-t.C:
		}
		t.Stop()
	}
	w.cmu.Lock()
	w.revoked = true
	w.cmu.Unlock()
	w.cancel()
	<-w.done
	w.qmu.Lock()
	if w.paused {
		// A later owner of the partition in this process starts unpaused.
		w.s.cl.ResumeFetchPartitions(map[string][]int32{w.s.topic: {w.part}})
		w.paused = false
	}
	w.qmu.Unlock()
}

func (w *worker) run() {
	defer close(w.done)
	for {
		batch, ok := w.next()
		if !ok {
			return
		}
		if err := w.deliver(batch); err != nil {
			if errors.Is(err, ErrFatal) {
				w.s.fatal(fmt.Errorf("connector %s, partition %d: %w", w.s.cfg.Name, w.part, err))
			}
			return
		}
	}
}

// next waits until a batch is full or its oldest record has waited MaxWait,
// and takes it off the queue. false means stop.
func (w *worker) next() ([]*kgo.Record, bool) {
	var first time.Time
	maxWait := w.s.cfg.Batch.MaxWait
	if maxWait <= 0 {
		maxWait = time.Second
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-w.quit:
			return nil, false
		default:
		}
		w.qmu.Lock()
		w.measure()
		n, full := len(w.queue), w.scan.full
		if n > 0 && first.IsZero() {
			first = time.Now()
		}
		if n > 0 && (full || time.Since(first) >= maxWait) {
			batch := w.takeLocked()
			w.qmu.Unlock()
			return batch, true
		}
		w.qmu.Unlock()
		var tc <-chan time.Time
		if n > 0 {
			if timer == nil {
				timer = time.NewTimer(maxWait - time.Since(first))
			} else {
				timer.Reset(maxWait - time.Since(first))
			}
			tc = timer.C
		}
		select {
		case <-w.notify:
		case <-tc:
		case <-w.quit:
			return nil, false
		case <-w.ctx.Done():
			return nil, false
		}
	}
}

// measure extends the scan over records pushed since the last call.
func (w *worker) measure() {
	sc := &w.scan
	lim := w.s.limits
	for ; sc.n < len(w.queue) && !sc.full; sc.n++ {
		r := w.queue[sc.n]
		id := string(r.Key)
		old, seen := sc.sizes[id]
		size := len(r.Value) + len(r.Key) + 64
		items := len(sc.sizes)
		if !seen {
			items++
		}
		if sc.cut > 0 && (items > lim.MaxItems || sc.bytes-old+size > lim.MaxBytes) {
			sc.full = true
			break
		}
		sc.sizes[id] = size
		sc.bytes += size - old
		sc.cut = sc.n + 1
	}
}

func (w *worker) takeLocked() []*kgo.Record {
	cut := w.scan.cut
	if cut == 0 {
		cut = len(w.queue)
	}
	batch := w.queue[:cut:cut]
	rest := make([]*kgo.Record, len(w.queue)-cut)
	copy(rest, w.queue[cut:])
	w.queue = rest
	for _, r := range batch {
		w.qbytes -= len(r.Value) + len(r.Key)
	}
	w.scan = scanState{sizes: map[string]int{}}
	if w.paused && w.qbytes < w.s.opts.QueueBytes/2 {
		w.paused = false
		w.s.cl.ResumeFetchPartitions(map[string][]int32{w.s.topic: {w.part}})
	}
	return batch
}

// deliver sends one batch until the ESP acknowledged it and its failures
// are dead-lettered, then commits. An error means the batch is abandoned
// (stopping, or fatal).
func (w *worker) deliver(batch []*kgo.Record) error {
	start := time.Now()
	if !w.warm {
		if err := w.rebuild(batch[0].Offset); err != nil {
			return err
		}
		w.warm = true
	}
	changes, fails := w.s.mapping.coalesce(batch, w.known)
	for attempt := 1; ; attempt++ {
		var itemFails []Failure
		var err error
		if len(changes) > 0 {
			itemFails, err = w.s.opts.Adapter.Send(w.ctx, changes)
		}
		var he *HTTPError
		if errors.As(err, &he) && !errors.Is(err, ErrFatal) {
			// The ESP refused a request the adapter could not attribute to
			// items, or retries were used up (retry.max_attempts): the
			// batch goes to the dead letters with the ESP's answer, and the
			// partition moves on.
			itemFails, err = FailAll(changes, he.Error()), nil
		}
		if err == nil {
			err = w.s.deadLetter(w.ctx, append(fails[:len(fails):len(fails)], itemFails...))
		}
		if err == nil {
			break
		}
		if errors.Is(err, ErrFatal) || w.ctx.Err() != nil {
			return err
		}
		w.s.log.Warn("batch not delivered; retrying", "partition", w.part, "attempt", attempt, "err", err)
		if err := sleep(w.ctx, w.s.opts.Client.backoff(attempt)); err != nil {
			return err
		}
	}
	for _, c := range changes {
		op := "upsert"
		if c.Deleted {
			op = "delete"
		}
		w.s.m.contacts.WithLabelValues(op).Inc()
	}
	last := batch[len(batch)-1]
	if err := w.commit(last); err != nil {
		return err
	}
	w.s.m.batches.Inc()
	w.s.m.batchSeconds.Observe(time.Since(start).Seconds())
	return nil
}

// commit commits the offset after last, unless the partition was revoked.
// A failed commit is not fatal: the next one covers it, and a restart only
// re-sends (idempotently) what it did not cover.
func (w *worker) commit(last *kgo.Record) error {
	w.cmu.Lock()
	defer w.cmu.Unlock()
	if w.revoked {
		return errRevoked
	}
	offsets := map[string]map[int32]kgo.EpochOffset{
		last.Topic: {last.Partition: {Epoch: last.LeaderEpoch, Offset: last.Offset + 1}},
	}
	var cerr error
	w.s.cl.CommitOffsetsSync(w.ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					cerr = err
				}
			}
		}
	})
	if cerr != nil {
		if w.ctx.Err() != nil {
			return cerr
		}
		w.s.log.Warn("committing offset", "partition", last.Partition, "offset", last.Offset+1, "err", cerr)
	}
	return nil
}

// rebuild reads the partition from its start up to upTo (where this
// worker's consumption starts: the group's committed offset) to learn the
// last email and consent of each profile. A restarted or rebalanced sink thus still
// knows the address of a profile that is deleted, or moves to a new address,
// after it took over. The topic is compacted, so this reads about one
// record per profile of the partition; a value compacted away because a
// newer one follows upTo is not seen.
func (w *worker) rebuild(upTo int64) error {
	if upTo <= 0 || (w.s.mapping.email == "" && w.s.mapping.consent == "") {
		return nil
	}
	ctx, cancel := context.WithTimeout(w.ctx, 5*time.Minute)
	defer cancel()
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(w.s.opts.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{w.s.topic: {w.part: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.WithLogger(processor.KafkaLogger(w.s.log)),
	}, w.s.opts.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("reading partition %d for the last emails: %w", w.part, err)
	}
	defer cl.Close()
	n := 0
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			if w.ctx.Err() != nil {
				return err
			}
			// Too slow: go on without; deletes of unseen profiles are
			// dead-lettered by the email-keyed ESPs, saying why.
			w.s.log.Warn("gave up reading the partition's earlier emails", "partition", w.part, "read", n)
			return nil
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if done || r.Offset >= upTo {
				done = true
				return
			}
			n++
			w.s.mapping.remember(w.known, string(r.Key), r.Value)
		})
		if done {
			w.s.log.Debug("read the partition's earlier emails", "partition", w.part, "records", n, "profiles", len(w.known.emails))
			return nil
		}
	}
}
