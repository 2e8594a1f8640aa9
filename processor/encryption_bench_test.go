//go:build unix

package processor_test

import (
	"context"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/store"
)

// BenchmarkPipelineEncryption is BenchmarkPipeline with the store's
// encryption at rest off and on (AES-256): the reference scenario end to end
// through kfake, both stages and an on-disk Badger, from the start of the
// pipeline until every input record is merged and every profile update
// acknowledged. cpu-ns/op is the process's CPU time over the same span,
// steadier than ns/op on a shared machine. Compare with benchstat -col
// /encryption.
func BenchmarkPipelineEncryption(b *testing.B) {
	d := devConfig(b)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 2000
	sc := scenario.Generate(cfg)
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, enc := range []bool{false, true} {
		var k []byte
		name := "encryption=off"
		if enc {
			k, name = key, "encryption=on"
		}
		b.Run(name, func(b *testing.B) {
			var updates int
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c := newCluster(b, d)
				c.produce(sc.Records)
				dir := b.TempDir()
				b.StartTimer()
				cpu -= cpuTime(b)
				in := startWithKey(c, dir, k)
				c.waitIdleEvery(10*time.Minute, 10*time.Millisecond)
				cpu += cpuTime(b)
				b.StopTimer()
				if err := in.stop(); err != nil {
					b.Fatal(err)
				}
				updates = len(c.readAll(d.Pipeline.ProfilesTopic))
				c.c.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(len(sc.Records))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(len(sc.Records)), "records/op")
			b.ReportMetric(float64(updates), "updates/op")
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
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

// startWithKey is harness_test.go's startOpts with the store opened with an
// encryption key (nil: none).
func startWithKey(k *cluster, dir string, key []byte) *instance {
	k.t.Helper()
	db, err := store.Open(store.Options{Dir: dir, MemoryBudget: 64 << 20, GCInterval: -1, EncryptionKey: key})
	if err != nil {
		k.t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("PROFILED_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := processor.New(processor.Options{
		Brokers:    k.brokers,
		Dictionary: k.dict,
		Store:      db,
		Logger:     log,
		ClientOpts: testClientOpts(),
	})
	if err != nil {
		_ = db.Close()
		k.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{p: p, db: db, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- p.Run(ctx) }()
	k.t.Cleanup(func() { _ = in.stop() })
	return in
}
