package sink

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/dictionary"
)

func rec(off int64, id string, version uint64, attrs map[string]any, changed ...string) *kgo.Record {
	if attrs == nil {
		return &kgo.Record{Topic: "profiles", Key: []byte(id), Offset: off}
	}
	b, _ := json.Marshal(map[string]any{"profile_id": id, "version": version, "updated_at": "2026-01-01T00:00:00Z",
		"attributes": attrs, "changed": changed})
	return &kgo.Record{Topic: "profiles", Key: []byte(id), Value: b, Offset: off}
}

func testMapping() *Mapping {
	str := &dictionary.Attribute{Name: "first_name", Type: schemas.KindString}
	date := &dictionary.Attribute{Name: "birth_date", Type: schemas.KindDate}
	dec := &dictionary.Attribute{Name: "ltv", Type: schemas.KindDecimal}
	return NewMapping(&dictionary.Sink{Email: "email", Consent: "opt_in", Fields: []dictionary.SinkField{
		{Name: "FNAME", From: "first_name", Attr: str},
		{Name: "BDAY", From: "birth_date", Attr: date, As: dictionary.AsBirthday},
		{Name: "LTV", From: "ltv", Attr: dec},
		{Name: "V", From: dictionary.FieldVersion},
		{Name: "ID", From: dictionary.FieldProfileID},
	}})
}

// TestCoalesce: one change per profile, the newest version, changed sets
// united, deletes naming the address the ESP holds.
func TestCoalesce(t *testing.T) {
	m := testMapping()
	a := func(email string, opt any, name string) map[string]any {
		return map[string]any{"email": email, "opt_in": opt, "first_name": name, "birth_date": "1990-02-03", "ltv": "12.50"}
	}
	k := newKnown()
	k.emails["gone"], k.emails["moved"] = "gone@x.com", "old@x.com"
	k.optedOut["b"] = true
	emails := k.emails
	recs := []*kgo.Record{
		rec(10, "a", 1, a("A@X.com ", true, "Ann"), "email", "first_name"),
		rec(11, "b", 4, a("b@x.com", false, "Bo"), "first_name"),
		rec(12, "a", 2, a("a@x.com", false, "Ann"), "opt_in"),
		rec(13, "gone", 0, a("new@x.com", true, "G"), "email"),
		rec(14, "gone", 0, nil),
		rec(15, "moved", 9, a("new@x.com", true, "M"), "email"),
		{Topic: "profiles", Key: []byte("bad"), Value: []byte("{"), Offset: 16},
		rec(17, "re", 3, nil),
		rec(18, "re", 4, a("re@x.com", true, "R"), "ltv"),
	}
	cs, fails := m.coalesce(recs, k)
	if len(fails) != 1 || fails[0].Change.ProfileID != "bad" || fails[0].Change.Origin.Offset != 16 {
		t.Fatalf("failures: %+v", fails)
	}
	byID := map[string]*Change{}
	var order []string
	for _, c := range cs {
		byID[c.ProfileID] = c
		order = append(order, c.ProfileID)
	}
	if want := []string{"b", "a", "gone", "moved", "re"}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v (by newest offset)", order, want)
	}
	ca := byID["a"]
	if ca.Version != 2 || ca.Email != "a@x.com" || ca.Subscribed || !ca.ConsentChanged || ca.Records != 2 ||
		!slices.Equal(ca.Changed, []string{"email", "first_name", "opt_in"}) || !ca.Full || ca.Origin.Offset != 12 {
		t.Errorf("a: %+v", ca)
	}
	if got := ca.Fields[1].Value; got != "02/03" {
		t.Errorf("birthday %v", got)
	}
	if got := ca.Fields[2].Value; got != json.Number("12.50") {
		t.Errorf("decimal %#v", got)
	}
	if !ca.Fields[3].Changed || ca.Fields[4].Changed || ca.Fields[3].Value != json.Number("2") || ca.Fields[4].Value != "a" {
		t.Errorf("pseudo fields %+v", ca.Fields)
	}
	cb := byID["b"]
	if cb.Full || cb.ConsentChanged || cb.Resubscribed || len(cb.SendFields(true)) != 2 || cb.SendFields(true)[0].Name != "FNAME" {
		t.Errorf("b: partial fields %+v", cb.SendFields(true))
	}
	if g := byID["gone"]; !g.Deleted || g.Email != "gone@x.com" {
		t.Errorf("a delete names the address the ESP holds: %+v", g)
	}
	if mv := byID["moved"]; mv.PrevEmail != "old@x.com" || !mv.Full {
		t.Errorf("moved: %+v", mv)
	}
	if mv := byID["moved"]; mv.Resubscribed {
		t.Errorf("moved was never without consent: %+v", mv)
	}
	if re := byID["re"]; re.Deleted || !re.Full {
		t.Errorf("re-created after a delete: %+v", re)
	}
	if emails["a"] != "a@x.com" || emails["gone"] != "" || emails["moved"] != "new@x.com" {
		t.Errorf("emails after the batch: %v", emails)
	}
}

func TestConvert(t *testing.T) {
	ts := &dictionary.Attribute{Type: schemas.KindTimestamp}
	date := &dictionary.Attribute{Type: schemas.KindDate}
	i := &dictionary.Attribute{Type: schemas.KindInt}
	b := &dictionary.Attribute{Type: schemas.KindBool}
	cases := []struct {
		v    any
		f    dictionary.SinkField
		want any
	}{
		{nil, dictionary.SinkField{Attr: i}, nil},
		{json.Number("3"), dictionary.SinkField{Attr: i}, json.Number("3")},
		{json.Number("3"), dictionary.SinkField{Attr: i, As: dictionary.AsString}, "3"},
		{true, dictionary.SinkField{Attr: b}, true},
		{true, dictionary.SinkField{Attr: b, As: dictionary.AsString}, "true"},
		{"2026-01-02T03:04:05.123Z", dictionary.SinkField{Attr: ts}, "2026-01-02T03:04:05.123Z"},
		{"2026-01-02T03:04:05.123Z", dictionary.SinkField{Attr: ts, As: dictionary.AsTimestamp}, "2026-01-02T03:04:05Z"},
		{"2026-01-02T03:04:05.123Z", dictionary.SinkField{Attr: ts, As: dictionary.AsDate}, "2026-01-02"},
		{"1990-12-31", dictionary.SinkField{Attr: date, As: dictionary.AsBirthday}, "12/31"},
		{"1990-12-31", dictionary.SinkField{Attr: date, As: dictionary.AsTimestamp}, "1990-12-31T00:00:00Z"},
		{"12.50", dictionary.SinkField{Attr: &dictionary.Attribute{Type: schemas.KindDecimal}}, json.Number("12.50")},
	}
	for _, c := range cases {
		if got := convert(c.v, c.f); got != c.want {
			t.Errorf("convert(%#v, as %q) = %#v, want %#v", c.v, c.f.As, got, c.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Now()
	cases := []struct {
		h        http.Header
		min, max time.Duration
	}{
		{http.Header{"Retry-After": {"3"}}, 3 * time.Second, 3 * time.Second},
		{http.Header{"Retry-After": {now.Add(5 * time.Second).UTC().Format(http.TimeFormat)}}, 3 * time.Second, 5 * time.Second},
		{http.Header{"X-Ratelimit-Retry-After": {"2"}}, 2 * time.Second, 2 * time.Second},
		{http.Header{"X-Ratelimit-Reset": {strconv.FormatInt(now.Add(4*time.Second).Unix(), 10)}}, 2 * time.Second, 4 * time.Second},
		{http.Header{"Ratelimit-Reset": {"7"}}, 7 * time.Second, 7 * time.Second},
		{http.Header{"Retry-After": {"86400"}}, maxRetryAfter, maxRetryAfter},
		{http.Header{}, 0, 0},
	}
	for _, c := range cases {
		if got := RetryAfter(c.h); got < c.min || got > c.max {
			t.Errorf("RetryAfter(%v) = %v, want %v..%v", c.h, got, c.min, c.max)
		}
	}
}

func TestChunk(t *testing.T) {
	sizes := []int{5, 5, 5, 20, 1, 1, 1}
	got := Chunk(sizes, 3, 12, func(n int) int { return n })
	want := [][]int{{5, 5}, {5}, {20}, {1, 1, 1}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("%v, want %v", got, want)
		}
	}
}

// TestClientRetriesAndClassifies: 503 and 429 are retried (429 honouring
// Retry-After and not counting as a failed attempt), other 4xx are
// returned, 401 is fatal, and MaxAttempts bounds failures.
func TestClientRetriesAndClassifies(t *testing.T) {
	var calls atomic.Int32
	script := map[string][]int{"/flaky": {503, 429, 503, 200}, "/bad": {400}, "/auth": {401}, "/down": {500, 500, 500, 500}}
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mu.Lock()
		n := seen[r.URL.Path]
		seen[r.URL.Path]++
		mu.Unlock()
		codes := script[r.URL.Path]
		code := codes[min(n, len(codes)-1)]
		if code == 429 {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"why":"` + strconv.Itoa(code) + `"}`))
	}))
	defer srv.Close()
	c := NewClient(ClientOptions{Rate: dictionary.SinkRate{PerSecond: 1000, Burst: 100, Concurrency: 2},
		Retry: dictionary.SinkRetry{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 3}})
	ctx := context.Background()
	do := func(path string) error {
		_, err := c.Do(ctx, Request{Op: "t", Method: http.MethodGet, URL: srv.URL + path})
		return err
	}
	if err := do("/flaky"); err != nil {
		t.Errorf("flaky: %v", err)
	}
	var he *HTTPError
	if err := do("/bad"); !errors.As(err, &he) || he.Status != 400 || errors.Is(err, ErrFatal) || string(he.Body) != `{"why":"400"}` {
		t.Errorf("bad: %v", err)
	}
	if err := do("/auth"); !errors.Is(err, ErrFatal) {
		t.Errorf("auth: %v", err)
	}
	if err := do("/down"); !errors.As(err, &he) || he.Status != 500 || he.Attempts != 3 {
		t.Errorf("down: %v", err)
	}
	if got := seen["/flaky"]; got != 4 {
		t.Errorf("flaky took %d calls", got)
	}
}

// TestLimiterBoundsRate: however many goroutines call, requests arrive at
// no more than burst + rate per second and no more than the concurrency
// cap at once.
func TestLimiterBoundsRate(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	inflight, peak := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		inflight--
		mu.Unlock()
	}))
	defer srv.Close()
	const rate, burst, conc = 40, 5, 3
	c := NewClient(ClientOptions{Rate: dictionary.SinkRate{PerSecond: rate, Burst: burst, Concurrency: conc}})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 7 {
				if _, err := c.Do(context.Background(), Request{Op: "t", Method: http.MethodGet, URL: srv.URL}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	j, most := 0, 0
	for i := range arrivals {
		for arrivals[i].Sub(arrivals[j]) >= time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	if most > burst+rate || peak > conc {
		t.Errorf("%d requests within a second (limit %d), %d at once (limit %d)", most, burst+rate, peak, conc)
	}
	if len(arrivals) != 70 {
		t.Errorf("%d requests", len(arrivals))
	}
}

// TestLimiterAdapts: a 429 lowers the rate and sets a pause; successes
// raise it back, never above the configured rate.
func TestLimiterAdapts(t *testing.T) {
	m := newMetrics(nil)
	l := newLimiter(dictionary.SinkRate{PerSecond: 100, Burst: 10, Concurrency: 2}, m)
	l.throttled(50 * time.Millisecond)
	if got := l.bucket.Limit(); got != 70 {
		t.Fatalf("after a 429: %v/s, want 70", got)
	}
	start := time.Now()
	release, err := l.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release()
	if time.Since(start) < 40*time.Millisecond {
		t.Errorf("acquire did not wait for the Retry-After pause")
	}
	l.mu.Lock()
	l.last429, l.lastChange = time.Now().Add(-2*time.Second), time.Now().Add(-2*time.Second)
	l.mu.Unlock()
	l.succeeded()
	if got := l.bucket.Limit(); got != 77 {
		t.Errorf("after a quiet second: %v/s, want 77", got)
	}
	for range 20 {
		l.mu.Lock()
		l.lastChange = time.Now().Add(-2 * time.Second)
		l.mu.Unlock()
		l.succeeded()
	}
	if got := l.bucket.Limit(); got != 100 {
		t.Errorf("recovered to %v/s, want the configured 100", got)
	}
}

// TestClientNetworkExhaustion: with MaxAttempts, a server that cannot be
// reached yields an HTTPError without status, which dead-letters the batch.
func TestClientNetworkExhaustion(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := NewClient(ClientOptions{Retry: dictionary.SinkRetry{InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxAttempts: 2}})
	_, err := c.Do(context.Background(), Request{Op: "t", Method: http.MethodGet, URL: url})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 0 || he.Attempts != 2 {
		t.Fatalf("got %v", err)
	}
}

// TestMetricsLint: names, units and help texts follow Prometheus'
// conventions, and a connector label from the registerer works.
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"connector": "x"}, reg))
	m.requests.WithLabelValues("op", "2xx").Inc()
	m.latency.WithLabelValues("op").Observe(0.1)
	m.retries.WithLabelValues("throttled").Inc()
	m.contacts.WithLabelValues("upsert").Inc()
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	// A second connector on the same registry registers beside it.
	_ = newMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"connector": "y"}, reg))
}
