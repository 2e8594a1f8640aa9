//go:build unix

package processor_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/store"
)

// BenchmarkPipeline runs the reference scenario end to end through kfake,
// both stages and an on-disk Badger: from the start of the pipeline (group
// join included) until every input record has been merged and every profile
// update acknowledged. The input is produced before the timer starts.
func BenchmarkPipeline(b *testing.B) {
	benchPipeline(b, store.Options{})
}

// benchPipeline is BenchmarkPipeline with the store opened with so. Besides
// records/s it reports cpu-ns/op, the process's CPU time over the timed span,
// which is steadier than ns/op on a shared machine.
func benchPipeline(b *testing.B, so store.Options) {
	d := devConfig(b)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 2000
	sc := scenario.Generate(cfg)
	var (
		updates int
		cpu     time.Duration
	)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		k := newCluster(b, d)
		k.produce(sc.Records)
		so.Dir = b.TempDir()
		b.StartTimer()
		cpu -= cpuTime(b)
		in := k.startStore(so, nil)
		k.waitIdleEvery(10*time.Minute, 10*time.Millisecond)
		cpu += cpuTime(b)
		b.StopTimer()
		if err := in.stop(); err != nil {
			b.Fatal(err)
		}
		updates = len(k.readAll(d.Pipeline.ProfilesTopic))
		k.c.Close()
		b.StartTimer()
	}
	perSec := float64(len(sc.Records)) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "records/s")
	b.ReportMetric(float64(len(sc.Records)), "records/op")
	b.ReportMetric(float64(updates), "updates/op")
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkPipelineEncryption is BenchmarkPipeline with the store's
// encryption at rest off and on (AES-256). Compare with benchstat -col
// /encryption.
func BenchmarkPipelineEncryption(b *testing.B) {
	b.Run("encryption=off", func(b *testing.B) { benchPipeline(b, store.Options{}) })
	b.Run("encryption=on", func(b *testing.B) {
		benchPipeline(b, store.Options{EncryptionKey: []byte("0123456789abcdef0123456789abcdef")})
	})
}

// cpuTime is the CPU time (user + system) the process has used so far: the
// pipeline, Badger's background work and the embedded broker. Unlike ns/op
// it does not grow when other processes compete for the cores.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPassThrough is the hardware-and-broker limit for the same input:
// a franz-go client reads the input topics and produces every record
// unchanged to another topic on the same embedded broker, with the same
// acknowledgement discipline (flush before done). Compare its records/s with
// BenchmarkPipeline's from the same run.
func BenchmarkPassThrough(b *testing.B) {
	d := devConfig(b)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 2000
	sc := scenario.Generate(cfg)
	topics := processor.TopicsOf(d)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		k := newCluster(b, d)
		k.produce(sc.Records)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		if _, err := k.adm.CreateTopic(ctx, int32(d.Pipeline.Partitions), -1, nil, "passthrough"); err != nil {
			b.Fatal(err)
		}
		ends, err := k.adm.ListEndOffsets(ctx, topics.Inputs...)
		if err != nil {
			b.Fatal(err)
		}
		remaining := map[string]int64{}
		ends.Each(func(e kadm.ListedOffset) {
			if e.Offset > 0 {
				remaining[e.Topic+"/"+strconv.Itoa(int(e.Partition))] = e.Offset
			}
		})
		b.StartTimer()
		cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.ConsumeTopics(topics.Inputs...),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DefaultProduceTopic("passthrough"))
		if err != nil {
			b.Fatal(err)
		}
		for len(remaining) > 0 {
			fs := cl.PollRecords(ctx, 10000)
			if err := fs.Err0(); err != nil {
				b.Fatal(err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				cl.Produce(ctx, &kgo.Record{Key: r.Key, Value: r.Value, Headers: r.Headers}, func(_ *kgo.Record, err error) {
					if err != nil {
						b.Error(err)
					}
				})
				tp := r.Topic + "/" + strconv.Itoa(int(r.Partition))
				if end, ok := remaining[tp]; ok && r.Offset+1 >= end {
					delete(remaining, tp)
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cl.Close()
		cancel()
		k.c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(sc.Records))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
