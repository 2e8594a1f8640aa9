package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/schemas/dictionary"
)

// DefaultDLQTopic is where updates an ESP rejected for good go.
const DefaultDLQTopic = "profiled.sink.dlq"

// The headers of a dead letter on the sink dead-letter topic. The value is
// the profile record as it was on the profiles topic (nil for a delete).
const (
	HeaderSink            = "profiled.sink"
	HeaderError           = "profiled.error"
	HeaderProfileID       = "profiled.profile_id"
	HeaderVersion         = "profiled.version"
	HeaderSourceTopic     = "profiled.source.topic"
	HeaderSourcePartition = "profiled.source.partition"
	HeaderSourceOffset    = "profiled.source.offset"
)

// GroupOf is the consumer group of a connector: <pipeline.group>.sink.<name>.
func GroupOf(d *dictionary.File, name string) string { return d.Pipeline.Group + ".sink." + name }

// Options configures a Sink.
type Options struct {
	// Config is the connector's section of the configuration. Required.
	Config *dictionary.Sink
	// Dictionary gives the consumer group prefix and the profiles topic.
	// Required.
	Dictionary *dictionary.File
	// Brokers are the seed brokers. Required.
	Brokers []string
	// Adapter talks to the ESP. Required.
	Adapter Adapter
	// Client is the HTTP client the adapter uses; the sink shares its
	// metrics. Required.
	Client *Client
	// Logger; nil discards. Logs carry profile ids, never attribute values.
	Logger *slog.Logger
	// ClientOpts are appended to the Kafka client's options (TLS, SASL, test
	// tuning such as faster heartbeats).
	ClientOpts []kgo.Opt
	// DLQTopic; "" means DefaultDLQTopic. It is created when missing.
	DLQTopic string
	// QueueBytes is the per-partition backlog above which fetching the
	// partition pauses. Zero means 8 MiB.
	QueueBytes int
	// DrainTimeout bounds how long a revoked partition (or a stopping sink)
	// may take to finish its in-flight batch before abandoning it
	// (uncommitted, so the next owner sends it again). Zero means 30 s.
	DrainTimeout time.Duration
	// PollRecords bounds the records of one poll. Zero means 5000.
	PollRecords int
	// WindowRequests is how many requests' worth of profiles one batch may
	// fold together (the adapter splits it into requests): a backlog is
	// coalesced over this window, so that a profile updated many times in
	// it is sent once. Zero means 4.
	WindowRequests int
}

func (o *Options) validate() error {
	var errs []error
	if o.Config == nil {
		errs = append(errs, errors.New("no connector configuration"))
	}
	if o.Dictionary == nil {
		errs = append(errs, errors.New("no dictionary"))
	}
	if len(o.Brokers) == 0 {
		errs = append(errs, errors.New("no brokers"))
	}
	if o.Adapter == nil {
		errs = append(errs, errors.New("no adapter"))
	}
	if o.Client == nil {
		errs = append(errs, errors.New("no client"))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DLQTopic == "" {
		o.DLQTopic = DefaultDLQTopic
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 8 << 20
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.PollRecords <= 0 {
		o.PollRecords = 5000
	}
	if o.WindowRequests <= 0 {
		o.WindowRequests = 4
	}
	return errors.Join(errs...)
}

// Sink is one instance of a connector: a member of the connector's consumer
// group on the profiles topic.
type Sink struct {
	opts    Options
	cfg     *dictionary.Sink
	log     *slog.Logger
	m       *metrics
	mapping *Mapping
	limits  Limits
	topic   string
	cl      *kgo.Client
	clReady chan struct{}
	errc    chan error
	cancel  atomic.Pointer[context.CancelFunc]
	ready   atomic.Bool
	running atomic.Bool

	mu      sync.Mutex
	workers map[int32]*worker
}

// New validates the options and builds the Kafka client; nothing runs
// until Run.
func New(opts Options) (*Sink, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("invalid sink options: %w", err)
	}
	// A batch folds a window of several requests, and at least 2000
	// profiles even where the ESP's requests are small (Braze: 75).
	lim := opts.Adapter.Limits()
	lim.MaxItems = max(lim.MaxItems*opts.WindowRequests, 2000)
	lim.MaxBytes = max(lim.MaxBytes*opts.WindowRequests, 8<<20)
	s := &Sink{
		opts:    opts,
		cfg:     opts.Config,
		log:     opts.Logger.With("connector", opts.Config.Name),
		m:       opts.Client.m,
		mapping: NewMapping(opts.Config),
		limits:  lim,
		topic:   opts.Dictionary.Pipeline.ProfilesTopic,
		clReady: make(chan struct{}),
		errc:    make(chan error, 1),
		workers: map[int32]*worker{},
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ConsumerGroup(GroupOf(opts.Dictionary, opts.Config.Name)),
		kgo.ConsumeTopics(s.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.BlockRebalanceOnPoll(),
		// Offsets are committed by the partition workers, each after its
		// batch was acknowledged: never by a timer.
		kgo.DisableAutoCommit(),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
		kgo.WithLogger(processor.KafkaLogger(s.log)),
	}
	kopts = append(kopts, opts.ClientOpts...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("creating kafka client: %w", err)
	}
	s.cl = cl
	close(s.clReady)
	return s, nil
}

// Client returns the Kafka client (for admin calls that share its settings).
func (s *Sink) Client() *kgo.Client { return s.cl }

// Ready reports whether the sink has joined its group.
func (s *Sink) Ready() bool { return s.ready.Load() }

// Run consumes until ctx ends or a fatal error, then drains: workers finish
// their in-flight batch and commit it, and the client leaves the group. It
// returns nil after a clean shutdown.
func (s *Sink) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("sink already ran")
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.cancel.Store(&cancel)
	if err := s.ensureDLQ(runCtx); err != nil {
		s.cl.Close()
		return err
	}
	s.log.Info("sink starting", "type", s.cfg.Type, "group", GroupOf(s.opts.Dictionary, s.cfg.Name),
		"max_items", s.limits.MaxItems, "max_bytes", s.limits.MaxBytes)
	var runErr error
	for {
		fetches := s.cl.PollRecords(runCtx, s.opts.PollRecords)
		if fetches.IsClientClosed() {
			break
		}
		// Until AllowRebalance no partition can be taken away: the drain
		// below commits while the partitions are still ours.
		if runCtx.Err() != nil {
			break
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			if fatalKafka(err) {
				s.fatal(fmt.Errorf("reading %s/%d: %w", topic, partition, err))
				return
			}
			s.log.Warn("fetch error", "topic", topic, "partition", partition, "err", err)
		})
		s.mu.Lock()
		fetches.EachPartition(func(f kgo.FetchTopicPartition) {
			if len(f.Records) == 0 {
				return
			}
			if w := s.workers[f.Partition]; w != nil {
				w.push(f.Records)
			}
		})
		s.mu.Unlock()
		s.cl.AllowRebalance()
	}
	s.ready.Store(false)
	s.mu.Lock()
	all := make([]*worker, 0, len(s.workers))
	for p, w := range s.workers {
		all = append(all, w)
		delete(s.workers, p)
	}
	s.mu.Unlock()
	s.stopAll(all, true)
	s.cl.CloseAllowingRebalance()
	select {
	case runErr = <-s.errc:
	default:
	}
	s.log.Info("sink stopped", "err", runErr)
	return runErr
}

// fatal records the first fatal error and stops the poll loop.
func (s *Sink) fatal(err error) {
	select {
	case s.errc <- err:
	default:
	}
	if c := s.cancel.Load(); c != nil {
		(*c)()
	}
}

func fatalKafka(err error) bool {
	return errors.Is(err, kerr.GroupAuthorizationFailed) || errors.Is(err, kerr.TopicAuthorizationFailed) ||
		errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed)
}

// ensureDLQ creates the dead-letter topic when it is missing, with the
// pipeline's partition count.
func (s *Sink) ensureDLQ(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(s.cl)
	topics, err := adm.ListTopics(cctx, s.opts.DLQTopic)
	if err != nil {
		return fmt.Errorf("listing topic %q: %w", s.opts.DLQTopic, err)
	}
	if d, ok := topics[s.opts.DLQTopic]; ok && d.Err == nil {
		return nil
	}
	resp, err := adm.CreateTopic(cctx, int32(s.opts.Dictionary.Pipeline.Partitions), -1, nil, s.opts.DLQTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating topic %q: %w", s.opts.DLQTopic, err)
	}
	return nil
}

func (s *Sink) assigned(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
	<-s.clReady
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range m[s.topic] {
		if _, ok := s.workers[p]; ok {
			continue
		}
		w := newWorker(context.WithoutCancel(ctx), s, p)
		s.workers[p] = w
		go w.run()
	}
	s.m.assigned.Set(float64(len(s.workers)))
	s.ready.Store(true)
	s.log.Debug("partitions assigned", "assigned", m[s.topic], "total", len(s.workers))
}

// revoked runs before the partitions go to another member: each worker
// finishes its in-flight batch and commits it (within DrainTimeout), and
// nothing is committed for them after this returns.
func (s *Sink) revoked(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	<-s.clReady
	s.stopAll(s.take(m[s.topic]), true)
}

// lost runs when the partitions already belong to another member: abandon
// the in-flight batches without committing.
func (s *Sink) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	<-s.clReady
	s.stopAll(s.take(m[s.topic]), false)
}

func (s *Sink) take(parts []int32) []*worker {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ws []*worker
	for _, p := range parts {
		if w, ok := s.workers[p]; ok {
			ws = append(ws, w)
			delete(s.workers, p)
		}
	}
	s.m.assigned.Set(float64(len(s.workers)))
	return ws
}

func (s *Sink) stopAll(ws []*worker, drain bool) {
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { w.stop(drain, s.opts.DrainTimeout) })
	}
	wg.Wait()
}

// deadLetter writes failures to the dead-letter topic and waits for the
// broker's acknowledgement.
func (s *Sink) deadLetter(ctx context.Context, fails []Failure) error {
	if len(fails) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(fails))
	for i, f := range fails {
		o := f.Change.Origin
		reason := f.Reason
		if len(reason) > 8<<10 {
			reason = reason[:8<<10]
		}
		recs[i] = &kgo.Record{
			Topic: s.opts.DLQTopic,
			Key:   o.Key,
			Value: o.Value,
			Headers: []kgo.RecordHeader{
				{Key: HeaderSink, Value: []byte(s.cfg.Name)},
				{Key: HeaderError, Value: []byte(reason)},
				{Key: HeaderProfileID, Value: []byte(f.Change.ProfileID)},
				{Key: HeaderVersion, Value: []byte(strconv.FormatUint(f.Change.Version, 10))},
				{Key: HeaderSourceTopic, Value: []byte(o.Topic)},
				{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(int(o.Partition)))},
				{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(o.Offset, 10))},
			},
		}
	}
	if err := s.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("writing %d dead letter(s) to %s: %w", len(recs), s.opts.DLQTopic, err)
	}
	s.m.deadLetters.Add(float64(len(recs)))
	for _, f := range fails {
		// The reason may quote personal data (an email); the log does not.
		s.log.Debug("dead letter", "profile_id", f.Change.ProfileID, "partition", f.Change.Origin.Partition,
			"offset", f.Change.Origin.Offset)
	}
	return nil
}
