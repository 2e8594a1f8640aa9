package sink

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one connector's metrics. The connector name is a constant
// label added by the registerer (prometheus.WrapRegistererWith), so several
// connectors can share a registry; the other labels are bounded sets.
type metrics struct {
	requests     *prometheus.CounterVec   // op, status: 2xx, 4xx, 429, 5xx, error
	latency      *prometheus.HistogramVec // op
	retries      *prometheus.CounterVec   // reason: throttled, server_error, network
	throttled    prometheus.Counter
	limiterWaits prometheus.Counter
	limiterWait  prometheus.Counter
	rateLimit    prometheus.Gauge
	deadLetters  prometheus.Counter
	records      prometheus.Counter
	contacts     *prometheus.CounterVec // op: upsert, delete
	batches      prometheus.Counter
	batchSeconds prometheus.Histogram
	assigned     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "profiled_sink_requests_total",
			Help: "HTTP requests to the ESP by operation and status class (2xx, 4xx, 429, 5xx, error for no response).",
		}, []string{"op", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "profiled_sink_request_duration_seconds",
			Help:    "Duration of HTTP requests to the ESP, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"op"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "profiled_sink_retries_total",
			Help: "Requests retried, by reason (throttled, server_error, network).",
		}, []string{"reason"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_sink_throttled_total",
			Help: "Responses with status 429 (rate limited by the ESP).",
		}),
		limiterWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_sink_rate_limiter_waits_total",
			Help: "Requests that had to wait for the rate limiter or the concurrency cap.",
		}),
		limiterWait: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_sink_rate_limiter_wait_seconds_total",
			Help: "Time requests spent waiting for the rate limiter, the concurrency cap or a Retry-After pause.",
		}),
		rateLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "profiled_sink_rate_limit",
			Help: "Current request rate limit (requests per second); lowered after 429s, raised back slowly.",
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_sink_dead_letters_total",
			Help: "Profile updates written to the sink dead-letter topic.",
		}),
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_sink_records_total",
			Help: "Records read from the profiles topic.",
		}),
		contacts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "profiled_sink_contacts_total",
			Help: "Contacts handed to the ESP after coalescing, by operation (upsert, delete).",
		}, []string{"op"}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_sink_batches_total",
			Help: "Batches acknowledged and committed.",
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "profiled_sink_batch_duration_seconds",
			Help:    "Time from sending a batch to committing it (requests, retries, job polling, dead letters).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10),
		}),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "profiled_sink_assigned_partitions",
			Help: "Partitions of the profiles topic this instance owns.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.retries, m.throttled, m.limiterWaits, m.limiterWait,
			m.rateLimit, m.deadLetters, m.records, m.contacts, m.batches, m.batchSeconds, m.assigned)
	}
	return m
}
