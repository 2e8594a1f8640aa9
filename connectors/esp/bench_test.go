package esp_test

import (
	"testing"
	"time"

	"github.com/profiled/profiled/connectors/esp/esptest"
)

// BenchmarkSink: 100,000 profile updates over 10,000 profiles are produced
// straight to the profiles topic on kfake; the connector then drains them
// into its local ESP server. Reported per run: the ESP requests and the
// contacts sent (coalescing and batching at work), and the sink's
// throughput in profile updates per second (from the sink's start until
// its group has committed everything). Rate limits are set high so that
// the engine, not the limiter, is measured.
//
//	go test -run '^$' -bench BenchmarkSink -benchtime 1x -count 3 ./connectors/esp/
func BenchmarkSink(b *testing.B) {
	const profiles, updates = 10_000, 100_000
	for _, c := range connectors {
		b.Run(c.name, func(b *testing.B) {
			var requests, contacts, throughput float64
			for range b.N {
				b.StopTimer()
				e := newEnv(b)
				srv, url := c.start(esptest.Options{APIKey: apiKey})
				d := e.dict(c.yaml(url, limits{rate: 5000, burst: 500, conc: 10}))
				g := newSynth(1)
				for range updates / 10_000 {
					e.produce(g.updates(profiles, 10_000))
				}
				b.StartTimer()
				start := time.Now()
				r := e.startSink(d, nil)
				e.waitSynced(d, 5*time.Minute)
				elapsed := time.Since(start)
				b.StopTimer()
				if err := r.stop(); err != nil {
					b.Fatal(err)
				}
				st := srv.Stats()
				srv.Close()
				requests += float64(st.Requests)
				contacts += float64(st.Contacts)
				throughput += updates / elapsed.Seconds()
			}
			n := float64(b.N)
			b.ReportMetric(requests/n, "requests/op")
			b.ReportMetric(contacts/n, "contacts/op")
			b.ReportMetric(throughput/n, "updates/s")
		})
	}
}
