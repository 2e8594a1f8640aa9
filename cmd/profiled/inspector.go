package main

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/profiled/profiled/schemas/dictionary"
)

// The inspector is plain server-side HTML (html/template) with one small
// script and a style sheet, embedded in the binary: nothing to build, no
// third-party code in the browser.
//
//go:embed inspector
var inspectorFiles embed.FS

var inspectorTmpl = template.Must(template.ParseFS(inspectorFiles, "inspector/index.html"))

// inspectorPage serves the inspector at / and its assets under /inspector/.
type inspectorPage struct {
	data pageData
}

// pageData is what the page shows without any script: who this instance is
// and the data dictionary as a legend for the lookups.
type pageData struct {
	Version      string
	Group        string
	Instance     string
	Advertise    string
	AuthRequired bool
	Inputs       []string
	Profiles     string
	DLQ          string
	Attributes   []pageAttr
}

type pageAttr struct {
	Name, Type, Policy, Description, Sources string
}

func newInspectorPage(d *dictionary.File, instance, advertise string, auth bool) *inspectorPage {
	pd := pageData{
		Version: version, Group: d.Pipeline.Group, Instance: instance, Advertise: advertise,
		AuthRequired: auth, Profiles: d.Pipeline.ProfilesTopic, DLQ: d.Pipeline.DLQTopic,
	}
	for _, s := range d.Sources {
		topic := s.Topic
		if s.Pattern != nil {
			topic = "/" + s.Pattern.String() + "/"
		}
		pd.Inputs = append(pd.Inputs, topic)
	}
	for _, name := range d.Names {
		a := d.Attributes[name]
		pa := pageAttr{Name: name, Type: a.Type.String(), Policy: string(a.Policy), Description: a.Description}
		var from []string
		for _, s := range d.Sources {
			for _, m := range s.Attributes {
				if m.Target == a && !slices.Contains(from, s.Name) {
					from = append(from, s.Name)
				}
			}
			for _, c := range s.Counters {
				if c.Target == a && !slices.Contains(from, s.Name) {
					from = append(from, s.Name)
				}
			}
		}
		switch {
		case a.Derive != nil:
			pa.Policy = "derived"
			pa.Sources = a.Derive.Aggregate + " of " + a.Derive.Collection
			if a.Derive.Field != "" {
				pa.Sources += "." + a.Derive.Field
			}
		case a.Counter:
			pa.Policy = "counter"
			pa.Sources = strings.Join(from, ", ")
		default:
			pa.Sources = strings.Join(from, ", ")
		}
		pd.Attributes = append(pd.Attributes, pa)
	}
	return &inspectorPage{data: pd}
}

func (ip *inspectorPage) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", ip.serve)
	assets, _ := fs.Sub(inspectorFiles, "inspector") // a literal path of the embed: cannot fail
	mux.Handle("GET /inspector/", http.StripPrefix("/inspector/", http.FileServerFS(assets)))
}

func (ip *inspectorPage) serve(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The page itself holds no personal data; the lookups it makes are
	// answered with no-store.
	if err := inspectorTmpl.Execute(w, ip.data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// statsSampler keeps the pipeline's recent health for the inspector's
// charts: every interval it reads a few metrics from the registry, so that
// the page shows the last minutes at once instead of starting empty.
type statsSampler struct {
	g        prometheus.Gatherer
	repart   string // excluded from the input throughput: it is the pipeline's own
	instance string
	every    time.Duration
	keep     int

	mu      sync.Mutex
	samples []statSample // oldest first
}

type statSample struct {
	at                              time.Time
	input, updates, deadLetters     float64 // counters
	lag, freshSum, freshCount       float64
	assigned, restoring, restoreRem float64
}

func newStatsSampler(g prometheus.Gatherer, repart, instance string, every time.Duration) *statsSampler {
	return &statsSampler{g: g, repart: repart, instance: instance, every: every, keep: 151}
}

// run samples until ctx ends.
func (s *statsSampler) run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.take()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *statsSampler) take() {
	mfs, err := s.g.Gather()
	if err != nil && len(mfs) == 0 {
		return
	}
	smp := statSample{at: time.Now()}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "profiled_records_in_total":
				if labelValue(m.GetLabel(), "topic") != s.repart {
					smp.input += m.GetCounter().GetValue()
				}
			case "profiled_profile_updates_total":
				smp.updates += m.GetCounter().GetValue()
			case "profiled_dead_letters_total":
				smp.deadLetters += m.GetCounter().GetValue()
			case "profiled_consumer_lag_records":
				smp.lag += m.GetGauge().GetValue()
			case "profiled_profile_freshness_seconds":
				smp.freshSum += m.GetHistogram().GetSampleSum()
				smp.freshCount += float64(m.GetHistogram().GetSampleCount())
			case "profiled_partitions_assigned":
				smp.assigned += m.GetGauge().GetValue()
			case "profiled_partitions_restoring":
				smp.restoring += m.GetGauge().GetValue()
			case "profiled_restore_remaining_records":
				smp.restoreRem += m.GetGauge().GetValue()
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, smp)
	if len(s.samples) > s.keep {
		s.samples = slices.Delete(s.samples, 0, len(s.samples)-s.keep)
	}
}

// statsResponse is the body of GET /v1/stats.
type statsResponse struct {
	Instance        string  `json:"instance"`
	IntervalSeconds float64 `json:"interval_seconds"`
	// The latest sample.
	Partitions       float64 `json:"partitions"`
	Restoring        float64 `json:"restoring"`
	RestoreRemaining float64 `json:"restore_remaining"`
	Lag              float64 `json:"lag"`
	InputTotal       float64 `json:"input_total"`
	UpdatesTotal     float64 `json:"updates_total"`
	DeadLettersTotal float64 `json:"dead_letters_total"`
	// Points are rates and levels between consecutive samples, oldest first.
	Points []statPoint `json:"points"`
}

type statPoint struct {
	At                   string  `json:"at"`
	InputPerSecond       float64 `json:"input_per_second"`
	UpdatesPerSecond     float64 `json:"updates_per_second"`
	DeadLettersPerSecond float64 `json:"dead_letters_per_second"`
	Lag                  float64 `json:"lag"`
	// FreshnessSeconds is the mean freshness of the profile updates of the
	// interval; null when there were none.
	FreshnessSeconds *float64 `json:"freshness_seconds"`
}

func (s *statsSampler) snapshot() statsResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := statsResponse{Instance: s.instance, IntervalSeconds: s.every.Seconds(), Points: []statPoint{}}
	if n := len(s.samples); n > 0 {
		last := s.samples[n-1]
		out.Partitions, out.Restoring, out.RestoreRemaining, out.Lag = last.assigned, last.restoring, last.restoreRem, last.lag
		out.InputTotal, out.UpdatesTotal, out.DeadLettersTotal = last.input, last.updates, last.deadLetters
	}
	for i := 1; i < len(s.samples); i++ {
		a, b := s.samples[i-1], s.samples[i]
		dt := b.at.Sub(a.at).Seconds()
		if dt <= 0 {
			continue
		}
		rate := func(x, y float64) float64 { return max(0, y-x) / dt }
		p := statPoint{
			At:                   b.at.UTC().Format(time.RFC3339),
			InputPerSecond:       rate(a.input, b.input),
			UpdatesPerSecond:     rate(a.updates, b.updates),
			DeadLettersPerSecond: rate(a.deadLetters, b.deadLetters),
			Lag:                  b.lag,
		}
		if dc := b.freshCount - a.freshCount; dc > 0 {
			f := (b.freshSum - a.freshSum) / dc
			p.FreshnessSeconds = &f
		}
		out.Points = append(out.Points, p)
	}
	return out
}

func (s *statsSampler) serve(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.snapshot())
}

func labelValue(ls []*dto.LabelPair, name string) string {
	for _, l := range ls {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
