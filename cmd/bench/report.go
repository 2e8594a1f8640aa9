package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/profiled/profiled/processor/scenario"
)

// report is what one harness run found, and how it is written down.
type report struct {
	started time.Time
	args    []string
	load    scenario.LoadConfig
	share   float64
	// latencyEPS is -latency-eps: the latency pass ran at this rate, not at share.
	latencyEPS float64
	hasALO     bool
	results    []*result
	scales     []scaleResult
	pprof      string
	mismatch   []string // attribute differences between profile systems
	compared   string   // what was compared with what
	chartErr   string   // why there is no chart
}

type scaleResult struct {
	customers int
	res       *result   // the median run by rate
	rates     []float64 // every run's rate, sorted
}

func (rp *report) get(key string) *result {
	for _, r := range rp.results {
		if r.key == key && !r.skipped {
			return r
		}
	}
	return nil
}

// compare checks, attribute by attribute, that every system that publishes
// profiles ended with the same profiles as the first one, and returns an
// error naming the differences.
func (rp *report) compare() error {
	var ref *result
	for _, r := range rp.results {
		if r.skipped || r.profiles == nil {
			continue
		}
		if ref == nil {
			ref = r
			continue
		}
		diffs := diffProfiles(ref.profiles, r.profiles)
		rp.compared += fmt.Sprintf("%s vs %s: %d profiles, %d differences. ", ref.name, r.name, len(ref.profiles), len(diffs))
		for _, d := range diffs {
			rp.mismatch = append(rp.mismatch, ref.name+" vs "+r.name+": "+d)
		}
	}
	if len(rp.mismatch) > 0 {
		return fmt.Errorf("final profiles differ in %d places, e.g.\n  %s", len(rp.mismatch), strings.Join(rp.mismatch[:min(10, len(rp.mismatch))], "\n  "))
	}
	return nil
}

// diffProfiles compares two sets of final profiles (profile id → the
// profile's JSON) attribute by attribute; versions and times of update
// differ by design (goka emits per fact, profiled per batch).
func diffProfiles(a, b map[string][]byte) []string {
	var out []string
	ids := make([]string, 0, len(a))
	for id := range a {
		ids = append(ids, id)
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		pa, errA := attributes(a[id])
		pb, errB := attributes(b[id])
		switch {
		case a[id] == nil:
			out = append(out, fmt.Sprintf("profile %s only in the second", id))
			continue
		case b[id] == nil:
			out = append(out, fmt.Sprintf("profile %s only in the first", id))
			continue
		case errA != nil || errB != nil:
			out = append(out, fmt.Sprintf("profile %s: %v", id, errors.Join(errA, errB)))
			continue
		}
		names := make([]string, 0, len(pa)+len(pb))
		for k := range pa {
			names = append(names, k)
		}
		for k := range pb {
			if _, ok := pa[k]; !ok {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		for _, k := range names {
			va, okA := pa[k]
			vb, okB := pb[k]
			if okA != okB || !reflect.DeepEqual(va, vb) {
				out = append(out, fmt.Sprintf("profile %s attribute %s: %s vs %s", id, k, show(va, okA), show(vb, okB)))
			}
		}
	}
	return out
}

func attributes(b []byte) (map[string]any, error) {
	if b == nil {
		return nil, nil
	}
	var p struct {
		Attributes map[string]any `json:"attributes"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decoding profile: %w", err)
	}
	return p.Attributes, nil
}

func show(v any, ok bool) string {
	if !ok {
		return "absent"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond))
}

// table is the Markdown table of the results.
func (rp *report) table() string {
	var b strings.Builder
	if len(rp.results) > 0 {
		b.WriteString("| system | events/s | p50 ms | p99 ms | max ms | peak RSS MiB | CPU s / M events | broker CPU s / M events | profile updates | start-up ms |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range rp.results {
			if r.skipped {
				fmt.Fprintf(&b, "| %s | – | – | – | – | – | – | – | – | – |\n", r.name)
				continue
			}
			p50, p99, pmax := "–", "–", "–"
			if r.latRate > 0 {
				p50, p99, pmax = ms(quantile(r.lat, 0.5)), ms(quantile(r.lat, 0.99)), ms(quantile(r.lat, 1))
			}
			fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %.0f | %.2f | %.2f | %d | %s |\n",
				r.name, r.rate, p50, p99, pmax, float64(r.peakRSS)/(1<<20), r.cpuPerMillion(), r.brokerPerMillion(), r.updates, ms(r.startup))
		}
	}
	if len(rp.scales) > 0 {
		b.WriteString("| customers | system | input records | events/s | runs (events/s) | peak RSS MiB | peak anonymous MiB | peak file-backed MiB | CPU s / M events | profile updates |\n")
		b.WriteString("|---:|---|---:|---:|---|---:|---:|---:|---:|---:|\n")
		for _, s := range rp.scales {
			runs := make([]string, len(s.rates))
			for i, r := range s.rates {
				runs[i] = fmt.Sprintf("%.0f", r)
			}
			fmt.Fprintf(&b, "| %d | %s | %d | %.0f | %s | %.0f | %.0f | %.0f | %.2f | %d |\n", s.customers, s.res.name, s.res.records,
				s.res.rate, strings.Join(runs, ", "), float64(s.res.peakRSS)/(1<<20), float64(s.res.peakAnon)/(1<<20), float64(s.res.peakFile)/(1<<20),
				s.res.cpuPerMillion(), s.res.updates)
		}
	}
	return b.String()
}

// ratios are the comparisons the issue asks for.
func (rp *report) ratios() []string {
	var out []string
	limit := rp.get(sysPassThrough)
	goka := rp.get(sysGoka)
	for _, key := range []string{sysProfiledEOS, sysProfiledALO} {
		p := rp.get(key)
		if p == nil {
			continue
		}
		if limit != nil {
			out = append(out, fmt.Sprintf("%s / pass-through: **%.2f** (target ≥ 0.40)", p.name, p.rate/limit.rate))
		}
		if goka != nil {
			out = append(out, fmt.Sprintf("%s / goka: **%.2f×** (target ≥ 2×)", p.name, p.rate/goka.rate))
		}
		if p.latRate > 0 {
			// The share actually run: -latency-eps sets the rate outright.
			out = append(out, fmt.Sprintf("%s p99 at %.0f events/s (%.0f%% of its maximum): **%s ms** (target < 250 ms at 50%%)",
				p.name, p.latRate, 100*p.latRate/p.rate, ms(quantile(p.lat, 0.99))))
		}
	}
	return out
}

// machine describes where the run happened.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%d CPUs (%s)%s, %s %s/%s", runtime.NumCPU(), model, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// markdown renders the whole report.
func (rp *report) markdown(png string) string {
	var b strings.Builder
	l := rp.load
	title := "profiled vs goka vs the limit"
	if len(rp.scales) > 0 {
		title = "profiled at scale"
	}
	fmt.Fprintf(&b, "# Benchmark harness: %s, %s\n\n", title, rp.started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- **Machine:** %s\n", machine())
	fmt.Fprintf(&b, "- **Command:** `%s` (from `cmd/bench`)\n", strings.Join(append([]string{"bench"}, rp.args[1:]...), " "))
	customers := fmt.Sprintf("%d customers", l.Customers)
	if len(rp.scales) > 0 {
		customers = "customers as in each row"
	}
	fmt.Fprintf(&b, "- **Load:** %s, %.1f orders and %.1f clickstream events per customer (Zipf s=%g), %.0f %% anonymous, %.0f %% late, %.0f %% duplicated, %.0f %% bad, seed %d\n",
		customers, l.OrdersPerCustomer, l.EventsPerCustomer, l.Skew, 100*l.AnonymousShare, 100*l.LateShare, 100*l.DuplicateShare, 100*l.BadShare, l.Seed)
	b.WriteString("- Each system runs alone on a fresh `profiled broker` (kfake, a separate process), one after the other.\n\n")
	if png != "" {
		fmt.Fprintf(&b, "![throughput and latency by system](%s)\n\n", png)
	}
	if rp.chartErr != "" {
		fmt.Fprintf(&b, "No chart: %s\n\n", rp.chartErr)
	}
	b.WriteString(rp.table())
	b.WriteString("\n")
	for _, r := range rp.results {
		if r.note != "" {
			fmt.Fprintf(&b, "- %s: %s\n", r.name, r.note)
		}
	}
	if rs := rp.ratios(); len(rs) > 0 {
		b.WriteString("\n")
		for _, s := range rs {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	if rp.compared != "" {
		fmt.Fprintf(&b, "\n**Final profiles, attribute by attribute:** %s\n", strings.TrimSpace(rp.compared))
		for _, m := range rp.mismatch[:min(20, len(rp.mismatch))] {
			fmt.Fprintf(&b, "- %s\n", m)
		}
	}
	b.WriteString(definitions)
	if rp.pprof != "" {
		b.WriteString("\n## CPU profile of the pipeline\n\n```\n" + rp.pprof + "\n```\n")
	}
	return b.String()
}

const definitions = `
## What is measured

- **events/s**: input records (all of them: duplicates, tombstones and bad
  records included) divided by the time from the first input record consumed
  to the last profile update visible. "First consumed" is when the harness
  sees the system's first write (its first fact, or the pass-through's first
  copy; read_uncommitted), "visible" is when the harness's read_committed
  consumer of the output topic receives it. The load is produced before the
  system starts; start-up is reported separately.
- **latency** (p50/p99/max): a second load (the same customers' next month)
  is produced at half the system's measured rate while it runs, each record
  stamped with its production time (its Kafka timestamp). An output record's
  latency is its arrival at the harness (read_committed) minus the timestamp
  it carries: the pass-through copies its input's, profiled stamps each
  profile update with the newest input record that changed it, so both are
  exact per record. goka stamps its own, so its updates are matched by
  profile id instead: arrival minus the production time of the newest input
  record of the same profile produced before that arrival (this can
  under-state it by at most the spacing of a profile's records).
- **peak RSS**: VmHWM of the system's process over both passes (anonymous
  plus file-backed memory); the scale table also gives the peaks of each,
  sampled every 250 ms from /proc: file-backed is the page cache of the
  process's memory-mapped files (Badger's tables and logs), which the
  kernel reclaims under pressure.
- **CPU s / M events**: user + system time of the system's process (from
  /proc) from its start to the end of the throughput pass, per million input
  records; **broker CPU** is the broker process's over the same span.
- goka's rows use goka v1.1.15 with sarama v1.46.3 and its LevelDB storage
  (its default), with the fixes in shared/docs/goka-on-kfake.md; goka
  produces with its default 100 ms flush interval.
`

// write writes the Markdown report and the chart into dir and returns
// their paths.
func (rp *report) write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	base := "bench-" + rp.started.Format("2006-01-02")
	if len(rp.scales) > 0 {
		base = "bench-scale-" + rp.started.Format("2006-01-02")
	}
	var paths []string
	png := ""
	img, err := rp.chart()
	if err != nil {
		rp.chartErr = err.Error()
	} else if img != nil {
		png = base + ".png"
		p := filepath.Join(dir, png)
		if err := os.WriteFile(p, img, 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	p := filepath.Join(dir, base+".md")
	if err := os.WriteFile(p, []byte(rp.markdown(png)), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", p, err)
	}
	return append([]string{p}, paths...), nil
}
