package processor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// lagLoop keeps profiled_consumer_lag_records current for the partitions
// this instance owns, until ctx ends; then it removes every series, since
// an instance that stopped owns nothing.
//
// Lag is measured the way Kafka's tools measure a group's lag: the
// partition's last stable offset (what a read_committed consumer can
// reach) minus the group's committed offset. It is read from the brokers
// every LagInterval rather than on scrape, so that a slow broker never
// makes a scrape slow and every instance costs the brokers the same two
// requests whatever scrapes it.
func (p *Pipeline) lagLoop(ctx context.Context) {
	t := time.NewTicker(p.opts.LagInterval)
	defer t.Stop()
	defer p.m.lag.Reset()
	var shown map[tp]bool
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next, err := p.updateLag(ctx, shown)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Debug("measuring consumer lag", "err", err)
			}
			continue
		}
		shown = next
	}
}

// updateLag measures the lag of the owned partitions and drops the series
// of partitions no longer owned; it returns the partitions it shows.
func (p *Pipeline) updateLag(ctx context.Context, shown map[tp]bool) (map[tp]bool, error) {
	p.mu.Lock()
	owned := make(map[tp]bool, len(p.workers))
	topics := map[string]bool{}
	for k := range p.workers {
		owned[k] = true
		topics[k.topic] = true
	}
	p.mu.Unlock()
	for k := range shown {
		if !owned[k] {
			p.m.lag.DeleteLabelValues(k.topic, strconv.Itoa(int(k.partition)))
		}
	}
	if len(owned) == 0 {
		return owned, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.LagInterval)
	defer cancel()
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	committed, err := p.rs.adm.FetchOffsets(ctx, p.dict.Pipeline.Group)
	if err != nil {
		return shown, fmt.Errorf("fetching the group's committed offsets: %w", err)
	}
	ends, err := p.rs.adm.ListCommittedOffsets(ctx, names...)
	if err != nil {
		return shown, fmt.Errorf("listing last stable offsets: %w", err)
	}
	var starts kadm.ListedOffsets // read only for partitions never committed
	for k := range owned {
		end, ok := ends.Lookup(k.topic, k.partition)
		if !ok || end.Err != nil {
			continue // keep the last value; the next round tries again
		}
		at := int64(-1)
		if c, ok := committed.Lookup(k.topic, k.partition); ok && c.Err == nil {
			at = c.At
		}
		if at < 0 {
			// Nothing committed yet: the group starts at the log's start.
			if starts == nil {
				if starts, err = p.rs.adm.ListStartOffsets(ctx, names...); err != nil {
					return shown, fmt.Errorf("listing start offsets: %w", err)
				}
			}
			start, ok := starts.Lookup(k.topic, k.partition)
			if !ok || start.Err != nil {
				continue
			}
			at = start.Offset
		}
		p.m.lag.WithLabelValues(k.topic, strconv.Itoa(int(k.partition))).Set(float64(max(0, end.Offset-at)))
	}
	return owned, nil
}
