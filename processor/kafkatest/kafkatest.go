// Package kafkatest has the Kafka reads the project's tests share: how far a
// consumer group is behind, and a topic read to its end the way a
// read_committed consumer of the pipeline's output sees it. It is test
// support; the pipeline does not use it.
package kafkatest

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// GroupLag sums, over the topics' non-empty partitions, how far the group's
// committed offsets are behind the ends. A partition the group never
// committed counts whole.
func GroupLag(ctx context.Context, adm *kadm.Client, group string, topics ...string) (int64, error) {
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return -1, fmt.Errorf("listing end offsets: %w", err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return -1, fmt.Errorf("fetching group offsets: %w", err)
	}
	var (
		total int64
		first error
	)
	ends.Each(func(e kadm.ListedOffset) {
		if e.Offset == 0 {
			return
		}
		c, ok := committed.Lookup(e.Topic, e.Partition)
		switch {
		case !ok:
			total += e.Offset
		case c.Err != nil:
			if first == nil {
				first = c.Err
			}
		default:
			total += e.Offset - c.At
		}
	})
	return total, first
}

// ReadAll reads topic from its start to its last stable offset with
// read_committed, as a downstream consumer sees it, and returns its data
// records (no transaction markers) in partition order.
func ReadAll(ctx context.Context, brokers []string, topic string) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers take the last offsets; seeing them is how
		// the reader knows it reached the end.
		kgo.KeepControlRecords())
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("listing the end of %s: %w", topic, err)
	}
	remaining := map[int32]int64{}
	ends.Each(func(e kadm.ListedOffset) {
		if e.Offset > 0 {
			remaining[e.Partition] = e.Offset
		}
	})
	var out []*kgo.Record
	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading %s: %w (still waiting for %v)", topic, err, remaining)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
			if end, ok := remaining[r.Partition]; ok && r.Offset+1 >= end {
				delete(remaining, r.Partition)
			}
		})
	}
	return out, nil
}
