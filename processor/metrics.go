package processor

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/profiled/profiled/store"
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
	freshness      prometheus.Histogram
	lag            *prometheus.GaugeVec // topic, partition (of this instance's partitions)
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
			Name: "profiled_round_commit_duration_seconds", Help: "Time to end a round: emitting what it gathered, the acknowledgements of its records, and its transaction (at least once: the acknowledgements).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		rounds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_rounds_committed_total", Help: "Rounds (transactions) committed.",
		}),
		aborts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "profiled_rounds_aborted_total", Help: "Rounds (transactions) aborted; their input is processed again.",
		}),
		// From seconds (a live stream) to a day (a backlog being caught up
		// with, or a source that replays history).
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "profiled_profile_freshness_seconds",
			Help:    "Time from the event time of the newest change in a profile update to the update's emission (emit time minus event time).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "profiled_consumer_lag_records",
			Help: "Records of a partition this instance owns that the group has not committed yet (last stable offset minus committed offset), refreshed every few seconds.",
		}, []string{"topic", "partition"}),
	}
	if reg != nil {
		reg.MustRegister(m.recordsIn, m.recordsOut, m.deadLetters, m.skipped, m.restored,
			m.batchDuration, m.batchRecords, m.profileUpdates, m.noopFacts, m.assigned,
			m.restoring, m.standbys, m.restoreSeconds, m.commitDuration, m.rounds, m.aborts,
			m.freshness, m.lag)
	}
	return m
}

// registerGauges registers the metrics read on scrape: the state store's
// size and its reclaimed mapped pages, and how far the restoring
// partitions still have to read.
func registerGauges(reg prometheus.Registerer, db *store.DB, rs *restorer) {
	if reg == nil {
		return
	}
	for _, part := range []string{"lsm", "vlog"} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "profiled_state_size_bytes",
			Help:        "Bytes of the state store's files by part (lsm: tables, vlog: value log, counting the file being written at its preallocated length).",
			ConstLabels: prometheus.Labels{"part": part},
		}, func() float64 {
			lsm, vlog := db.Size()
			if part == "lsm" {
				return float64(lsm)
			}
			return float64(vlog)
		}))
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "profiled_state_mapped_reclaims_total",
			Help: "Times the resident pages of the state's memory-mapped files passed their share of the memory budget and were given back to the kernel.",
		}, func() float64 { return float64(db.MappedStats().Reclaims) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "profiled_state_mapped_reclaimed_bytes_total",
			Help: "Resident bytes of the state's memory-mapped files given back to the kernel.",
		}, func() float64 { return float64(db.MappedStats().ReclaimedBytes) }),
	)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "profiled_restore_remaining_records",
		Help: "Changelog offsets the restoring partitions still have to read before they process (an upper bound: transaction markers and compacted records take offsets too).",
	}, rs.remaining))
}

// clientMetrics returns the options that export one Kafka client's metrics
// (franz-go's kprom plugin: connections, bytes and records read and
// written per broker and topic, buffered records) on the pipeline's
// registry as profiled_kafka_*, labelled with the client's role. Each
// client needs a kprom.Metrics of its own: it registers its collectors
// when the client is created (a second client on the same one would
// register them twice) and unregisters them when the client closes.
func (p *Pipeline) clientMetrics(role string) []kgo.Opt {
	if p.opts.Registerer == nil {
		return nil
	}
	m := kprom.NewMetrics("profiled",
		kprom.Subsystem("kafka"),
		kprom.Registerer(p.opts.Registerer),
		kprom.WithStaticLabel(prometheus.Labels{"client": role}))
	return []kgo.Opt{kgo.WithHooks(m)}
}
