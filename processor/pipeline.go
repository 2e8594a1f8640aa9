package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor/ingest"
	"github.com/profiled/profiled/processor/merge"
	"github.com/profiled/profiled/schemas/dictionary"
)

// Pipeline is one instance of the profile pipeline: a member of the
// consumer group that runs both stages for the partitions it is assigned.
type Pipeline struct {
	opts   Options
	dict   *dictionary.File
	log    *slog.Logger
	m      *metrics
	cm     *cacheMetrics
	mapper *ingest.Mapper
	merger *merge.Merger
	repart string
	cl     *kgo.Client
	sess   *kgo.GroupTransactSession // nil at least once
	rs     *restorer
	// clReady is closed once cl is set. kgo starts joining the group inside
	// NewClient, so a rebalance callback can run before New has stored the
	// client; the callbacks wait on this before touching p.cl (or starting
	// workers that use it).
	clReady chan struct{}
	errc    chan error // first fatal error
	// cancel stops Run's poll loop; atomic because fatal runs both inside
	// and outside p.mu (the rebalance callbacks hold it).
	cancel  atomic.Pointer[context.CancelFunc]
	dlLog   logLimiter
	joined  atomic.Bool
	running atomic.Bool

	// roundErr is the first produce failure of the open round.
	roundErr atomic.Pointer[errBox]
	// The open round, touched only by Run's goroutine: whether its
	// transaction began, and the workers that took part.
	roundOpen    bool
	roundWorkers map[*worker]struct{}

	// workers is changed only by the rebalance callbacks and read by Run,
	// which kgo serializes with polling because of BlockRebalanceOnPoll;
	// the restorer reads it under mu too.
	mu      sync.Mutex
	workers map[tp]*worker
}

type tp struct {
	topic     string
	partition int32
}

// New validates the options and builds the Kafka client. Nothing runs until
// Run.
func New(opts Options) (*Pipeline, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("invalid pipeline options: %w", err)
	}
	d := opts.Dictionary
	p := &Pipeline{
		opts:    opts,
		dict:    d,
		log:     opts.Logger,
		m:       newMetrics(opts.Registerer),
		cm:      newCacheMetrics(opts.Registerer),
		mapper:  newMapper(opts),
		merger:  merge.New(d),
		repart:  RepartitionTopic(d),
		errc:    make(chan error, 1),
		clReady: make(chan struct{}),
		workers: map[tp]*worker{},
		dlLog:   logLimiter{every: 10 * time.Second},
	}
	// Every topic is given as an anchored pattern so that literal topics and
	// topic_pattern sources can share one subscription.
	patterns := []string{"^" + regexp.QuoteMeta(p.repart) + "$"}
	for _, s := range d.Sources {
		if s.Pattern != nil {
			patterns = append(patterns, s.Pattern.String())
		} else {
			patterns = append(patterns, "^"+regexp.QuoteMeta(s.Topic)+"$")
		}
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ConsumerGroup(d.Pipeline.Group),
		kgo.ConsumeRegex(),
		kgo.ConsumeTopics(patterns...),
		// A topic pattern must never pick up the pipeline's own changelogs.
		kgo.ConsumeExcludeTopics("^" + regexp.QuoteMeta(ChangelogTopic(d)) + `(\..*)?$`),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		// Rounds end before a rebalance may proceed, so a partition never
		// moves with uncommitted work.
		kgo.BlockRebalanceOnPoll(),
		kgo.DisableAutoCommit(),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// A partition resumed after its restore joins the next fetch
		// request, not the one long-polling: bound that wait as Kafka
		// Streams does (fetch.max.wait.ms=500) instead of kgo's 5 s.
		kgo.FetchMaxWait(500 * time.Millisecond),
		// See dropControl.
		kgo.KeepControlRecords(),
		// Kafka's default partitioner (murmur2 of the key), so that facts and
		// profiles land where a Java client would put the same key; the
		// changelogs name their partition.
		kgo.RecordPartitioner(partitioner{}),
		kgo.OnPartitionsAssigned(p.assigned),
		kgo.OnPartitionsRevoked(p.revoked),
		kgo.OnPartitionsLost(p.lost),
		kgo.WithLogger(kslog{p.log}),
	}
	if !opts.AtLeastOnce {
		kopts = append(kopts,
			kgo.TransactionalID(opts.TransactionalID),
			kgo.TransactionTimeout(opts.TransactionTimeout))
	}
	kopts = append(kopts, p.clientMetrics("pipeline")...)
	kopts = append(kopts, opts.ClientOpts...)
	if opts.AdvertiseAddr != "" {
		// After ClientOpts, which set the configured client id: this one
		// extends it.
		kopts = append(kopts, kgo.ClientID(advertisingClientID(d.Kafka.ClientID, opts.AdvertiseAddr)))
	}
	if opts.AtLeastOnce {
		cl, err := kgo.NewClient(kopts...)
		if err != nil {
			return nil, fmt.Errorf("creating kafka client: %w", err)
		}
		p.cl = cl
	} else {
		sess, err := kgo.NewGroupTransactSession(kopts...)
		if err != nil {
			return nil, fmt.Errorf("creating kafka transactional session: %w", err)
		}
		p.sess, p.cl = sess, sess.Client()
	}
	rs, err := newRestorer(p)
	if err != nil {
		p.cl.Close()
		return nil, err
	}
	p.rs = rs
	registerGauges(opts.Registerer, opts.Store, rs)
	// Export the merge stage's restore counter from the start, so that a
	// rate over it is defined before the first restore.
	p.m.restored.WithLabelValues(ChangelogTopic(d))
	close(p.clReady)
	return p, nil
}

// cacheBytes shares Options.StateCacheBytes among the partitions an
// instance could own: three quarters for the merge stage's profiles (the
// large, hot values), a quarter for the row owners of every input.
func (p *Pipeline) cacheBytes(merging bool) int64 {
	total := p.opts.StateCacheBytes
	if total <= 0 {
		return 0
	}
	parts := int64(max(p.dict.Pipeline.Partitions, 1))
	if merging {
		return total * 3 / 4 / parts
	}
	return total / 4 / (parts * int64(max(len(p.dict.Sources), 1)))
}

func newMapper(opts Options) *ingest.Mapper {
	if opts.Schemas != nil {
		return ingest.NewMapper(opts.Dictionary, ingest.WithSchemas(opts.Schemas))
	}
	return ingest.NewMapper(opts.Dictionary)
}

// partitioner routes changelog records to the partition they name and
// everything else by Kafka's default (murmur2 of the key).
type partitioner struct{}

func (partitioner) ForTopic(topic string) kgo.TopicPartitioner {
	if isChangelog(topic) {
		return kgo.ManualPartitioner().ForTopic(topic)
	}
	return kgo.StickyKeyPartitioner(nil).ForTopic(topic)
}

// isChangelog reports whether topic is one of the pipeline's changelogs;
// only their records are produced with an explicit partition.
func isChangelog(topic string) bool { return changelogRE.MatchString(topic) }

var changelogRE = regexp.MustCompile(`\.changelog(\..*)?$`)

// Ready reports whether the instance has joined the group and every assigned
// partition has restored its state.
func (p *Pipeline) Ready() bool {
	if !p.joined.Load() {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.workers {
		if !w.active.Load() {
			return false
		}
	}
	return true
}

// Client returns the pipeline's Kafka client (for admin calls that should
// share its connection settings).
func (p *Pipeline) Client() *kgo.Client { return p.cl }

// Run consumes until ctx is done or a fatal error, then drains: the open
// round commits, and the client leaves the group. It returns nil after a
// clean shutdown.
//
// Work goes in rounds. A round polls and processes records until it
// caught up with its input, or for up to Options.CommitInterval while the
// input is behind (see gather), then commits everything it did at once: with
// exactly-once, the output records, changelog records and consumed offsets
// in one Kafka transaction; at least once, by waiting for every
// acknowledgement and then committing the offsets. Only then is the
// round's state written to Badger, with the changelog offset it reflects.
func (p *Pipeline) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("pipeline already ran")
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.cancel.Store(&cancel)
	restoreDone := make(chan struct{})
	go func() {
		defer close(restoreDone)
		p.rs.run(runCtx)
	}()
	lagDone := make(chan struct{})
	go func() {
		defer close(lagDone)
		p.lagLoop(runCtx)
	}()

	var runErr error
	for runErr == nil {
		// A poll takes as much as the round may hold: kgo hands out a
		// buffered fetch partition by partition, each drained before the
		// next, so a poll of a few batches was mostly one partition's,
		// and its one worker ran while the other cores waited (at 1 M
		// profiles, 26 k events/s on 1.3 of 2 cores; 30 k taking whole
		// rounds, with fetches that spread over the partitions: see
		// Memory.FetchMaxPartitionBytes).
		fetches := p.cl.PollRecords(runCtx, p.opts.RoundRecords)
		if fetches.IsClientClosed() || runCtx.Err() != nil {
			break
		}
		// From here until AllowRebalance no rebalance can take partitions
		// away: the round is processed and committed while they are ours.
		n, err := p.dispatch(fetches)
		if err == nil && n > 0 {
			err = p.gather(runCtx, n, p.caughtUp())
		}
		if p.roundOpen || len(p.roundWorkers) > 0 || p.roundErr.Load() != nil {
			// A round that failed is aborted so that its input is read
			// again, by this instance or by the partition's next owner.
			if eerr := p.endRound(ctx, err != nil); err == nil {
				err = eerr
			}
		}
		if err != nil {
			runErr = err
			break
		}
		select {
		case runErr = <-p.errc:
		default:
		}
		p.cl.AllowRebalance()
	}
	if runErr == nil {
		select {
		case runErr = <-p.errc:
		default:
		}
	}
	p.joined.Store(false)
	cancel()
	<-restoreDone
	<-lagDone
	// Leaving the group revokes every partition, which stops the workers.
	p.cl.CloseAllowingRebalance()
	p.rs.close()
	p.mu.Lock()
	for k, w := range p.workers {
		w.stop()
		delete(p.workers, k)
	}
	p.mu.Unlock()
	return runErr
}

// gather keeps polling into the open round while the input is behind, for
// up to the commit interval or until the round is big enough. A round
// ends as soon as it caught up with its partitions instead, so that the
// commit interval is a bound for a backlog and not a delay for every
// record: a stream that comes at less than full speed is committed (and
// visible) as soon as it is processed, in rounds as long as processing and
// committing the records that came during the previous round take.
//
// Caught up needs one fresh fetch: the round's first poll took the fetch
// kgo buffered before the round began, so the input that came since is in
// the fetch that poll started (kgo buffers one fetch per broker and
// starts the next when it is taken). A poll that brings nothing in
// caughtUpWait, or only records up to their partitions' last stable
// offset, ends the round.
func (p *Pipeline) gather(ctx context.Context, n int, caughtUp bool) error {
	if p.opts.CommitInterval <= 0 {
		return nil
	}
	deadline := time.Now().Add(p.opts.CommitInterval)
	for polls := 1; n < p.opts.RoundRecords; polls++ {
		if caughtUp && polls > 1 {
			return nil
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil
		}
		if caughtUp {
			wait = min(wait, caughtUpWait)
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		fetches := p.cl.PollRecords(pctx, p.opts.RoundRecords-n)
		cancel()
		if fetches.IsClientClosed() {
			return nil
		}
		m, err := p.dispatch(fetches)
		if err != nil {
			return err
		}
		n += m
		if ctx.Err() != nil {
			return nil // shutting down: commit what the round holds
		}
		caughtUp = m == 0 || p.caughtUp()
	}
	return nil
}

// caughtUpWait is how long a caught-up round waits for the fetch its first
// poll started: it is already answered if anything came meanwhile.
const caughtUpWait = time.Millisecond

// caughtUp reports whether the pipeline has read everything it can see:
// nothing is buffered in the client, and every active partition was read,
// in its latest fetch, up to its last stable offset (what a
// read_committed consumer can see) as of the broker's answer. A partition
// left out of a fetch keeps what its previous fetch said.
func (p *Pipeline) caughtUp() bool {
	if p.cl.BufferedFetchRecords() > 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.workers {
		if w.behind && w.active.Load() {
			return false
		}
	}
	return true
}

// behind reports whether a partition's fetch stopped short of its last
// stable offset.
func behind(f kgo.FetchTopicPartition) bool {
	end := f.LastStableOffset
	if end < 0 {
		end = f.HighWatermark
	}
	return f.Records[len(f.Records)-1].Offset+1 < end
}

// dispatch hands each partition's records to its worker, in parallel, and
// waits for all of them. It returns the number of records processed.
func (p *Pipeline) dispatch(fetches kgo.Fetches) (int, error) {
	fetches.EachError(func(topic string, partition int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		if ferr := fatalFetchErr(topic, p.dict.Pipeline.Group, err); ferr != nil {
			p.fatal(ferr)
			return
		}
		p.log.Warn("fetch error", "topic", topic, "partition", partition, "err", err)
	})
	var (
		busy   []*worker
		n      int
		rewind map[string]map[int32]kgo.EpochOffset
	)
	p.mu.Lock()
	fetches.EachPartition(func(f kgo.FetchTopicPartition) {
		if len(f.Records) == 0 {
			return
		}
		w := p.workers[tp{f.Topic, f.Partition}]
		if w == nil || !w.active.Load() {
			// Not processable now (the partition still restores): rewind it
			// so that the records are fetched again. Polled offsets commit
			// with the round, so an exactly-once round must abort too.
			if rewind == nil {
				rewind = map[string]map[int32]kgo.EpochOffset{}
			}
			if rewind[f.Topic] == nil {
				rewind[f.Topic] = map[int32]kgo.EpochOffset{}
			}
			rewind[f.Topic][f.Partition] = kgo.EpochOffset{Epoch: -1, Offset: f.Records[0].Offset}
			return
		}
		if p.sess != nil && !p.roundOpen {
			if err := p.begin(); err != nil {
				p.fatal(err)
				return
			}
		}
		w.behind = behind(f)
		w.jobs <- job{kind: jobProcess, recs: f.Records}
		busy = append(busy, w)
		n += len(f.Records)
	})
	p.mu.Unlock()
	var first error
	for _, w := range busy {
		if err := <-w.results; err != nil && first == nil {
			first = err
		}
		if p.roundWorkers == nil {
			p.roundWorkers = map[*worker]struct{}{}
		}
		p.roundWorkers[w] = struct{}{}
	}
	if first != nil {
		return n, first
	}
	if rewind != nil {
		p.log.Debug("records for partitions that are not ready; they are read again", "partitions", rewind)
		p.cl.SetOffsets(rewind)
		if p.sess != nil {
			p.roundErr.CompareAndSwap(nil, &errBox{errUnprocessed})
		}
	}
	return n, nil
}

func (p *Pipeline) begin() error {
	if err := p.sess.Begin(); err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	p.roundOpen = true
	return nil
}

// endRound commits the open round, or aborts it when abort is set or a
// produce failed. With exactly-once an abort rewinds the consumer to the
// committed offsets; at least once a failed round is fatal (its output may
// be partly written; the restart reads its input again).
func (p *Pipeline) endRound(ctx context.Context, abort bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.DrainTimeout)
	defer cancel()
	workers := p.roundWorkers
	p.roundWorkers = nil
	defer p.roundErr.Store(nil)
	start := time.Now()
	var flushErr error
	if !abort && p.roundErr.Load() == nil {
		// The stages emit what the round gathered (a profile's version and
		// state once per round, however many batches touched it) before
		// the round commits.
		if flushErr = flushRound(workers); flushErr != nil {
			abort = true
		}
	}
	if !abort && p.sess != nil {
		// Every record of the round must be acknowledged before the
		// decision: kgo's End commits a transaction even when one of its
		// records failed (the rest would be committed without it).
		if err := p.cl.Flush(ctx); err != nil {
			p.log.Warn("waiting for the round's records; the round is aborted", "err", err)
			abort = true
		}
	}
	if box := p.roundErr.Load(); box != nil {
		abort = true
		if !errors.Is(box.err, errUnprocessed) {
			p.log.Warn("aborting the round: a record could not be produced; its input is processed again", "err", box.err)
		}
	}
	committed := false
	if p.sess != nil {
		p.roundOpen = false
		try := kgo.TryCommit
		if abort {
			try = kgo.TryAbort
		}
		ok, err := p.sess.End(ctx, try)
		switch {
		case err != nil && isFenced(err):
			return fmt.Errorf("another instance uses transactional id %q (each instance needs its own): %w", p.opts.TransactionalID, err)
		case err != nil:
			// The end of the transaction failed or went unanswered (a
			// timeout, a lost connection): whether it committed is unknown,
			// so neither storing nor forgetting the round is safe. Stop:
			// a restart fences this producer, and restores the state from
			// the changelogs and the offsets, which agree whatever the
			// outcome was.
			return fmt.Errorf("%w: %w", errTxnUnconfirmed, err)
		}
		committed = ok && err == nil
	} else {
		if err := p.cl.Flush(ctx); err != nil {
			return fmt.Errorf("waiting for acknowledgements: %w", err)
		}
		if box := p.roundErr.Load(); box != nil && !errors.Is(box.err, errUnprocessed) {
			return box.err
		}
		// A failed batch or flush: nothing of the round is stored and no
		// offset moves; the pipeline stops (Run returns the error), and
		// the restart restores the acknowledged changelog and reads the
		// round's input again.
		committed = !abort
	}
	p.m.commitDuration.Observe(time.Since(start).Seconds())
	if !committed {
		p.m.aborts.Inc()
	}
	// Store the state of a committed round (or forget an aborted one) in
	// every worker, in parallel. The round is durable already (its
	// changelog records are committed, or acknowledged at least once), so
	// the poll loop does not wait for the stores: the next round polls
	// while they write, and a worker's next job queues behind its store.
	// A crash before a store lands leaves Badger behind its changelog,
	// which the restore reads at the next start.
	var (
		last    []*kgo.Record
		waitFor []*worker
	)
	for w := range workers {
		kind := jobAbort
		if committed && !w.lost.Load() {
			kind = jobStore
			if w.last != nil {
				last = append(last, w.last)
			}
		}
		w.jobs <- job{kind: kind}
		if kind != jobStore {
			waitFor = append(waitFor, w)
		}
	}
	var first error
	for _, w := range waitFor {
		if err := <-w.results; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return errors.Join(flushErr, first)
	}
	if flushErr != nil {
		return flushErr
	}
	if committed {
		p.m.rounds.Inc()
		if p.sess == nil && len(last) > 0 {
			// At least once: the round's changelog records are acknowledged,
			// so its state survives a crash, and the offsets may move.
			if err := p.cl.CommitRecords(ctx, last...); err != nil {
				p.log.Warn("committing offsets; the records are read again and skipped as duplicates", "err", err)
			}
		}
	}
	return nil
}

// flushRound has every worker of the round emit what its stage gathered,
// in parallel.
func flushRound(workers map[*worker]struct{}) error {
	var flushing []*worker
	for w := range workers {
		if !w.lost.Load() {
			w.jobs <- job{kind: jobFlush}
			flushing = append(flushing, w)
		}
	}
	var first error
	for _, w := range flushing {
		if err := <-w.results; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// errTxnUnconfirmed stops the pipeline when a transaction's end is not
// confirmed by the broker.
var errTxnUnconfirmed = errors.New("the end of a transaction was not confirmed by the broker; stopping so that a restart restores the state from the changelogs and the committed offsets")

func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// fatal records the first fatal error and stops the poll loop, which may be
// blocked waiting for records that will never come.
func (p *Pipeline) fatal(err error) {
	select {
	case p.errc <- err:
	default:
	}
	if cancel := p.cancel.Load(); cancel != nil {
		(*cancel)()
	}
}

// assigned opens the new partitions. Their fetching is paused until their
// state has caught up with its changelog; the restorer resumes them.
func (p *Pipeline) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	<-p.clReady
	p.cl.PauseFetchPartitions(m)
	p.mu.Lock()
	var opened []*worker
	for topic, parts := range m {
		for _, part := range parts {
			k := tp{topic, part}
			if _, ok := p.workers[k]; ok {
				continue
			}
			w := p.newWorker(k)
			p.workers[k] = w
			w.start()
			opened = append(opened, w)
		}
	}
	p.m.assigned.Set(float64(len(p.workers)))
	p.mu.Unlock()
	p.joined.Store(true)
	for _, w := range opened {
		p.rs.restore(w)
	}
	p.rs.refreshStandbys()
	p.log.Debug("partitions assigned", "assigned", m)
}

// revoked runs between rounds (rounds end before AllowRebalance), so the
// partitions have no uncommitted work: stop their workers and restores.
func (p *Pipeline) revoked(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	<-p.clReady
	for _, w := range p.take(m) {
		w.stop()
		p.rs.cancel(w)
	}
	p.rs.refreshStandbys()
}

// lost runs when the partitions are already another member's (session
// expired): nothing of theirs may be committed. The transactional session
// aborts the open round; at least once, the round skips their offsets.
func (p *Pipeline) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	<-p.clReady
	for _, w := range p.take(m) {
		w.lost.Store(true)
		w.stop()
		p.rs.cancel(w)
	}
}

func (p *Pipeline) take(m map[string][]int32) []*worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ws []*worker
	for topic, parts := range m {
		for _, part := range parts {
			k := tp{topic, part}
			if w, ok := p.workers[k]; ok {
				ws = append(ws, w)
				delete(p.workers, k)
			}
		}
	}
	p.m.assigned.Set(float64(len(p.workers)))
	return ws
}

// fatalFetchErr turns the errors that retrying cannot fix (the principal
// lacks a permission, its credentials were rejected) into one that says
// what to grant or fix; nil for errors worth retrying.
func fatalFetchErr(topic, group string, err error) error {
	switch {
	case errors.Is(err, kerr.GroupAuthorizationFailed):
		return fmt.Errorf("not authorized to use consumer group %q: grant READ on the group to this principal: %w", group, err)
	case errors.Is(err, kerr.TopicAuthorizationFailed):
		if topic == "" {
			return fmt.Errorf("not authorized to read a subscribed topic: grant READ and DESCRIBE on the input and repartition topics: %w", err)
		}
		return fmt.Errorf("not authorized to read topic %q: grant READ and DESCRIBE on it: %w", topic, err)
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return fmt.Errorf("the broker rejected the credentials: %w", err)
	case errors.Is(err, kerr.ClusterAuthorizationFailed):
		return fmt.Errorf("not authorized for a cluster operation: %w", err)
	}
	// kgo reports a fetch position beyond the log (it then resets it): for
	// this pipeline that means records were lost or would be skipped.
	var loss *kgo.ErrDataLoss
	if errors.As(err, &loss) {
		return fmt.Errorf("data loss on %s/%d: the log no longer has offset %d (now at %d); stopping rather than skipping: %w",
			loss.Topic, loss.Partition, loss.ConsumedTo, loss.ResetTo, err)
	}
	return nil
}

// KafkaLogger adapts slog to kgo's logger, keeping the client quiet below
// warnings. The sinks use it too.
func KafkaLogger(l *slog.Logger) kgo.Logger { return kslog{l} }

// kslog adapts slog to kgo's logger, keeping the client quiet below warnings.
type kslog struct{ l *slog.Logger }

func (k kslog) Level() kgo.LogLevel { return kgo.LogLevelWarn }
func (k kslog) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	switch level {
	case kgo.LogLevelError:
		k.l.Error("kafka: "+msg, keyvals...)
	case kgo.LogLevelWarn:
		k.l.Warn("kafka: "+msg, keyvals...)
	default:
		k.l.Debug("kafka: "+msg, keyvals...)
	}
}
