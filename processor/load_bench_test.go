//go:build unix

package processor_test

import (
	"flag"
	"testing"
	"time"

	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/store"
)

var benchCustomers = flag.Int("bench.customers", 10_000, "customers of BenchmarkPipelineLoad's load")

// BenchmarkPipelineLoad is BenchmarkPipeline on the load of the benchmark
// harness (cmd/bench): scenario.Load with -bench.customers customers and
// Zipf-skewed clickstream activity, so that a CPU profile of it shows where
// the time of `make bench`'s profiled run goes.
func BenchmarkPipelineLoad(b *testing.B) {
	d := devConfig(b)
	cfg := scenario.DefaultLoadConfig()
	cfg.Customers = *benchCustomers
	var recs []scenario.Record
	if _, err := scenario.Load(cfg, func(r scenario.LoadRecord) error {
		recs = append(recs, r.Record)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	for range b.N {
		b.StopTimer()
		k := newCluster(b, d)
		k.produce(recs)
		b.StartTimer()
		cpu -= cpuTime(b)
		in := k.startStore(store.Options{Dir: b.TempDir()}, nil)
		k.waitIdleEvery(30*time.Minute, 10*time.Millisecond)
		cpu += cpuTime(b)
		b.StopTimer()
		if err := in.stop(); err != nil {
			b.Fatal(err)
		}
		k.c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}
