package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/scenario"
)

// chromiumPath finds Debian's chromium; the inspector test must not pass
// without a browser.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: the inspector test drives a real headless browser; install Debian's chromium " +
		"(apt-get install chromium); .ci/run installs it")
	return ""
}

// chromium runs headless Chromium on url with args and returns its stdout.
// Virtual time lets the page's scripts (fetches, timers) run for budget
// before the DOM is dumped or the screenshot taken.
func chromium(t *testing.T, budget time.Duration, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--no-first-run", "--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=" + strconv.Itoa(int(budget.Milliseconds())),
	}, args...)
	cmd := exec.CommandContext(ctx, chromiumPath(t), append(all, url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, tail(errb.String(), 20))
	}
	return out.Bytes()
}

var rowTag = regexp.MustCompile(`<tr ([^>]*data-attr="[^"]+"[^>]*)>(.*?)</tr>`)
var tagAttr = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)

// attributeRows parses the attribute table of a dumped DOM: attribute name
// to the row's data attributes and, under "value", its value cell's text.
func attributeRows(dom string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, m := range rowTag.FindAllStringSubmatch(dom, -1) {
		attrs := map[string]string{}
		for _, a := range tagAttr.FindAllStringSubmatch(m[1], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		if v := regexp.MustCompile(`<td class="value">(.*?)</td>`).FindStringSubmatch(m[2]); v != nil {
			attrs["value"] = html.UnescapeString(v[1])
		}
		out[attrs["data-attr"]] = attrs
	}
	return out
}

// TestInspectorInChromium runs the pipeline on a stream of the reference
// scenario plus one customer whose name came from the CRM and whose newer
// email came from the website, opens the inspector in headless Chromium,
// looks the customer up and checks what the page shows: every attribute
// with its value and the record that set it, and the health charts drawn
// from live samples. It saves a screenshot as a test artifact (go test
// -artifacts keeps it; PROFILED_UPDATE_SCREENSHOT=1 also writes
// docs/inspector.png for the README).
func TestInspectorInChromium(t *testing.T) {
	browser := chromiumPath(t) // fail before starting anything
	m, _ := startCmd(t, brokerReady, "broker", "--listen", "127.0.0.1:0", "--registry-listen", "")
	broker := m[1]
	token, tokenFile := writeToken(t)

	cfg := scenario.DefaultConfig()
	cfg.Customers = 150
	sc := scenario.Generate(cfg)
	stream := make([]*kgo.Record, 0, len(sc.Records))
	for _, r := range sc.Records {
		stream = append(stream, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value})
	}
	const t0 = int64(1_764_000_000_000_000)
	mine := produceRecords(t, broker,
		crmRecord("grace.hopper@crm.example", t0),
		orderRecord(90001, "129.90", t0+600_000_000),
		pageRecord("7001", "page-1", t0+1_200_000_000),
		pageRecord("7001", "page-2", t0+1_800_000_000),
		identifyRecord("7001", "Grace@Navy.example", t0+3_600_000_000))
	crm, order, identify := mine[0], mine[1], mine[4]
	in := startRunLogged(t, broker, "--api-token-file", tokenFile)
	// The scenario arrives in waves while the page's sampler watches, so
	// that the throughput chart has a shape.
	const waves = 5
	for i := range waves {
		lo, hi := i*len(stream)/waves, (i+1)*len(stream)/waves
		produceRecords(t, broker, stream[lo:hi]...)
		time.Sleep(2 * time.Second)
	}
	waitProfile(t, in.http, token, "7001", func(p *processor.ProfileLookup) bool {
		return string(p.Attributes["email"].Value) == `"grace@navy.example"`
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, _, body := get(t, "http://"+in.http+"/v1/stats", token)
		var st statsResponse
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("/v1/stats: %v: %s", err, body)
		}
		if len(st.Points) >= 6 && st.UpdatesTotal > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stats sampler has %d points: %s", len(st.Points), body)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The token travels in the fragment, which never reaches the server.
	page := "http://" + in.http + "/?id=7001#token=" + token
	dom := string(chromium(t, 8*time.Second, page, "--dump-dom"))
	rows := attributeRows(dom)
	email, first := rows["email"], rows["first_name"]
	want := map[string]string{
		"value": "grace@navy.example", "data-policy": "lww", "data-source": "clickstream", "data-topic": "clickstream",
		"data-partition": fmt.Sprint(identify.Partition), "data-offset": fmt.Sprint(identify.Offset),
	}
	for k, v := range want {
		if email[k] != v {
			t.Errorf("email row: %s = %q, want %q (row %v)", k, email[k], v, email)
		}
	}
	want = map[string]string{
		"value": "Grace", "data-source": "crm", "data-topic": "crm.public.customers",
		"data-partition": fmt.Sprint(crm.Partition), "data-offset": fmt.Sprint(crm.Offset),
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("first_name row: %s = %q, want %q (row %v)", k, first[k], v, first)
		}
	}
	want = map[string]string{
		"value": "129.90", "data-policy": "derived", "data-source": "orders", "data-topic": "shop.public.orders",
		"data-partition": fmt.Sprint(order.Partition), "data-offset": fmt.Sprint(order.Offset),
	}
	for k, v := range want {
		if rows["lifetime_value"][k] != v {
			t.Errorf("lifetime_value row: %s = %q, want %q (row %v)", k, rows["lifetime_value"][k], v, rows["lifetime_value"])
		}
	}
	if pv := rows["page_views"]; pv["value"] != "2" || pv["data-policy"] != "counter" {
		t.Errorf("page_views row: %v", pv)
	}
	if len(rows) < 12 {
		t.Errorf("the page shows %d attributes: %v", len(rows), rows)
	}
	if !strings.Contains(dom, `<dd id="profile-version">`) || !regexp.MustCompile(`<dd id="profile-version">[1-9]`).MatchString(dom) {
		t.Errorf("no profile version on the page")
	}
	if !strings.Contains(dom, `data-record="clickstream/`) {
		t.Errorf("the recent changes do not list the identify record")
	}
	// Charts: each series a polyline with several points.
	for _, series := range []string{"input", "updates", "lag", "freshness", "dead"} {
		m := regexp.MustCompile(`<polyline points="([^"]*)" class="[^"]*" data-series="` + series + `"`).FindStringSubmatch(dom)
		if len(m) < 2 || len(strings.Fields(m[1])) < 3 {
			t.Errorf("chart %s: %v", series, m)
		}
	}
	if !regexp.MustCompile(`id="summary">\d+ partitions owned`).MatchString(dom) {
		t.Errorf("no health summary on the page")
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}

	// The page without the token says so instead of showing anything.
	dom = string(chromium(t, 3*time.Second, "http://"+in.http+"/?id=7001", "--dump-dom"))
	if !strings.Contains(dom, "401") || strings.Contains(dom, "grace@navy.example") {
		t.Errorf("without a token the page shows: %s", tail(dom, 30))
	}

	shot := filepath.Join(t.ArtifactDir(), "inspector.png")
	chromium(t, 8*time.Second, page, "--window-size=1280,1400", "--screenshot="+shot)
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("no screenshot from %s: %v", browser, err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	if os.Getenv("PROFILED_UPDATE_SCREENSHOT") != "" {
		if err := os.WriteFile("../../docs/inspector.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, _ := get(t, "http://"+in.http+"/inspector/inspector.js", ""); code != http.StatusOK {
		t.Errorf("the inspector's script: %d", code)
	}
}
