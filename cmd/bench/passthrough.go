package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// cmdPassThrough is the limit the harness compares with: a franz-go client
// that reads the input topics from the start and produces every record
// unchanged (key, value, headers and timestamp) to one output topic, until
// it is stopped. It keeps no state and commits nothing, so it measures what
// the broker and the machine can move through one consume-produce hop.
func cmdPassThrough(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench passthrough", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "127.0.0.1:9092", "comma-separated seed brokers")
	topics := fs.String("topics", "", "comma-separated input topics; required")
	out := fs.String("out", "passthrough", "output topic")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *topics == "" {
		return fmt.Errorf("%w: --topics is required", errUsage)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.ConsumeTopics(strings.Split(*topics, ",")...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DefaultProduceTopic(*out),
	)
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	defer cl.Close()

	var (
		mu      sync.Mutex
		prodErr error
	)
	for {
		fs := cl.PollRecords(ctx, 10_000)
		if ctx.Err() != nil {
			break
		}
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("consuming: %w", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			// Produce blocks while the client's buffer is full: that is the
			// backpressure, there is nothing else to hold.
			cl.Produce(ctx, &kgo.Record{Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp},
				func(_ *kgo.Record, err error) {
					if err != nil && !errors.Is(err, context.Canceled) {
						mu.Lock()
						prodErr = errors.Join(prodErr, err)
						mu.Unlock()
					}
				})
		})
		mu.Lock()
		err := prodErr
		mu.Unlock()
		if err != nil {
			return fmt.Errorf("producing: %w", err)
		}
	}
	// Stopped: what was handed to the client is flushed so that the harness
	// never sees a half-delivered tail; the flush gets its own context
	// because the run's is done.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := cl.Flush(fctx); err != nil {
		return fmt.Errorf("flushing: %w", err)
	}
	return nil
}
