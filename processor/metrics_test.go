package processor_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/scenario"
)

// kpromLintExceptions are the problems the linter finds in franz-go's kprom
// plugin, whose names profiled does not choose: its buffered-records
// gauges end in _total. Anything else the linter reports fails the test.
var kpromLintExceptions = map[string]bool{
	"profiled_kafka_buffered_fetch_records_total":   true,
	"profiled_kafka_buffered_produce_records_total": true,
}

// lintProblems returns the linter's problems other than kprom's known ones.
func lintProblems(t testing.TB, g prometheus.Gatherer) []promlint.Problem {
	t.Helper()
	problems, err := testutil.GatherAndLint(g)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(problems, func(p promlint.Problem) bool { return kpromLintExceptions[p.Metric] })
}

// families gathers reg by metric name.
func families(t testing.TB, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestMetricsAreLintedAndSensible runs a scenario through one instance and
// checks every metric the pipeline exports: the names pass client_golang's
// linter, and the values agree with what happened.
func TestMetricsAreLintedAndSensible(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 60
	cfg.Seed = 3
	sc := scenario.Generate(cfg)
	k := newCluster(t, d)
	k.produce(sc.Records)
	reg := prometheus.NewRegistry()
	in := k.startOpts(t.TempDir(), func(o *processor.Options) {
		o.Registerer = reg
		o.LagInterval = 100 * time.Millisecond
	})
	k.waitIdle(90 * time.Second)

	// The lag loop shows every owned partition, at zero once idle.
	var lag *dto.MetricFamily
	deadline := time.Now().Add(20 * time.Second)
	for {
		fs := families(t, reg)
		lag = fs["profiled_consumer_lag_records"]
		assigned := gaugeValue(t, reg, "profiled_partitions_assigned")
		total := 0.0
		for _, m := range lag.GetMetric() {
			total += m.GetGauge().GetValue()
		}
		if assigned > 0 && float64(len(lag.GetMetric())) == assigned && total == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lag: %d series summing to %v for %v assigned partitions", len(lag.GetMetric()), total, assigned)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, m := range lag.GetMetric() {
		if label(m, "topic") == "" || label(m, "partition") == "" {
			t.Errorf("lag series without topic and partition: %v", m.GetLabel())
		}
	}

	if p := lintProblems(t, reg); len(p) > 0 {
		t.Errorf("metric lint: %v", p)
	}
	fs := families(t, reg)
	perTopic := func(name string) map[string]float64 {
		out := map[string]float64{}
		for _, m := range fs[name].GetMetric() {
			out[label(m, "topic")] += m.GetCounter().GetValue()
		}
		return out
	}
	in1 := perTopic("profiled_records_in_total")
	for _, topic := range []string{scenario.TopicCustomers, scenario.TopicOrders, scenario.TopicClickstream, processor.RepartitionTopic(d)} {
		if in1[topic] == 0 {
			t.Errorf("records in from %s: 0 (%v)", topic, in1)
		}
	}
	out := perTopic("profiled_records_out_total")
	for _, topic := range []string{d.Pipeline.ProfilesTopic, processor.RepartitionTopic(d), processor.ChangelogTopic(d), d.Pipeline.DLQTopic} {
		if out[topic] == 0 {
			t.Errorf("records out to %s: 0 (%v)", topic, out)
		}
	}
	wantBad := 0
	for _, n := range sc.Bad {
		wantBad += n
	}
	if got := counterValue(t, reg, "profiled_dead_letters_total"); got != float64(wantBad) {
		t.Errorf("dead letters = %v, want %d", got, wantBad)
	}
	updates := counterValue(t, reg, "profiled_profile_updates_total")
	fresh := fs["profiled_profile_freshness_seconds"].GetMetric()[0].GetHistogram()
	if updates == 0 || float64(fresh.GetSampleCount()) != updates || fresh.GetSampleSum() <= 0 {
		t.Errorf("freshness: %d observations summing to %vs for %v profile updates",
			fresh.GetSampleCount(), fresh.GetSampleSum(), updates)
	}
	for _, st := range []string{"ingest", "merge"} {
		if n := histCount(fs["profiled_batch_duration_seconds"], "stage", st); n == 0 {
			t.Errorf("no %s batches timed", st)
		}
	}
	if n := histCount(fs["profiled_round_commit_duration_seconds"], "", ""); n == 0 || counterValue(t, reg, "profiled_rounds_committed_total") == 0 {
		t.Errorf("rounds: %d commits timed, %v committed", n, counterValue(t, reg, "profiled_rounds_committed_total"))
	}
	if _, ok := fs["profiled_rounds_aborted_total"]; !ok {
		t.Error("no profiled_rounds_aborted_total")
	}
	if sz := fs["profiled_state_size_bytes"]; len(sz.GetMetric()) != 2 {
		t.Errorf("state size series: %v", sz.GetMetric())
	}
	if v := gaugeValue(t, reg, "profiled_restore_remaining_records"); v != 0 {
		t.Errorf("restore remaining = %v once idle", v)
	}
	if _, ok := fs["profiled_changelog_restored_records_total"]; !ok {
		t.Error("the restore counter is not exported before a restore")
	}
	// franz-go's client metrics, one set per client.
	clients := map[string]float64{}
	for _, m := range fs["profiled_kafka_read_bytes_total"].GetMetric() {
		clients[label(m, "client")] += m.GetCounter().GetValue()
	}
	if clients["pipeline"] == 0 || clients["restore"] == 0 {
		t.Errorf("kprom bytes read by client: %v", clients)
	}
	for name := range fs {
		if !strings.HasPrefix(name, "profiled_") {
			t.Errorf("metric %s outside the profiled_ namespace", name)
		}
	}
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	// Stopped: no partition is owned, so no lag is shown.
	if n := len(families(t, reg)["profiled_consumer_lag_records"].GetMetric()); n != 0 {
		t.Errorf("%d lag series after the instance stopped", n)
	}
}

// histCount is the observation count of a histogram family's series whose
// label key has value (any series when key is empty).
func histCount(mf *dto.MetricFamily, key, value string) uint64 {
	var n uint64
	for _, m := range mf.GetMetric() {
		if key == "" || label(m, key) == value {
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}
