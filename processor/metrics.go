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
	restored       *prometheus.CounterVec   // changelog topic
	batchDuration  *prometheus.HistogramVec // stage
	batchRecords   *prometheus.HistogramVec // stage
	profileUpdates prometheus.Counter
	noopFacts      prometheus.Counter
	assigned       prometheus.Gauge
	restoring      prometheus.Gauge
	standbys       prometheus.Gauge
	restoreSeconds prometheus.Histogram
	commitDuration prometheus.Histogram
	rounds         prometheus.Counter
	aborts         prometheus.Counter
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
		restored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "profiled_changelog_restored_records_total", Help: "Changelog records applied to the local state while restoring or tailing as a standby, by changelog topic.",
		}, []string{"topic"}),
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
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "profiled_partitions_assigned", Help: "Partitions assigned to this instance.",
		}),
		restoring: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "profiled_partitions_restoring", Help: "Assigned partitions whose state is still catching up with its changelog.",
		}),
		standbys: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "profiled_partitions_standby", Help: "Partitions of other instances whose changelog this instance tails as a standby.",
		}),
		restoreSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "profiled_restore_duration_seconds", Help: "Time from a partition's assignment until its state was current.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "profiled_round_commit_duration_seconds", Help: "Time to commit a round (the transaction, or the acknowledgements at least once).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		rounds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_rounds_committed_total", Help: "Rounds (transactions) committed.",
		}),
		aborts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_rounds_aborted_total", Help: "Rounds (transactions) aborted; their input is processed again.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.recordsIn, m.recordsOut, m.deadLetters, m.skipped, m.restored,
			m.batchDuration, m.batchRecords, m.profileUpdates, m.noopFacts, m.assigned,
			m.restoring, m.standbys, m.restoreSeconds, m.commitDuration, m.rounds, m.aborts)
	}
	return m
}
