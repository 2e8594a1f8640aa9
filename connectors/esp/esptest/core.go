// Package esptest has strict local servers for the ESPs the sink connectors
// talk to: Mailchimp, SendGrid, Klaviyo, Braze and a webhook receiver. Each
// enforces its API's contract as ../shared/docs/esp-apis.md documents it
// (authentication, paths, body shape, batch count and byte limits, 429 with
// that ESP's headers, asynchronous jobs, per-item errors): a request the
// real API would reject, it rejects. Each keeps the final contact state, so
// that tests can compare it with the final profiles.
//
// Common knobs (Options, Faults): the ESP's own rate limit, a 429 storm or a
// 5xx burst on the next N requests, and email addresses under the reserved
// .invalid top-level domain, which every server rejects per item as an
// invalid address. Each server measures the highest request rate over any
// one-second window and the highest concurrency it saw, so that tests can
// assert a sink never exceeded its configured limits.
package esptest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a server.
type Options struct {
	// APIKey is the only key accepted. Required (webhook: the HMAC secret,
	// "" for unsigned).
	APIKey string
	// RatePerSecond is the ESP's own limit over a fixed one-second window:
	// requests beyond it get a 429. Zero: no limit.
	RatePerSecond int
	// RetryAfter is what 429s ask to wait; zero means one second.
	RetryAfter time.Duration
	// JobPolls is how many status polls an asynchronous job answers
	// "pending" before it is done; zero means 2.
	JobPolls int
	// VersionField names the field that carries the profile's version
	// ($version mapped): a write that lowers it counts as a regression.
	VersionField string
}

// Contact is one contact as the ESP holds it, normalized across servers.
type Contact struct {
	Key        string         // what the ESP keys it by: email or external id
	Email      string         // "" when it has none
	Subscribed bool           // may receive marketing email
	Status     string         // the ESP's own word for the subscription state
	Fields     map[string]any // the fields it holds, by the ESP's field name
}

// Stats are what a server measured.
type Stats struct {
	Requests       int            // every request, rejected ones included
	ByOp           map[string]int // by "METHOD path-pattern"
	Contacts       int            // contact objects received in upsert requests
	Throttled      int            // 429s sent
	ServerErrors   int            // 5xx sent
	MaxPerSecond   int            // most requests that arrived within any one second
	MaxConcurrency int            // most requests in progress at once
	Regressions    int            // writes that lowered VersionField
}

// core is the part every server shares: measurement, faults, rate limit.
type core struct {
	opts Options
	srv  *httptest.Server

	mu          sync.Mutex
	arrivals    []time.Time
	stats       Stats
	inflight    int
	storm       int // next requests to answer 429
	burst       int // next requests to answer 503
	window      time.Time
	windowN     int
	versions    map[string]float64
	throttle    func(w http.ResponseWriter, retryAfter time.Duration)
	unavailable func(w http.ResponseWriter)
}

func newCore(o Options, throttle func(http.ResponseWriter, time.Duration), unavailable func(http.ResponseWriter)) *core {
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.JobPolls <= 0 {
		o.JobPolls = 2
	}
	return &core{opts: o, stats: Stats{ByOp: map[string]int{}}, versions: map[string]float64{},
		throttle: throttle, unavailable: unavailable}
}

// Storm429 answers the next n requests with 429 and the ESP's headers.
func (c *core) Storm429(n int) { c.mu.Lock(); c.storm += n; c.mu.Unlock() }

// Burst5xx answers the next n requests with 503.
func (c *core) Burst5xx(n int) { c.mu.Lock(); c.burst += n; c.mu.Unlock() }

// ClearFaults cancels pending storms and bursts.
func (c *core) ClearFaults() { c.mu.Lock(); c.storm, c.burst = 0, 0; c.mu.Unlock() }

// Stats returns what the server measured so far.
func (c *core) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.ByOp = make(map[string]int, len(c.stats.ByOp))
	for k, v := range c.stats.ByOp {
		s.ByOp[k] = v
	}
	// Most arrivals within any window [t, t+1s).
	j := 0
	for i := range c.arrivals {
		for c.arrivals[i].Sub(c.arrivals[j]) >= time.Second {
			j++
		}
		s.MaxPerSecond = max(s.MaxPerSecond, i-j+1)
	}
	return s
}

// URL is the server's base URL.
func (c *core) URL() string { return c.srv.URL }

// Close shuts the server down.
func (c *core) Close() { c.srv.Close() }

// serve wraps an ESP's handler: it measures, then applies faults and the
// rate limit (after authentication: the ESPs count authenticated calls),
// then runs h. op names the route for Stats.ByOp.
func (c *core) serve(op string, auth func(http.ResponseWriter, *http.Request) bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		c.mu.Lock()
		c.arrivals = append(c.arrivals, now)
		c.stats.Requests++
		c.stats.ByOp[op]++
		c.inflight++
		c.stats.MaxConcurrency = max(c.stats.MaxConcurrency, c.inflight)
		c.mu.Unlock()
		defer func() { c.mu.Lock(); c.inflight--; c.mu.Unlock() }()
		if auth != nil && !auth(w, r) {
			return
		}
		c.mu.Lock()
		var fault string
		switch {
		case c.storm > 0:
			c.storm--
			fault = "429"
		case c.burst > 0:
			c.burst--
			fault = "5xx"
		case c.opts.RatePerSecond > 0:
			if now.Sub(c.window) >= time.Second {
				c.window, c.windowN = now, 0
			}
			c.windowN++
			if c.windowN > c.opts.RatePerSecond {
				fault = "429"
			}
		}
		switch fault {
		case "429":
			c.stats.Throttled++
		case "5xx":
			c.stats.ServerErrors++
		}
		c.mu.Unlock()
		switch fault {
		case "429":
			c.throttle(w, c.opts.RetryAfter)
			return
		case "5xx":
			c.unavailable(w)
			return
		}
		h(w, r)
	}
}

// body reads a request body of at most limit bytes; false (after answering
// with tooLarge) when it is larger.
func body(w http.ResponseWriter, r *http.Request, limit int, tooLarge func(http.ResponseWriter)) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil || len(b) > limit {
		tooLarge(w)
		return nil, false
	}
	return b, true
}

// decodeStrict decodes JSON, rejecting unknown fields.
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// emailRE is a plausible address; the reserved .invalid domain is
// rejected as the ESPs reject fake addresses.
var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// ValidEmail reports whether the servers accept an address.
func ValidEmail(s string) bool {
	return len(s) <= 254 && emailRE.MatchString(s) && !strings.HasSuffix(strings.ToLower(s), ".invalid")
}

// count adds contacts received in an upsert.
func (c *core) count(n int) { c.mu.Lock(); c.stats.Contacts += n; c.mu.Unlock() }

// version checks a write of the version field of a contact; the caller
// holds no lock.
func (c *core) version(key string, fields map[string]any) {
	if c.opts.VersionField == "" {
		return
	}
	v, ok := fields[c.opts.VersionField]
	if !ok || v == nil {
		return
	}
	f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.versions[key]; ok && f < old {
		c.stats.Regressions++
		return
	}
	c.versions[key] = f
}

// resetVersion forgets a deleted contact's version.
func (c *core) resetVersion(key string) {
	c.mu.Lock()
	delete(c.versions, key)
	c.mu.Unlock()
}

func cloneFields(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func epochIn(d time.Duration) string {
	return strconv.FormatInt(time.Now().Add(d).Add(999*time.Millisecond).Unix(), 10)
}

func secondsOf(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
