package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/connectors/esp/esptest"
)

// sinkConfigFile writes dev.yaml with one webhook sink whose HMAC secret
// comes from the environment variable HOOK_SECRET.
func sinkConfigFile(t *testing.T, url string) string {
	t.Helper()
	base, err := os.ReadFile("../../deploy/config/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "sinks.yaml")
	sinks := "\nsinks:\n  - name: hook\n    type: webhook\n    url: " + url + "\n    secret: {env: HOOK_SECRET}\n" +
		"    consent: marketing_opt_in\n    batch: {max_wait: 100ms}\n"
	if err := os.WriteFile(cfg, append(base, sinks...), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSinkCommand runs "profiled sink" against a standalone broker: the
// profiles produced to the topic reach the webhook receiver, signed with
// the secret from the environment (which no log line shows), and the
// command serves /readyz and /metrics with the connector's metrics.
func TestSinkCommand(t *testing.T) {
	const secret = "s3cr3t-hmac-key-value"
	t.Setenv("HOOK_SECRET", secret)
	m, _ := startCmd(t, brokerReady, "broker", "--listen", "127.0.0.1:0")
	broker := m[1]
	hook := esptest.NewWebhook(esptest.Options{APIKey: secret})
	defer hook.Close()

	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, "profiles"); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range 20 {
		id := fmt.Sprint(i)
		v, _ := json.Marshal(map[string]any{"profile_id": id, "version": 1, "updated_at": "2026-01-01T00:00:00Z",
			"attributes": map[string]any{"email": "c" + id + "@example.com", "marketing_opt_in": i%2 == 0}, "changed": []string{"email"}})
		recs = append(recs, &kgo.Record{Topic: "profiles", Key: []byte(id), Value: v})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	up := regexp.MustCompile(`msg="sink connector starting".*http=http://(127\.0\.0\.1:\d+)`)
	var stderrCopy func() string
	m, stop := startCmdOutput(t, up, &stderrCopy, "sink", "--config", sinkConfigFile(t, hook.URL()),
		"--connector", "hook", "--brokers", broker, "--http-listen", "127.0.0.1:0")
	httpAddr := m[1]
	deadline := time.Now().Add(30 * time.Second)
	for len(hook.Contacts()) < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("the webhook got %d of 20 contacts", len(hook.Contacts()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c := hook.Contacts()["4"]; c.Email != "c4@example.com" || !c.Subscribed {
		t.Errorf("contact 4: %+v", c)
	}
	if c := hook.Contacts()["5"]; c.Subscribed {
		t.Errorf("contact 5 has no consent but is subscribed")
	}
	if h := hook.Header("X-Profiled-Signature"); !strings.HasPrefix(h, "t=") {
		t.Errorf("signature header %q", h)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d", code)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{`profiled_sink_requests_total{connector="hook",op="post",status="2xx"}`,
		`profiled_sink_contacts_total{connector="hook",op="upsert"} 20`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	stop()
	if strings.Contains(stderrCopy(), secret) {
		t.Errorf("the secret appears in the log")
	}
}

// TestSinkCommandErrors: usage mistakes exit 2; an unknown connector and a
// missing secret exit 1 saying what is wrong, without the secret's value.
func TestSinkCommandErrors(t *testing.T) {
	cfg := sinkConfigFile(t, "http://127.0.0.1:1/hook")
	cases := []struct {
		args []string
		env  string
		code int
		frag string
	}{
		{[]string{"sink", "--config", cfg}, "x", 2, "missing --connector"},
		{[]string{"sink", "--config", cfg, "--connector", "mailchimp", "--brokers", "127.0.0.1:1"}, "x", 1,
			`connector "mailchimp" is not in the configuration's sinks (configured: hook)`},
		{[]string{"sink", "--config", cfg, "--connector", "hook", "--brokers", "127.0.0.1:1"}, "", 1,
			"environment variable HOOK_SECRET is not set"},
	}
	for _, c := range cases {
		t.Setenv("HOOK_SECRET", c.env)
		var stdout, stderr syncBuffer
		code := run(context.Background(), c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.frag) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant exit %d and %q", c.args, code, stderr.String(), c.code, c.frag)
		}
	}
}
