package processor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/store"
)

// restorer brings partition state up to date with its changelog: for a
// newly assigned partition before it processes anything (restore), and
// for partitions other instances own when standbys are enabled (tailing,
// so that a failover restores only the tail).
//
// Badger holds, with every write, the changelog offset it reflects; it can
// be behind the changelog (a crash between a transaction's commit and the
// store write, a standby that lagged, an empty disk) but never ahead. A
// restore reads from that checkpoint to the changelog's last stable offset,
// so a warm disk reads only what it missed and an empty one reads all.
type restorer struct {
	p   *Pipeline
	cl  *kgo.Client // direct consumer of changelog partitions
	adm *kadm.Client

	ctx  context.Context // ends at close
	stop context.CancelFunc
	wg   sync.WaitGroup // begin goroutines and the standby loop

	mu       sync.Mutex
	tasks    map[tp]*restoreTask // by changelog topic and partition
	ensured  map[string]bool     // changelog topics known to exist
	standbyC chan struct{}       // capacity 1: asks the standby loop to refresh
}

type restoreTask struct {
	w        *worker // nil for a standby
	key      tp      // changelog topic and partition
	src      tp      // the partition whose state it is
	part     *store.Partition
	target   int64 // done once next reaches it; unused for standbys
	next     int64 // next changelog offset to apply
	from     int64
	started  time.Time
	restored int64
}

func newRestorer(p *Pipeline) (*restorer, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(p.opts.Brokers...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (transaction markers) take offsets too: seeing
		// them is how a restore knows it reached the last stable offset
		// when the log ends with a marker.
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(250 * time.Millisecond),
		// Admin calls go through this client too; changelogs it just created
		// must be visible at once, not after kgo's default 5 s metadata age.
		kgo.MetadataMinAge(100 * time.Millisecond),
		kgo.WithLogger(kslog{p.log}),
	}
	opts = append(opts, p.clientMetrics("restore")...)
	opts = append(opts, p.opts.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the changelog consumer: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	return &restorer{
		p: p, cl: cl, adm: kadm.NewClient(cl),
		ctx: ctx, stop: stop,
		tasks:    map[tp]*restoreTask{},
		ensured:  map[string]bool{},
		standbyC: make(chan struct{}, 1),
	}, nil
}

// run applies changelog records until ctx ends. It is the only writer of
// a restoring or standby partition's store namespace.
func (r *restorer) run(ctx context.Context) {
	if r.p.opts.Standbys > 0 {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.standbyLoop(ctx)
		}()
	}
	for {
		fetches := r.cl.PollRecords(ctx, 10000)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			if ferr := fatalFetchErr(topic, r.p.dict.Pipeline.Group, err); ferr != nil {
				r.p.fatal(ferr)
				return
			}
			r.p.log.Warn("changelog fetch error", "topic", topic, "partition", partition, "err", err)
		})
		fetches.EachPartition(func(f kgo.FetchTopicPartition) {
			if err := r.apply(f); err != nil {
				r.p.fatal(err)
			}
		})
	}
}

func (r *restorer) close() {
	r.stop()
	r.wg.Wait()
	r.cl.Close()
}

// restore starts bringing w's state up to date; w's fetching stays paused
// until it is.
func (r *restorer) restore(w *worker) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := r.begin(w); err != nil && w.ctx.Err() == nil && r.ctx.Err() == nil {
			r.p.fatal(fmt.Errorf("restoring partition %s/%d: %w", w.tp.topic, w.tp.partition, err))
		}
	}()
}

func (r *restorer) begin(w *worker) error {
	ctx, cancel := mergeCancel(r.ctx, w.ctx)
	defer cancel()
	started := time.Now()
	key := tp{w.changelog, w.tp.partition}
	if err := r.ensureChangelog(ctx, w); err != nil {
		return err
	}
	if err := r.checkInput(ctx, w); err != nil {
		return err
	}
	checkpoint, err := w.part.Offset()
	if errors.Is(err, store.ErrCorrupt) {
		r.p.log.Warn("the stored state of a partition is corrupt; rebuilding it from its changelog",
			"topic", w.tp.topic, "partition", w.tp.partition, "err", err)
		if err := w.part.Drop(); err != nil {
			return err
		}
		checkpoint, err = -1, nil
	}
	if err != nil {
		return fmt.Errorf("reading the state checkpoint: %w", err)
	}
	end, err := r.stableEnd(ctx, key)
	if err != nil {
		return err
	}
	if checkpoint >= end {
		return fmt.Errorf("the state store reflects changelog %s/%d up to offset %d but the changelog ends at %d: "+
			"the changelog was re-created or the broker lost its log. Move the data directory aside to rebuild the state "+
			"from what Kafka holds, or restore the broker's log", key.topic, key.partition, checkpoint, end)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.ctx.Err() != nil {
		return nil // revoked meanwhile
	}
	if t := r.tasks[key]; t != nil {
		// A standby becomes the owner: it continues from where it is.
		t.w, t.target, t.started, t.from = w, end, started, t.next
		r.p.m.standbys.Dec()
		if t.next >= end {
			r.finishLocked(t)
		} else {
			r.p.m.restoring.Inc()
		}
		return nil
	}
	if checkpoint+1 >= end {
		r.activate(w, 0, started, checkpoint+1)
		return nil
	}
	t := &restoreTask{w: w, key: key, src: w.tp, part: w.part, target: end, next: checkpoint + 1, from: checkpoint + 1, started: started}
	r.tasks[key] = t
	r.p.m.restoring.Inc()
	r.p.log.Info("restoring partition state from its changelog",
		"topic", w.tp.topic, "partition", w.tp.partition, "changelog", key.topic,
		"from_offset", t.next, "to_offset", end, "cold", checkpoint < 0)
	r.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{key.topic: {key.partition: kgo.NewOffset().At(t.next)}})
	return nil
}

// apply stores one fetch of changelog records for its task.
func (r *restorer) apply(f kgo.FetchTopicPartition) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tasks[tp{f.Topic, f.Partition}]
	if t == nil {
		return nil // cancelled; kgo drops what it buffered for it
	}
	var (
		b    store.Batch
		last int64 = -1
		n    int64
	)
	for _, rec := range f.Records {
		if rec.Offset < t.next {
			continue
		}
		last = rec.Offset
		if rec.Attrs.IsControl() || len(rec.Key) == 0 {
			continue
		}
		if rec.Value == nil {
			b.Delete(rec.Key[0], rec.Key[1:])
		} else {
			b.Set(rec.Key[0], rec.Key[1:], rec.Value)
		}
		n++
	}
	if last < 0 {
		return nil
	}
	if err := t.part.CommitAll(&b, last); err != nil {
		return fmt.Errorf("storing changelog %s/%d up to offset %d: %w", t.key.topic, t.key.partition, last, err)
	}
	t.next, t.restored = last+1, t.restored+n
	r.p.m.restored.WithLabelValues(t.key.topic).Add(float64(n))
	if t.w != nil && t.next >= t.target {
		r.finishLocked(t)
	}
	return nil
}

func (r *restorer) finishLocked(t *restoreTask) {
	delete(r.tasks, t.key)
	r.cl.RemoveConsumePartitions(map[string][]int32{t.key.topic: {t.key.partition}})
	r.p.m.restoring.Dec()
	r.activate(t.w, t.restored, t.started, t.from)
}

// remaining is how many changelog offsets the restoring partitions (not
// the standbys, which never finish) still have to read.
func (r *restorer) remaining() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, t := range r.tasks {
		if t.w != nil {
			n += max(0, t.target-t.next)
		}
	}
	return float64(n)
}

// activate lets the worker process: its state is current.
func (r *restorer) activate(w *worker, restored int64, started time.Time, from int64) {
	if w.ctx.Err() != nil {
		return
	}
	w.active.Store(true)
	r.p.cl.ResumeFetchPartitions(map[string][]int32{w.tp.topic: {w.tp.partition}})
	d := time.Since(started)
	r.p.m.restoreSeconds.Observe(d.Seconds())
	lvl := r.p.log.Debug
	if restored > 0 {
		lvl = r.p.log.Info
	}
	lvl("partition ready", "topic", w.tp.topic, "partition", w.tp.partition,
		"restored_records", restored, "from_offset", from, "took", d.Round(time.Millisecond))
}

// cancel stops restoring (or tailing) w's partition; what was restored
// stays stored with its checkpoint, so a later restore continues from it.
func (r *restorer) cancel(w *worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := tp{w.changelog, w.tp.partition}
	if t := r.tasks[key]; t != nil && t.w == w {
		delete(r.tasks, key)
		r.cl.RemoveConsumePartitions(map[string][]int32{key.topic: {key.partition}})
		r.p.m.restoring.Dec()
	}
}

// checkInput refuses a partition whose committed position is no longer in
// its log: retention deleted records before they were processed, and
// resuming would skip them without a trace. Stopping with an explanation is
// the only safe answer. When the offsets cannot be read the check fails
// closed too.
func (r *restorer) checkInput(ctx context.Context, w *worker) error {
	group := r.p.dict.Pipeline.Group
	var err error
	for attempt := range 8 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
			}
		}
		var (
			committed kadm.OffsetResponses
			starts    kadm.ListedOffsets
		)
		// An open transaction of a crashed owner makes the committed offset
		// unstable until the broker aborts it: retry.
		if committed, err = r.adm.FetchOffsets(ctx, group); err != nil {
			continue
		}
		if starts, err = r.adm.ListStartOffsets(ctx, w.tp.topic); err != nil {
			continue
		}
		start, ok := starts.Lookup(w.tp.topic, w.tp.partition)
		if !ok || start.Err != nil {
			err = fmt.Errorf("no start offset for %s/%d: %w", w.tp.topic, w.tp.partition, start.Err)
			continue
		}
		c, has := committed.Lookup(w.tp.topic, w.tp.partition)
		if has && c.Err != nil {
			err = c.Err
			continue
		}
		switch {
		case has && c.At >= 0 && c.At < start.Offset:
			return fmt.Errorf("partition %s/%d: the group's next offset is %d but the log now starts at %d: "+
				"retention deleted records before they were processed; their changes are lost to this pipeline. "+
				"Lengthen the topic's retention; to go on without them, reset the group's offsets for the partition",
				w.tp.topic, w.tp.partition, c.At, start.Offset)
		case (!has || c.At < 0) && w.tp.topic == r.p.repart && start.Offset > 0:
			return fmt.Errorf("partition %s/%d: nothing was committed yet but the repartition topic no longer starts at 0 (it starts at %d): "+
				"facts were deleted before they were merged; keep its retention unlimited (retention.ms=-1)",
				w.tp.topic, w.tp.partition, start.Offset)
		}
		return nil
	}
	return fmt.Errorf("cannot verify that partition %s/%d's log still holds its committed position: %w",
		w.tp.topic, w.tp.partition, err)
}

// stableEnd is the changelog partition's last stable offset: everything
// below it is committed or aborted; an open transaction of a crashed owner
// starts at it and will be aborted.
func (r *restorer) stableEnd(ctx context.Context, key tp) (int64, error) {
	var err error
	for attempt := range 6 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		var offs kadm.ListedOffsets
		if offs, err = r.adm.ListCommittedOffsets(ctx, key.topic); err == nil {
			o, ok := offs.Lookup(key.topic, key.partition)
			switch {
			case !ok:
				err = fmt.Errorf("changelog %s has no partition %d", key.topic, key.partition)
			case o.Err != nil:
				err = o.Err
			default:
				return o.Offset, nil
			}
		}
	}
	return 0, fmt.Errorf("reading the end of changelog %s/%d: %w", key.topic, key.partition, err)
}

// ensureChangelog creates w's changelog topic when it is missing, with at
// least as many partitions as the topic it mirrors (input topics may be
// created or grow after the pipeline started).
func (r *restorer) ensureChangelog(ctx context.Context, w *worker) error {
	r.mu.Lock()
	known := r.ensured[w.changelog]
	r.mu.Unlock()
	if known {
		return nil
	}
	topics, err := r.adm.ListTopics(ctx, w.tp.topic, w.changelog)
	if err != nil {
		return fmt.Errorf("describing %s and its changelog: %w", w.tp.topic, err)
	}
	src, ok := topics[w.tp.topic]
	if !ok || src.Err != nil {
		return fmt.Errorf("describing %s: %w", w.tp.topic, src.Err)
	}
	want := int32(len(src.Partitions))
	cl, exists := topics[w.changelog]
	switch {
	case !exists || errors.Is(cl.Err, kerr.UnknownTopicOrPartition):
		resp, err := r.adm.CreateTopic(ctx, want, -1, changelogConfigs(), w.changelog)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating changelog %s: %w", w.changelog, err)
		}
	case cl.Err != nil:
		return fmt.Errorf("describing changelog %s: %w", w.changelog, cl.Err)
	case int32(len(cl.Partitions)) < want:
		if _, err := r.adm.UpdatePartitions(ctx, int(want), w.changelog); err != nil {
			return fmt.Errorf("growing changelog %s to %d partitions: %w", w.changelog, want, err)
		}
	}
	r.mu.Lock()
	r.ensured[w.changelog] = true
	r.mu.Unlock()
	return nil
}

// changelogConfigs: compacted, so the topic holds the latest value of every
// key and a restore reads the state, not its history.
func changelogConfigs() map[string]*string {
	return map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
}

// ---- standbys ----

func (r *restorer) refreshStandbys() {
	if r.p.opts.Standbys <= 0 {
		return
	}
	select {
	case r.standbyC <- struct{}{}:
	default:
	}
}

// standbyLoop recomputes which partitions this instance keeps warm: after
// its own assignment changes, and periodically, because other members'
// assignments change without callbacks here.
func (r *restorer) standbyLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.standbyC:
		}
		if err := r.updateStandbys(ctx); err != nil && ctx.Err() == nil {
			r.p.log.Debug("updating standby partitions", "err", err)
		}
	}
}

// updateStandbys picks, for every partition another member owns, the next
// Standbys members after the owner (members sorted by id) as its standbys,
// and tails the changelogs of the ones that fall to this instance.
func (r *restorer) updateStandbys(ctx context.Context) error {
	group := r.p.dict.Pipeline.Group
	me, _ := r.p.cl.GroupMetadata()
	if me == "" {
		return nil
	}
	described, err := r.adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("describing group: %w", err)
	}
	g, ok := described[group]
	if !ok || g.Err != nil {
		return fmt.Errorf("describing group: %w", g.Err)
	}
	ids := make([]string, 0, len(g.Members))
	owned := map[string][]tp{}
	for _, m := range g.Members {
		ids = append(ids, m.MemberID)
		if ca, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range ca.Topics {
				for _, part := range t.Partitions {
					owned[m.MemberID] = append(owned[m.MemberID], tp{t.Topic, part})
				}
			}
		}
	}
	slices.Sort(ids)
	myIdx := slices.Index(ids, me)
	if myIdx < 0 {
		return nil
	}
	want := map[tp]bool{}
	for i, id := range ids {
		if id == me {
			continue
		}
		for k := 1; k <= r.p.opts.Standbys && k < len(ids); k++ {
			if (i+k)%len(ids) == myIdx {
				for _, t := range owned[id] {
					want[t] = true
				}
			}
		}
	}
	r.p.mu.Lock()
	for k := range r.p.workers {
		delete(want, k)
	}
	r.p.mu.Unlock()
	// Only changelogs that exist: their owner creates them.
	names := map[string]bool{}
	for src := range want {
		names[r.p.changelogOf(src.topic)] = true
	}
	existing, err := r.adm.ListTopics(ctx, slices.Collect(maps.Keys(names))...)
	if err != nil {
		return fmt.Errorf("listing changelogs: %w", err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	// Drop standbys no longer wanted (their state stays, checkpointed).
	for key, t := range r.tasks {
		if t.w == nil && !want[t.src] {
			delete(r.tasks, key)
			r.cl.RemoveConsumePartitions(map[string][]int32{key.topic: {key.partition}})
			r.p.m.standbys.Dec()
		}
	}
	for src := range want {
		key := tp{r.p.changelogOf(src.topic), src.partition}
		if _, ok := r.tasks[key]; ok {
			continue
		}
		if d, ok := existing[key.topic]; !ok || d.Err != nil || int(key.partition) >= len(d.Partitions) {
			continue
		}
		part := r.p.partitionStore(src)
		checkpoint, err := part.Offset()
		if err != nil {
			continue
		}
		r.tasks[key] = &restoreTask{key: key, src: src, part: part, next: checkpoint + 1, from: checkpoint + 1}
		r.p.m.standbys.Inc()
		r.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{key.topic: {key.partition: kgo.NewOffset().At(checkpoint + 1)}})
	}
	return nil
}

// mergeCancel returns a context that ends when either parent ends.
func mergeCancel(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}
