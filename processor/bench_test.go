//go:build unix

package processor_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
// Both delivery modes run side by side: compare with benchstat -col /mode.
func BenchmarkPipeline(b *testing.B) {
	b.Run("mode=exactly-once", func(b *testing.B) { benchPipeline(b, store.Options{}, nil) })
	b.Run("mode=at-least-once", func(b *testing.B) {
		benchPipeline(b, store.Options{}, func(o *processor.Options) { o.AtLeastOnce = true })
	})
}

// benchPipeline is BenchmarkPipeline with the store opened with so. Besides
// records/s it reports cpu-ns/op, the process's CPU time over the timed span,
// which is steadier than ns/op on a shared machine.
func benchPipeline(b *testing.B, so store.Options, mod func(*processor.Options)) {
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
		in := k.startStore(so, mod)
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
	b.Run("encryption=off", func(b *testing.B) { benchPipeline(b, store.Options{}, nil) })
	b.Run("encryption=on", func(b *testing.B) {
		benchPipeline(b, store.Options{EncryptionKey: []byte("0123456789abcdef0123456789abcdef")}, nil)
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

// BenchmarkRestore measures how long an assigned partition takes to catch up
// with its changelog before it processes, from assignment to ready (the
// restore histogram), for two state sizes:
//
//   - cold: an empty data directory restores the whole changelog; the time
//     grows with the state, and records/s is the cold restore rate;
//   - warm: the directory holds the state up to a checkpoint and the
//     changelog has grown by 1,000 records since; the time should not grow
//     with the state, only with what was missed.
//
// The changelog is written directly (synthetic profile states of 300 bytes)
// so that the state size is exact; the restore does not interpret values.
func BenchmarkRestore(b *testing.B) {
	for _, state := range []int{10_000, 100_000} {
		b.Run("kind=cold/state="+strconv.Itoa(state), func(b *testing.B) { benchRestore(b, state, false) })
		b.Run("kind=warm/state="+strconv.Itoa(state), func(b *testing.B) { benchRestore(b, state, true) })
	}
}

func benchRestore(b *testing.B, state int, warm bool) {
	const missed = 1000
	d := devConfig(b)
	var total time.Duration
	var restored float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		k := newCluster(b, d)
		writeChangelog(b, k, 0, state)
		dir := b.TempDir()
		if warm {
			// Bring the directory up to date, then let the changelog grow
			// while the instance is away.
			in := k.startOpts(dir, nil)
			waitReady(b, in)
			if err := in.stop(); err != nil {
				b.Fatal(err)
			}
			writeChangelog(b, k, state, missed)
		}
		reg := prometheus.NewRegistry()
		b.StartTimer()
		start := time.Now()
		in := k.startOpts(dir, func(o *processor.Options) { o.Registerer = reg })
		waitReady(b, in)
		// Start to ready: the group join (a constant ~0.2 s on kfake with
		// the test heartbeat) plus the slowest partition's restore.
		total += time.Since(start)
		b.StopTimer()
		restored += counterValue(b, reg, "profiled_changelog_restored_records_total")
		if err := in.stop(); err != nil {
			b.Fatal(err)
		}
		k.c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ready-ms/op")
	b.ReportMetric(restored/float64(b.N), "records/op")
	if total > 0 {
		b.ReportMetric(restored/total.Seconds(), "records/s")
	}
}

// writeChangelog appends n synthetic profile states to the merge changelog,
// spread over its partitions like the merge stage would write them.
func writeChangelog(b *testing.B, k *cluster, from, n int) {
	b.Helper()
	topic := processor.ChangelogTopic(k.dict)
	parts := processor.TopicsOf(k.dict).Partitions
	value := make([]byte, 300)
	recs := make([]*kgo.Record, 0, n)
	for i := from; i < from+n; i++ {
		id := "cust-" + strconv.Itoa(i)
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i) % parts, Key: append([]byte{'x'}, id...), Value: value})
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
}

func waitReady(b *testing.B, in *instance) {
	b.Helper()
	for deadline := time.Now().Add(5 * time.Minute); !in.p.Ready(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("not ready after 5 minutes")
		}
	}
}
