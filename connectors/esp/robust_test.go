package esp_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/connectors/esp/esptest"
	"github.com/profiled/profiled/connectors/sink"
)

// TestStormsAndOutages: while updates stream in, the ESP answers storms of
// 429s (with its own headers: Retry-After, X-RateLimit-Reset,
// X-Ratelimit-Retry-After, or none for Mailchimp) and bursts of 503s.
// Nothing is lost, no write lowers a contact's version, and the server
// never saw more requests in a second than the token bucket allows (burst
// + rate) nor more at once than the concurrency cap.
func TestStormsAndOutages(t *testing.T) {
	l := limits{rate: 40, burst: 5, conc: 3, maxItems: 40}
	for _, c := range connectors {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			srv, url := c.start(esptest.Options{APIKey: apiKey, VersionField: c.versionField})
			defer srv.Close()
			d := e.dict(c.yaml(url, l))
			r := e.startSink(d, nil)
			g := newSynth(7)
			for round := range 4 {
				e.produce(g.updates(150, 200))
				switch round {
				case 0, 2:
					srv.Storm429(3)
				case 1:
					srv.Burst5xx(6)
				}
				time.Sleep(300 * time.Millisecond)
			}
			e.produce(toSlice(tombstone("p1"), tombstone("p2")))
			e.waitSynced(d, 90*time.Second)
			if err := r.stop(); err != nil {
				t.Fatalf("sink: %v", err)
			}
			e.check(c, srv, e.history(), nil)
			st := srv.Stats()
			if st.Regressions != 0 {
				t.Errorf("%d writes lowered a contact's version", st.Regressions)
			}
			if limit := l.burst + int(l.rate); st.MaxPerSecond > limit {
				t.Errorf("the server saw %d requests within one second; the sink allows %d (burst %d + %g/s)",
					st.MaxPerSecond, limit, l.burst, l.rate)
			}
			if st.MaxConcurrency > l.conc {
				t.Errorf("the server saw %d requests at once; concurrency is %d", st.MaxConcurrency, l.conc)
			}
			if st.Throttled < 6 || st.ServerErrors < 6 {
				t.Errorf("faults not injected: %d 429s, %d 5xx", st.Throttled, st.ServerErrors)
			}
			if r.metric("profiled_sink_throttled_total") < 6 || r.metric("profiled_sink_retries_total") < 12 {
				t.Errorf("metrics: %v throttled, %v retries", r.metric("profiled_sink_throttled_total"), r.metric("profiled_sink_retries_total"))
			}
			t.Logf("%s: %d requests (max %d/s, %d at once), %d contacts sent, %d 429s, %d 5xx",
				c.name, st.Requests, st.MaxPerSecond, st.MaxConcurrency, st.Contacts, st.Throttled, st.ServerErrors)
		})
	}
}

// TestKillMidBatch: a sink is stopped while its batches are being retried
// (the server answers 503 to everything) and is given no time to finish:
// the in-flight batches are abandoned uncommitted, as a crash leaves them.
// A new instance in the same group resends them, and the ESP ends up with
// every final profile.
func TestKillMidBatch(t *testing.T) {
	for _, c := range []connector{connectors[0], connectors[2]} { // mailchimp (sync), klaviyo (async jobs)
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			srv, url := c.start(esptest.Options{APIKey: apiKey, VersionField: c.versionField})
			defer srv.Close()
			// Slow enough that the 300 profiles take seconds to deliver:
			// the faults must start while most are still to be sent (at
			// 200 requests of 25 a second, a loaded machine could deliver
			// them all between two looks at the server).
			d := e.dict(c.yaml(url, limits{rate: 20, burst: 2, conc: 2, maxItems: 5}))
			g := newSynth(11)
			e.produce(g.updates(300, 3000))
			r := e.startSink(d, func(o *sink.Options) { o.DrainTimeout = time.Millisecond })
			deadline := time.Now().Add(30 * time.Second)
			for srv.Stats().Contacts < 50 {
				if time.Now().After(deadline) {
					t.Fatal("the sink sent nothing")
				}
				time.Sleep(5 * time.Millisecond)
			}
			srv.Burst5xx(1_000_000)
			time.Sleep(200 * time.Millisecond)
			if err := r.stop(); err != nil {
				t.Fatalf("stopping: %v", err)
			}
			before := len(srv.Contacts())
			srv.ClearFaults()
			final, _ := e.finalState()
			if before >= len(final) {
				t.Fatalf("the kill came too late: %d of %d profiles already delivered", before, len(final))
			}
			r2 := e.startSink(d, nil)
			e.waitSynced(d, 60*time.Second)
			if err := r2.stop(); err != nil {
				t.Fatalf("sink: %v", err)
			}
			e.check(c, srv, e.history(), nil)
			if st := srv.Stats(); st.Regressions != 0 {
				t.Errorf("%d writes lowered a contact's version", st.Regressions)
			}
			t.Logf("%s: %d of %d profiles delivered at the kill", c.name, before, len(final))
		})
	}
}

// TestDeadLetters: profiles whose address the ESP rejects (and, for
// Klaviyo, a phone number its import job rejects) land on
// profiled.sink.dlq with the ESP's reason, the profile id and the record's
// origin; every other profile is delivered.
func TestDeadLetters(t *testing.T) {
	reasons := map[string]string{
		"mailchimp": "looks fake or invalid",
		"sendgrid":  "invalid email",
		"klaviyo":   "Invalid email address",
		"braze":     "'email' is not a valid email",
		"webhook":   "invalid email address",
	}
	for _, c := range connectors {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			srv, url := c.start(esptest.Options{APIKey: apiKey, VersionField: c.versionField})
			defer srv.Close()
			d := e.dict(c.yaml(url, fastLimits))
			g := newSynth(3)
			bad := map[string]bool{"p3": true, "p14": true, "p25": true}
			for id := range bad {
				g.bad[id] = true
			}
			if c.name == "klaviyo" {
				g.phone["p7"], bad["p7"] = true, true
			}
			e.produce(g.updates(40, 400))
			for id := range bad {
				e.produce(toSlice(g.next(id))) // every bad profile has an update
			}
			r := e.startSink(d, nil)
			e.waitSynced(d, 60*time.Second)
			if err := r.stop(); err != nil {
				t.Fatalf("sink: %v", err)
			}
			e.check(c, srv, e.history(), bad)
			got := map[string]bool{}
			for _, rec := range e.readAll(sink.DefaultDLQTopic) {
				h := map[string]string{}
				for _, x := range rec.Headers {
					h[x.Key] = string(x.Value)
				}
				id := h[sink.HeaderProfileID]
				got[id] = true
				if !bad[id] {
					t.Errorf("dead letter for good profile %s: %s", id, h[sink.HeaderError])
					continue
				}
				want := reasons[c.name]
				if id == "p7" {
					want = "Invalid phone number format"
				}
				if !strings.Contains(h[sink.HeaderError], want) {
					t.Errorf("profile %s: reason %q, want the ESP's %q", id, h[sink.HeaderError], want)
				}
				off, err := strconv.ParseInt(h[sink.HeaderSourceOffset], 10, 64)
				if h[sink.HeaderSink] != d.Sinks[0].Name || h[sink.HeaderSourceTopic] != "profiles" || err != nil ||
					string(rec.Key) != id || len(rec.Value) == 0 || off < 0 {
					t.Errorf("dead letter of %s: headers %v, key %q", id, h, rec.Key)
				}
			}
			for id := range bad {
				if !got[id] {
					t.Errorf("no dead letter for profile %s", id)
				}
			}
			if n := r.metric("profiled_sink_dead_letters_total"); n < float64(len(bad)) {
				t.Errorf("dead letters metric %v", n)
			}
		})
	}
}

// TestInstancesSharePartitions: two instances of one connector split the
// partitions; one of them leaves while updates keep coming (its partitions
// are revoked, in-flight batches finish and commit first) and the other
// takes over. The ESP ends with every final profile and no version
// regression.
func TestInstancesSharePartitions(t *testing.T) {
	c := connectors[4] // webhook
	e := newEnv(t)
	srv, url := c.start(esptest.Options{APIKey: apiKey, VersionField: c.versionField})
	defer srv.Close()
	d := e.dict(c.yaml(url, limits{rate: 200, burst: 20, conc: 4, maxItems: 20}))
	a := e.startSink(d, nil)
	b := e.startSink(d, nil)
	g := newSynth(5)
	for range 3 {
		e.produce(g.updates(200, 500))
		time.Sleep(300 * time.Millisecond)
	}
	if a.metric("profiled_sink_records_total") == 0 || b.metric("profiled_sink_records_total") == 0 {
		t.Fatalf("the instances did not share the work: %v and %v records",
			a.metric("profiled_sink_records_total"), b.metric("profiled_sink_records_total"))
	}
	if err := a.stop(); err != nil {
		t.Fatalf("stopping the first instance: %v", err)
	}
	for range 3 {
		e.produce(g.updates(200, 500))
		time.Sleep(100 * time.Millisecond)
	}
	e.waitSynced(d, 60*time.Second)
	if err := b.stop(); err != nil {
		t.Fatalf("sink: %v", err)
	}
	e.check(c, srv, e.history(), nil)
	if st := srv.Stats(); st.Regressions != 0 {
		t.Errorf("%d writes lowered a contact's version", st.Regressions)
	}
}
