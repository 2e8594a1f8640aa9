package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// kpromLintExceptions are the lint problems of franz-go's kprom plugin,
// whose names profiled does not choose: its buffered-records gauges end in
// _total. Anything else the linter reports fails.
var kpromLintExceptions = map[string]bool{
	"profiled_kafka_buffered_fetch_records_total":   true,
	"profiled_kafka_buffered_produce_records_total": true,
}

// boundedLabels are the only label names profiled's metrics (the
// pipeline's, its Kafka clients' and, when dev runs sinks, theirs) may
// carry: small fixed sets, never a key or a profile id.
var boundedLabels = []string{"topic", "partition", "stage", "reason", "part", "client", "node_id", "le",
	"connector", "op", "status", "result"}

// scrape GETs /metrics and parses it.
func scrape(t *testing.T, addr string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return string(b), mfs
}

// sum adds a family's values (counters, gauges, untyped) over the series
// whose labels include every key=value of match.
func sum(mf *dto.MetricFamily, match ...string) float64 {
	total := 0.0
	for _, m := range mf.GetMetric() {
		ok := true
		for i := 0; i+1 < len(match); i += 2 {
			ok = ok && labelValue(m.GetLabel(), match[i]) == match[i+1]
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total
}

// TestMetricsScrapedDuringScenario runs "profiled dev --demo" (the
// reference scenario, streamed) and scrapes /metrics over HTTP while it
// flows and once it is idle: every metric of the list is there
// with values that agree with each other, every name passes client_golang's
// linter, and no label could carry a profile id.
func TestMetricsScrapedDuringScenario(t *testing.T) {
	_, addr := startDev(t, "--demo", "--demo-customers", "300", "--partitions", "3")

	// While the stream flows.
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, mfs := scrape(t, addr)
		if sum(mfs["profiled_records_in_total"]) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no record counted in 60s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Idle: every update emitted and the lag of every owned partition
	// measured at zero (the lag loop runs every 5 s).
	var (
		text string
		mfs  map[string]*dto.MetricFamily
	)
	deadline = time.Now().Add(90 * time.Second)
	prevUpdates := -1.0
	for {
		text, mfs = scrape(t, addr)
		updates := sum(mfs["profiled_profile_updates_total"])
		lag := mfs["profiled_consumer_lag_records"]
		if updates > 0 && updates == prevUpdates && lag != nil &&
			float64(len(lag.GetMetric())) == sum(mfs["profiled_partitions_assigned"]) && sum(lag) == 0 {
			break
		}
		prevUpdates = updates
		if time.Now().After(deadline) {
			t.Fatalf("not idle after 90s: %v updates, lag %v over %d series for %v partitions",
				updates, sum(lag), len(lag.GetMetric()), sum(mfs["profiled_partitions_assigned"]))
		}
		time.Sleep(time.Second)
	}

	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if !kpromLintExceptions[p.Metric] {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}

	positive := []struct {
		name  string
		match []string
	}{
		{"profiled_records_in_total", []string{"topic", "crm.public.customers"}},
		{"profiled_records_in_total", []string{"topic", "shop.public.orders"}},
		{"profiled_records_in_total", []string{"topic", "clickstream"}},
		{"profiled_records_in_total", []string{"topic", "profiled.repartition"}},
		{"profiled_records_out_total", []string{"topic", "profiles"}},
		{"profiled_records_out_total", []string{"topic", "profiled.changelog"}},
		{"profiled_dead_letters_total", []string{"stage", "ingest"}},
		{"profiled_batch_duration_seconds", []string{"stage", "ingest"}},
		{"profiled_batch_duration_seconds", []string{"stage", "merge"}},
		{"profiled_batch_records", []string{"stage", "merge"}},
		{"profiled_profile_freshness_seconds", nil},
		{"profiled_round_commit_duration_seconds", nil},
		{"profiled_rounds_committed_total", nil},
		{"profiled_partitions_assigned", nil},
		{"profiled_state_size_bytes", []string{"part", "vlog"}},
		{"profiled_kafka_connects_total", []string{"client", "pipeline"}},
		{"profiled_kafka_connects_total", []string{"client", "restore"}},
		{"profiled_kafka_produce_bytes_total", []string{"client", "pipeline"}},
		{"profiled_kafka_fetch_bytes_total", []string{"client", "pipeline"}},
	}
	for _, c := range positive {
		mf, ok := mfs[c.name]
		if !ok {
			t.Errorf("%s is missing", c.name)
			continue
		}
		if v := sum(mf, c.match...); v <= 0 {
			t.Errorf("%s%v = %v, want > 0", c.name, c.match, v)
		}
	}
	// Present, and zero once idle.
	for _, name := range []string{"profiled_rounds_aborted_total", "profiled_partitions_restoring",
		"profiled_restore_remaining_records", "profiled_consumer_lag_records"} {
		if mf, ok := mfs[name]; !ok || sum(mf) != 0 {
			t.Errorf("%s = %v (present %v), want 0", name, sum(mf), ok)
		}
	}
	for _, name := range []string{"profiled_changelog_restored_records_total", "profiled_state_size_bytes", "profiled_restore_duration_seconds",
		"profiled_state_cache_lookups_total", "profiled_state_cache_bytes",
		"profiled_state_mapped_reclaims_total", "profiled_state_mapped_reclaimed_bytes_total"} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("%s is missing", name)
		}
	}
	// Freshness is observed once per emitted profile update.
	if f, u := sum(mfs["profiled_profile_freshness_seconds"]), sum(mfs["profiled_profile_updates_total"]); f != u {
		t.Errorf("freshness observed %v times for %v profile updates", f, u)
	}
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "profiled_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(boundedLabels, l.GetName()) {
					t.Errorf("%s has label %s=%q, not one of the bounded set %v", name, l.GetName(), l.GetValue(), boundedLabels)
				}
			}
		}
	}
}
