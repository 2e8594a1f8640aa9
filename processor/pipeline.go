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

	"github.com/twmb/franz-go/pkg/kadm"
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
	mapper *ingest.Mapper
	merger *merge.Merger
	repart string
	cl     *kgo.Client
	// clReady is closed once cl is set. kgo starts joining the group inside
	// NewClient, so a rebalance callback can run before New has stored the
	// client; the callbacks wait on this before touching p.cl (or starting
	// workers that use it).
	clReady chan struct{}
	errc    chan error // first fatal worker error
	// cancel stops Run's poll loop; atomic because fatal runs both inside
	// and outside p.mu (the rebalance callbacks hold it).
	cancel  atomic.Pointer[context.CancelFunc]
	dlLog   logLimiter
	ready   atomic.Bool
	running atomic.Bool

	// workers is touched only by the rebalance callbacks and Run, which kgo
	// serializes with polling because of BlockRebalanceOnPoll.
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
		mapper:  ingest.NewMapper(d),
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
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.BlockRebalanceOnPoll(),
		kgo.AutoCommitMarks(),
		// The store's offset is the truth for what was applied; the group
		// commit only saves re-reading, so commit it often.
		kgo.AutoCommitInterval(time.Second),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Kafka's default partitioner (murmur2 of the key), so that facts and
		// profiles land where a Java client would put the same key.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.AdjustFetchOffsetsFn(p.startOffsets),
		kgo.OnPartitionsAssigned(p.assigned),
		kgo.OnPartitionsRevoked(p.revoked),
		kgo.OnPartitionsLost(p.lost),
		kgo.WithLogger(kslog{p.log}),
	}
	kopts = append(kopts, opts.ClientOpts...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("creating kafka client: %w", err)
	}
	p.cl = cl
	close(p.clReady)
	return p, nil
}

// Ready reports whether the instance has joined the group and every assigned
// partition has opened its state.
func (p *Pipeline) Ready() bool { return p.ready.Load() }

// Client returns the pipeline's Kafka client (for admin calls that should
// share its connection settings).
func (p *Pipeline) Client() *kgo.Client { return p.cl }

// Run consumes until ctx is done or a worker fails, then drains: workers
// finish their in-flight batch, marked offsets are committed and the client
// leaves the group. It returns nil after a clean shutdown.
func (p *Pipeline) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("pipeline already ran")
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.cancel.Store(&cancel)
	var runErr error
	for {
		fetches := p.cl.PollRecords(runCtx, p.opts.BatchRecords*4)
		if fetches.IsClientClosed() {
			break
		}
		// From here until AllowRebalance no rebalance can take partitions
		// away. The shutdown below relies on it: it drains the workers and
		// commits their marks while the partitions are still ours, so that
		// nothing is marked for a partition another member already reads.
		if err := runCtx.Err(); err != nil {
			select {
			case runErr = <-p.errc:
			default:
			}
			break
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			if ferr := fatalFetchErr(topic, p.dict.Pipeline.Group, err); ferr != nil {
				p.fatal(ferr)
				return
			}
			p.log.Warn("fetch error", "topic", topic, "partition", partition, "err", err)
		})
		p.mu.Lock()
		fetches.EachPartition(func(f kgo.FetchTopicPartition) {
			if len(f.Records) == 0 {
				return
			}
			w := p.workers[tp{f.Topic, f.Partition}]
			if w == nil {
				// Not ours (any more): nothing was marked, the owner re-reads.
				return
			}
			w.push(f.Records)
		})
		p.mu.Unlock()
		select {
		case runErr = <-p.errc:
			cancel()
		default:
		}
		if runErr != nil {
			break
		}
		p.cl.AllowRebalance()
	}
	p.ready.Store(false)
	// Stop every worker; each finishes its in-flight batch (or gives up on a
	// fatal error) and marks what it committed.
	p.mu.Lock()
	all := make([]*worker, 0, len(p.workers))
	for k, w := range p.workers {
		all = append(all, w)
		delete(p.workers, k)
	}
	p.mu.Unlock()
	stopAll(all, true)
	drainCtx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.DrainTimeout)
	defer dcancel()
	if err := p.cl.CommitMarkedOffsets(drainCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("committing offsets on shutdown: %w", err)
	}
	p.cl.CloseAllowingRebalance()
	if runErr == nil {
		select {
		case runErr = <-p.errc:
		default:
		}
	}
	return runErr
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

func (p *Pipeline) assigned(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
	<-p.clReady
	p.mu.Lock()
	defer p.mu.Unlock()
	var opened []*worker
	for topic, parts := range m {
		for _, part := range parts {
			k := tp{topic, part}
			if _, ok := p.workers[k]; ok {
				continue
			}
			w, err := p.newWorker(k)
			if err != nil {
				p.fatal(fmt.Errorf("opening partition %s/%d: %w", topic, part, err))
				continue
			}
			opened = append(opened, w)
		}
	}
	if err := p.checkLogs(ctx, opened); err != nil {
		p.fatal(err)
		return
	}
	for _, w := range opened {
		p.workers[w.tp] = w
		w.start()
	}
	p.m.assigned.Set(float64(len(p.workers)))
	p.ready.Store(true)
	p.log.Debug("partitions assigned", "assigned", m, "total", len(p.workers))
}

// startOffsets makes the store, not the group's committed offsets, decide
// where each assigned partition resumes: right after the last record the
// store applied, or at the start of the log when the store has nothing (a
// new or deleted data directory). The group's commit can be ahead of the
// store (a crash between the two writes, a lost disk) and would then skip
// records the state never saw; it can also be behind, which only costs
// re-reading what the store then skips.
func (p *Pipeline) startOffsets(_ context.Context, m map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	for topic, parts := range m {
		for part := range parts {
			applied, err := p.partitionStore(tp{topic, part}).Offset()
			if err != nil {
				return nil, fmt.Errorf("reading the stored offset of %s/%d: %w", topic, part, err)
			}
			if applied < 0 {
				parts[part] = kgo.NewOffset().AtStart()
			} else {
				parts[part] = kgo.NewOffset().At(applied + 1).WithEpoch(-1)
			}
		}
	}
	return m, nil
}

// checkLogs refuses partitions whose log cannot continue their stored
// state:
//
//   - the store has applied offsets beyond the end of the log: the topic was
//     re-created or the broker lost its log, and new records would reuse
//     offsets the store counts as applied and be skipped without a trace;
//   - the log starts after the next offset the store needs: retention
//     deleted records before they were processed (or, for an empty store,
//     the repartition topic no longer holds every fact).
//
// Stopping with an explanation is the only safe answer to both. When the
// offsets cannot be read after a few tries the check fails closed too.
func (p *Pipeline) checkLogs(ctx context.Context, ws []*worker) error {
	topics := map[string]bool{}
	for _, w := range ws {
		topics[w.tp.topic] = true
	}
	if len(topics) == 0 {
		return nil
	}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	adm := kadm.NewClient(p.cl)
	var (
		starts, ends kadm.ListedOffsets
		err          error
	)
	for attempt := range 5 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("checking the logs of the assigned partitions: %w", ctx.Err())
			case <-time.After(time.Duration(attempt) * 300 * time.Millisecond):
			}
		}
		if starts, err = adm.ListStartOffsets(ctx, names...); err == nil {
			err = starts.Error()
		}
		if err == nil {
			if ends, err = adm.ListEndOffsets(ctx, names...); err == nil {
				err = ends.Error()
			}
		}
		if err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("cannot verify that the assigned partitions' logs match their stored state: %w", err)
	}
	var errs []error
	for _, w := range ws {
		start, _ := starts.Lookup(w.tp.topic, w.tp.partition)
		end, _ := ends.Lookup(w.tp.topic, w.tp.partition)
		switch {
		case w.applied >= 0 && w.applied >= end.Offset:
			errs = append(errs, fmt.Errorf("partition %s/%d: the state store has applied offsets up to %d but the log ends at %d: "+
				"the topic was re-created or the broker lost its log; move the data directory aside so the state is rebuilt from the topics, or restore the log",
				w.tp.topic, w.tp.partition, w.applied, end.Offset))
		case w.applied >= 0 && w.applied+1 < start.Offset:
			errs = append(errs, fmt.Errorf("partition %s/%d: the state store needs offset %d next but the log now starts at %d: "+
				"retention deleted records before they were processed; their changes are lost to this pipeline. "+
				"Move the data directory aside to rebuild from what the topics still hold, and lengthen the topic's retention",
				w.tp.topic, w.tp.partition, w.applied+1, start.Offset))
		case w.applied < 0 && w.tp.topic == p.repart && start.Offset > 0:
			errs = append(errs, fmt.Errorf("partition %s/%d: the state store is empty and the repartition topic no longer starts at 0 (it starts at %d): "+
				"the merge state cannot be rebuilt from it; keep its retention unlimited (retention.ms=-1)",
				w.tp.topic, w.tp.partition, start.Offset))
		}
	}
	return errors.Join(errs...)
}

// revoked runs before the partitions go to another member: finish the
// in-flight batches, then commit what they marked. Returning from this
// callback releases the partitions, so nothing may be marked afterwards;
// stop() returns only once the worker has exited.
func (p *Pipeline) revoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	<-p.clReady
	ws := p.take(m)
	stopAll(ws, true)
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		p.log.Warn("committing offsets of revoked partitions", "err", err)
	}
}

// lost runs when the partitions are already gone (session expired): stop
// without marking; another member owns them now.
func (p *Pipeline) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	<-p.clReady
	stopAll(p.take(m), false)
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

func stopAll(ws []*worker, drain bool) {
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.stop(drain)
		}()
	}
	wg.Wait()
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
