package processor

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pipeline's Prometheus metrics. Labels are bounded: topic,
// stage and reason, never a key or a profile id.
type metrics struct {
	recordsIn      *prometheus.CounterVec   // topic
	recordsOut     *prometheus.CounterVec   // topic
	deadLetters    *prometheus.CounterVec   // stage, reason
	skipped        *prometheus.CounterVec   // reason
	replaySkipped  *prometheus.CounterVec   // stage
	batchDuration  *prometheus.HistogramVec // stage
	batchRecords   *prometheus.HistogramVec // stage
	profileUpdates prometheus.Counter
	noopFacts      prometheus.Counter
	paused         prometheus.Gauge
	pauses         prometheus.Counter
	assigned       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		recordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "profiled_records_in_total", Help: "Records consumed, by topic.",
		}, []string{"topic"}),
		recordsOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "profiled_records_out_total", Help: "Records produced and acknowledged, by topic.",
		}, []string{"topic"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "profiled_dead_letters_total", Help: "Records sent to the dead-letter topic, by stage and reason.",
		}, []string{"stage", "reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "profiled_records_skipped_total", Help: "Input records that carry no profile change (tombstones, truncates, ...), by reason.",
		}, []string{"reason"}),
		replaySkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "profiled_records_replay_skipped_total", Help: "Records re-delivered after a restart and skipped because the store had applied them.",
		}, []string{"stage"}),
		batchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "profiled_batch_duration_seconds", Help: "Time to process and commit one batch, by stage.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"stage"}),
		batchRecords: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "profiled_batch_records", Help: "Records per batch, by stage.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}, []string{"stage"}),
		profileUpdates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_profile_updates_total", Help: "Profile versions emitted (profiles that actually changed).",
		}),
		noopFacts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_facts_noop_total", Help: "Facts that changed nothing (late, duplicate or losing values).",
		}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "profiled_partitions_paused", Help: "Partitions whose fetching is paused by backpressure.",
		}),
		pauses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_fetch_pauses_total", Help: "Times a partition's fetching was paused because its queue was full.",
		}),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "profiled_partitions_assigned", Help: "Partitions assigned to this instance.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.recordsIn, m.recordsOut, m.deadLetters, m.skipped, m.replaySkipped,
			m.batchDuration, m.batchRecords, m.profileUpdates, m.noopFacts, m.paused, m.pauses, m.assigned)
	}
	return m
}
