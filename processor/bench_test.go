package processor_test

import (
	"testing"
	"time"

	"github.com/profiled/profiled/processor/scenario"
)

// BenchmarkPipeline runs the reference scenario end to end through kfake,
// both stages and an on-disk Badger: from the start of the pipeline (group
// join included) until every input record has been merged and every profile
// update acknowledged. The input is produced before the timer starts.
func BenchmarkPipeline(b *testing.B) {
	d := devConfig(b)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 2000
	sc := scenario.Generate(cfg)
	var updates int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		k := newCluster(b, d)
		k.produce(sc.Records)
		dir := b.TempDir()
		b.StartTimer()
		in := k.start(dir)
		k.waitIdleEvery(10*time.Minute, 10*time.Millisecond)
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
}
