package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor/scenario"
)

// newClient returns a plain client of the broker at addr, once the broker
// answers (it was just started as a subprocess).
func newClient(ctx context.Context, addr string, opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err = cl.Ping(ctx)
		if err == nil {
			return cl, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			cl.Close()
			return nil, fmt.Errorf("broker at %s does not answer: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// produceLoad streams a generated load to the broker as fast as it takes
// it, partitioned like Kafka Connect (murmur2 of the key).
func produceLoad(ctx context.Context, cl *kgo.Client, cfg scenario.LoadConfig) (scenario.LoadStats, error) {
	var (
		mu   sync.Mutex
		perr error
	)
	st, err := scenario.Load(cfg, func(r scenario.LoadRecord) error {
		cl.Produce(ctx, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				perr = errors.Join(perr, err)
				mu.Unlock()
			}
		})
		return ctx.Err()
	})
	if err != nil {
		return st, fmt.Errorf("generating load: %w", err)
	}
	if err := cl.Flush(ctx); err != nil {
		return st, fmt.Errorf("flushing load: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if perr != nil {
		return st, fmt.Errorf("producing load: %w", perr)
	}
	return st, nil
}

// produceAtRate produces recs at rate records per second, each stamped with
// the time it was handed to the client, and returns those times per profile
// id in production order.
func produceAtRate(ctx context.Context, cl *kgo.Client, recs []scenario.LoadRecord, rate float64) (map[string][]time.Time, error) {
	sent := map[string][]time.Time{}
	var (
		mu   sync.Mutex
		perr error
	)
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	i := 0
	for i < len(recs) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		due := min(len(recs), int(rate*time.Since(start).Seconds()))
		for ; i < due; i++ {
			r := recs[i]
			now := time.Now()
			if r.ProfileID != "" {
				sent[r.ProfileID] = append(sent[r.ProfileID], now)
			}
			cl.Produce(ctx, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Timestamp: now}, func(_ *kgo.Record, err error) {
				if err != nil {
					mu.Lock()
					perr = errors.Join(perr, err)
					mu.Unlock()
				}
			})
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, fmt.Errorf("flushing load: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if perr != nil {
		return nil, fmt.Errorf("producing load: %w", perr)
	}
	return sent, nil
}

// arrival is one output record as the harness's consumer received it.
type arrival struct {
	key string
	at  time.Time // when the harness polled it
	ts  time.Time // the record's own timestamp
}

// watcher follows a topic from its start with its own client and records
// when each record arrives: read_committed, so that an exactly-once
// system's output counts when it becomes visible, not when it is written.
type watcher struct {
	cl   *kgo.Client
	done chan struct{}

	mu        sync.Mutex
	count     int
	first     time.Time
	last      time.Time
	keep      bool              // record arrivals
	firstOnly bool              // stop after the first fetch with records
	arrivals  []arrival         // while keep
	latest    map[string][]byte // last value per key, when values are kept
	err       error
}

// watch starts a watcher of topics. keepValues keeps the last value of each
// key (the final profiles); firstOnly stops it at the first records, so that
// it does not load the broker while the system runs.
func watch(ctx context.Context, addr string, keepValues, firstOnly bool, isolation kgo.IsolationLevel, topics ...string) (*watcher, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(isolation),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("creating watcher: %w", err)
	}
	w := &watcher{cl: cl, done: make(chan struct{}), firstOnly: firstOnly}
	if keepValues {
		w.latest = map[string][]byte{}
	}
	go w.run(ctx)
	return w, nil
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.done)
	for {
		fs := w.cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		now := time.Now()
		w.mu.Lock()
		fs.EachError(func(t string, p int32, err error) {
			w.err = errors.Join(w.err, fmt.Errorf("watching %s/%d: %w", t, p, err))
		})
		fs.EachRecord(func(r *kgo.Record) {
			if w.count == 0 {
				w.first = now
			}
			w.count++
			w.last = now
			if w.keep {
				w.arrivals = append(w.arrivals, arrival{key: string(r.Key), at: now, ts: r.Timestamp})
			}
			if w.latest != nil {
				w.latest[string(r.Key)] = r.Value
			}
		})
		stop := w.firstOnly && w.count > 0
		w.mu.Unlock()
		if stop {
			return
		}
	}
}

// close stops the watcher and waits for it. Closing the client is what
// ends a poll in progress.
func (w *watcher) close() {
	w.cl.Close()
	<-w.done
}

// state returns the number of records so far, the first and last arrival.
func (w *watcher) state() (n int, first, last time.Time, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count, w.first, w.last, w.err
}

// record starts (or stops) keeping arrivals, and returns those kept so far.
func (w *watcher) record(on bool) []arrival {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.keep = on
	out := w.arrivals
	w.arrivals = nil
	return out
}

// values returns the last value of every key.
func (w *watcher) values() map[string][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest
}

// groupLag returns the total lag of group on topics and the largest lag of
// one partition. A partition the group has not committed counts whole.
func groupLag(ctx context.Context, adm *kadm.Client, group string, topics []string) (total, most int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return 0, 0, fmt.Errorf("listing end offsets: %w", err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0, 0, fmt.Errorf("fetching offsets of %s: %w", group, err)
	}
	ends.Each(func(e kadm.ListedOffset) {
		lag := e.Offset
		if c, ok := committed.Lookup(e.Topic, e.Partition); ok && c.Err == nil {
			lag = e.Offset - c.At
		}
		total += max(lag, 0)
		most = max(most, lag)
	})
	return total, most, nil
}

// latencies matches each arrival of a profile update to the newest input
// record of the same profile produced before it arrived, and returns the
// differences, sorted. Updates of profiles with no such record are counted
// as unmatched.
func latencies(arrivals []arrival, sent map[string][]time.Time) (lat []time.Duration, unmatched int) {
	for _, a := range arrivals {
		ts := sent[a.key] // in production order, which is time order
		i := sort.Search(len(ts), func(j int) bool { return ts[j].After(a.at) })
		if i == 0 {
			unmatched++
			continue
		}
		lat = append(lat, a.at.Sub(ts[i-1]))
	}
	slices.Sort(lat)
	return lat, unmatched
}

// ownLatencies is latencies for records that carry their input's timestamp
// (the pass-through copies it).
func ownLatencies(arrivals []arrival, since time.Time) []time.Duration {
	var lat []time.Duration
	for _, a := range arrivals {
		if !a.ts.Before(since) {
			lat = append(lat, a.at.Sub(a.ts))
		}
	}
	slices.Sort(lat)
	return lat
}

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
