package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/profiled/profiled/schemas/dictionary"
)

// ErrFatal marks errors that retrying cannot fix (rejected credentials, a
// missing permission, a configuration the ESP refuses): the sink stops.
var ErrFatal = errors.New("sink: fatal")

// Fatal wraps err so that errors.Is(err, ErrFatal) holds.
func Fatal(err error) error { return fmt.Errorf("%w: %w", ErrFatal, err) }

// HTTPError is a response the client does not retry (a 4xx other than 408
// and 429), or the last response once MaxAttempts were used up.
type HTTPError struct {
	Op       string
	Status   int    // 0: no response (network errors until MaxAttempts)
	Body     []byte // at most 4 KiB of the response body
	Attempts int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s: HTTP %d after %d attempt(s): %s", e.Op, e.Status, e.Attempts, strings.TrimSpace(string(e.Body)))
}

// Request is one HTTP request to the ESP.
type Request struct {
	Op     string // bounded operation name for metrics, e.g. "batch_upsert"
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Response is a successful (2xx) response, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ClientOptions configures a Client.
type ClientOptions struct {
	Rate  dictionary.SinkRate
	Retry dictionary.SinkRetry
	// HTTP is the HTTP client; nil means one with a 2-minute timeout
	// (Mailchimp cuts requests at 120 s).
	HTTP *http.Client
	// Registerer receives the connector's metrics; wrap it with the
	// connector's name (prometheus.WrapRegistererWith) when several share
	// one registry. Nil registers nowhere.
	Registerer prometheus.Registerer
	// RetryAfter reads how long to wait from a 429 response; nil means
	// RetryAfter (the standard and the common vendor headers).
	RetryAfter func(http.Header) time.Duration
}

// Client sends requests to one ESP account: it waits for the rate limiter
// and the concurrency cap, retries 408, 429, 5xx and network errors with
// exponential backoff and jitter, slows down after 429s and records
// metrics. It is safe for concurrent use.
type Client struct {
	http       *http.Client
	retry      dictionary.SinkRetry
	retryAfter func(http.Header) time.Duration
	lim        *limiter
	m          *metrics
}

// NewClient builds a client.
func NewClient(o ClientOptions) *Client {
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 2 * time.Minute}
	}
	if o.RetryAfter == nil {
		o.RetryAfter = RetryAfter
	}
	if o.Retry.InitialBackoff <= 0 {
		o.Retry.InitialBackoff = 200 * time.Millisecond
	}
	if o.Retry.MaxBackoff < o.Retry.InitialBackoff {
		o.Retry.MaxBackoff = max(30*time.Second, o.Retry.InitialBackoff)
	}
	m := newMetrics(o.Registerer)
	return &Client{http: o.HTTP, retry: o.Retry, retryAfter: o.RetryAfter, lim: newLimiter(o.Rate, m), m: m}
}

// Do sends req until it succeeds (2xx), fails for good, or ctx ends. 401
// and 403 are Fatal; other 4xx (but 408 and 429) return *HTTPError at once.
// 429s are retried without counting against MaxAttempts.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	failures := 0
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, req)
		var delay time.Duration
		var reason string
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("%s: %w", req.Op, ctx.Err())
		case err != nil:
			failures++
			reason, delay = "network", c.backoff(failures)
			if c.exhausted(failures) {
				// Reported like a refused request (status 0: no response),
				// so that the batch goes to the dead letters.
				return nil, &HTTPError{Op: req.Op, Body: []byte(err.Error()), Attempts: attempt}
			}
		case resp.Status >= 200 && resp.Status < 300:
			c.lim.succeeded()
			return resp, nil
		case resp.Status == http.StatusTooManyRequests:
			c.m.throttled.Inc()
			wait := c.retryAfter(resp.Header)
			c.lim.throttled(wait)
			reason, delay = "throttled", max(wait, c.backoff(attempt))
		case resp.Status >= 500 || resp.Status == http.StatusRequestTimeout:
			failures++
			reason, delay = "server_error", c.backoff(failures)
			if c.exhausted(failures) {
				return nil, &HTTPError{Op: req.Op, Status: resp.Status, Body: clipBody(resp.Body), Attempts: attempt}
			}
		case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
			return nil, Fatal(&HTTPError{Op: req.Op, Status: resp.Status, Body: clipBody(resp.Body), Attempts: attempt})
		default:
			return nil, &HTTPError{Op: req.Op, Status: resp.Status, Body: clipBody(resp.Body), Attempts: attempt}
		}
		c.m.retries.WithLabelValues(reason).Inc()
		if err := sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("%s: %w", req.Op, err)
		}
	}
}

func (c *Client) exhausted(failures int) bool {
	return c.retry.MaxAttempts > 0 && failures >= c.retry.MaxAttempts
}

// backoff is exponential with jitter: a random duration in [d/2, d] where d
// doubles from InitialBackoff up to MaxBackoff. The jitter keeps the
// partitions' workers from retrying in lockstep after a shared outage.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.InitialBackoff
	for i := 1; i < attempt && d < c.retry.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.retry.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// once sends one attempt; a non-nil response may have any status.
func (c *Client) once(ctx context.Context, req Request) (*Response, error) {
	release, err := c.lim.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, fmt.Errorf("%s: building request: %w", req.Op, err)
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	start := time.Now()
	resp, err := c.http.Do(hr)
	c.m.latency.WithLabelValues(req.Op).Observe(time.Since(start).Seconds())
	if err != nil {
		c.m.requests.WithLabelValues(req.Op, "error").Inc()
		return nil, fmt.Errorf("%s: %w", req.Op, err)
	}
	defer func() { _ = resp.Body.Close() }()
	// A response body of an ESP is a few KiB; the cap only guards memory.
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		c.m.requests.WithLabelValues(req.Op, "error").Inc()
		return nil, fmt.Errorf("%s: reading response: %w", req.Op, err)
	}
	c.m.requests.WithLabelValues(req.Op, statusClass(resp.StatusCode)).Inc()
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func statusClass(code int) string {
	switch {
	case code == http.StatusTooManyRequests:
		return "429"
	case code >= 500:
		return "5xx"
	case code >= 400:
		return "4xx"
	case code >= 300:
		return "3xx"
	}
	return "2xx"
}

func clipBody(b []byte) []byte {
	if len(b) > 4096 {
		return b[:4096]
	}
	return b
}

// maxRetryAfter caps what a server may ask for, so that a wrong header
// cannot park the sink for hours.
const maxRetryAfter = 10 * time.Minute

// RetryAfter reads how long a 429 asks to wait, from the first of:
// Retry-After (seconds or an HTTP date; Klaviyo and the standard),
// X-Ratelimit-Retry-After (seconds; Braze), X-RateLimit-Reset (Unix epoch
// seconds; SendGrid, Braze; small values are read as seconds),
// RateLimit-Reset (seconds). Zero when none is usable.
func RetryAfter(h http.Header) time.Duration {
	now := time.Now()
	secs := func(v string) (time.Duration, bool) {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 {
			return 0, false
		}
		return time.Duration(f * float64(time.Second)), true
	}
	pick := func(d time.Duration) time.Duration { return min(max(d, 0), maxRetryAfter) }
	if v := h.Get("Retry-After"); v != "" {
		if d, ok := secs(v); ok {
			return pick(d)
		}
		if t, err := http.ParseTime(v); err == nil {
			return pick(t.Sub(now))
		}
	}
	if v := h.Get("X-Ratelimit-Retry-After"); v != "" {
		if d, ok := secs(v); ok {
			return pick(d)
		}
	}
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if d, ok := secs(v); ok {
			if d > 1_000_000_000*time.Second { // an epoch
				return pick(time.Unix(0, 0).Add(d).Sub(now))
			}
			return pick(d)
		}
	}
	if v := h.Get("RateLimit-Reset"); v != "" {
		if d, ok := secs(v); ok {
			return pick(d)
		}
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// limiter is the per-account gate: a concurrency cap, a token bucket, and a
// pause that a 429 sets. After a 429 the bucket's rate drops by 30% (at most
// once a second, down to a tenth of the configured rate); each second
// without a 429 raises it by 10% back up to the configured rate, never
// above it (the rudder-server adaptive throttler's numbers).
type limiter struct {
	sem     chan struct{}
	bucket  *rate.Limiter
	maxRate rate.Limit
	m       *metrics

	mu         sync.Mutex
	pauseUntil time.Time
	last429    time.Time
	lastChange time.Time
}

func newLimiter(r dictionary.SinkRate, m *metrics) *limiter {
	if r.Concurrency <= 0 {
		r.Concurrency = 4
	}
	if r.PerSecond <= 0 {
		r.PerSecond = 10
	}
	if r.Burst <= 0 {
		r.Burst = max(1, int(r.PerSecond))
	}
	m.rateLimit.Set(r.PerSecond)
	return &limiter{
		sem:     make(chan struct{}, r.Concurrency),
		bucket:  rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst),
		maxRate: rate.Limit(r.PerSecond),
		m:       m,
	}
}

// acquire waits for a Retry-After pause to end, a concurrency slot and a
// token, in that order: the token is taken last, right before the request
// goes out, so that requests held back by the cap cannot leave in a burst
// the bucket did not allow.
func (l *limiter) acquire(ctx context.Context) (release func(), err error) {
	start := time.Now()
	for {
		l.mu.Lock()
		wait := time.Until(l.pauseUntil)
		l.mu.Unlock()
		if wait <= 0 {
			break
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := l.bucket.Wait(ctx); err != nil {
		<-l.sem
		return nil, err
	}
	if waited := time.Since(start); waited > time.Millisecond {
		l.m.limiterWaits.Inc()
		l.m.limiterWait.Add(waited.Seconds())
	}
	return func() { <-l.sem }, nil
}

func (l *limiter) throttled(retryAfter time.Duration) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last429 = now
	if until := now.Add(retryAfter); until.After(l.pauseUntil) {
		l.pauseUntil = until
	}
	if now.Sub(l.lastChange) < time.Second {
		return
	}
	l.lastChange = now
	r := max(l.bucket.Limit()*0.7, l.maxRate/10)
	l.bucket.SetLimit(r)
	l.m.rateLimit.Set(float64(r))
}

func (l *limiter) succeeded() {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.bucket.Limit()
	if cur >= l.maxRate || now.Sub(l.last429) < time.Second || now.Sub(l.lastChange) < time.Second {
		return
	}
	l.lastChange = now
	r := min(cur*1.1, l.maxRate)
	l.bucket.SetLimit(r)
	l.m.rateLimit.Set(float64(r))
}
