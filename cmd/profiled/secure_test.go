package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/connectors/kafka"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/schemas/tlstest"
)

// secureCluster is kfake with TLS from a CA made in the test and SCRAM
// users, plus an authenticated admin client.
func secureCluster(t *testing.T, user, password string) (*kfake.Cluster, *tlstest.PKI, *kgo.Client) {
	t.Helper()
	pki := tlstest.NewPKI(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(pki.ServerTLS(false)),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", user, password))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	opts, err := kafka.ClientOpts(dictionary.Kafka{
		TLS:  &dictionary.TLS{CAFile: pki.CA.CAFile},
		SASL: &dictionary.SASL{Mechanism: dictionary.MechScramSHA512, Username: user, Password: dictionary.LiteralSecret(password)},
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return c, pki, cl
}

// secureConfig is dev.yaml plus kafka and store sections that take the
// password from an environment variable and the key from a file.
func secureConfig(t *testing.T, caFile, user, passwordEnv, keyFile string) string {
	t.Helper()
	base, err := os.ReadFile("../../deploy/config/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf(`
kafka:
  tls: {ca_file: %s}
  sasl:
    mechanism: SCRAM-SHA-512
    username: %s
    password: {env: %s}
store:
  encryption_key: {file: %s}
`, caFile, user, passwordEnv, keyFile)
	path := filepath.Join(t.TempDir(), "secure.yaml")
	if err := os.WriteFile(path, append(base, extra...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var httpLine = regexp.MustCompile(`http=http://(127\.0\.0\.1:\d+)`)

// TestSecureRunNeverWritesSecrets runs "profiled run" against a kfake that
// requires TLS (a CA made in the test) and SCRAM-SHA-512, with the password
// in an environment variable and the state encryption key in a file, at
// debug log level. The reference scenario flows end to end; afterwards no
// log line and no /metrics line contains the password, the key, or any
// mapped personal value (emails, names, phone numbers) of the input.
func TestSecureRunNeverWritesSecrets(t *testing.T) {
	const user = "profiled-svc"
	password := "pw-" + randHex(t, 12)
	keyHex := randHex(t, 32)
	c, pki, admin := secureCluster(t, user, password)
	brokers := c.ListenAddrs()[0]

	keyFile := filepath.Join(t.TempDir(), "state.key")
	if err := os.WriteFile(keyFile, []byte(keyHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROFILED_TEST_KAFKA_PASSWORD", password)
	cfgPath := secureConfig(t, pki.CA.CAFile, user, "PROFILED_TEST_KAFKA_PASSWORD", keyFile)

	// The input topics exist before the pipeline (run does not create them).
	cfg := scenario.DefaultConfig()
	cfg.Customers = 60
	sc := scenario.Generate(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(admin)
	for _, topic := range []string{scenario.TopicCustomers, scenario.TopicOrders, scenario.TopicClickstream} {
		if _, err := adm.CreateTopic(ctx, 3, -1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	recs := make([]*kgo.Record, len(sc.Records))
	for i, r := range sc.Records {
		recs[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}
	}
	if err := admin.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	runCtx, stopRun := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(runCtx, []string{"run", "--config", cfgPath, "--brokers", brokers,
			"--data-dir", t.TempDir(), "--http-listen", "127.0.0.1:0", "--log-level", "debug"}, &stdout, &stderr)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopRun()
			if code := <-done; code != 0 {
				t.Errorf("profiled run exited with %d:\n%s", code, stderr.String())
			}
		}
	}
	defer stop()

	// Wait for every expected profile on the profiles topic.
	var metrics string
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := distinctKeys(t, admin, "profiles")
		if got >= len(sc.Expected) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d profiles after 90s; stderr:\n%s", got, len(sc.Expected), tail(stderr.String(), 30))
		}
		select {
		case code := <-done:
			t.Fatalf("profiled run exited early with %d:\n%s", code, stderr.String())
		case <-time.After(300 * time.Millisecond):
		}
	}
	m := httpLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no http address in the logs:\n%s", stderr.String())
	}
	resp, err := http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	metrics = string(body)
	if !strings.Contains(metrics, "profiled_profile_updates_total") {
		t.Fatalf("metrics do not look like profiled's:\n%s", tail(metrics, 20))
	}
	stop()

	written := stdout.String() + stderr.String() + metrics
	if len(strings.Split(stderr.String(), "\n")) < 5 {
		t.Fatalf("suspiciously few log lines:\n%s", stderr.String())
	}
	secrets := map[string]string{"password": password, "key (hex)": keyHex, "key (upper hex)": strings.ToUpper(keyHex)}
	for what, s := range secrets {
		if strings.Contains(written, s) {
			t.Errorf("the %s appears in the logs or metrics", what)
		}
	}
	// The rejected records carry personal values too; their reasons (which
	// quote them) go to the dead-letter topic, never to the log.
	for _, v := range []string{"not-an-email", "Mallory"} {
		if strings.Contains(written, v) {
			t.Errorf("a rejected record's value %q appears in the logs or metrics", v)
		}
	}
	leaks, checked := 0, 0
	for id, attrs := range sc.Expected {
		for _, name := range []string{"email", "first_name", "last_name", "phone"} {
			v, ok := attrs[name].(string)
			if !ok || len(v) < 4 {
				continue
			}
			checked++
			if strings.Contains(written, v) {
				leaks++
				if leaks <= 5 {
					t.Errorf("profile %s: %s value %q appears in the logs or metrics", id, name, v)
				}
			}
		}
	}
	if leaks > 5 {
		t.Errorf("... %d personal values in all", leaks)
	}
	if checked < 100 {
		t.Fatalf("only %d personal values to look for: the scenario is too small to prove anything", checked)
	}
	t.Logf("looked for %d personal values and 3 secret forms in %d log lines and %d metrics lines",
		checked, strings.Count(stderr.String(), "\n"), strings.Count(metrics, "\n"))
}

// TestRunFailsFastOnBadCredentials: a wrong password or an untrusted broker
// certificate stops "profiled run" at start-up with a message that says
// which, and never prints the password.
func TestRunFailsFastOnBadCredentials(t *testing.T) {
	const user = "profiled-svc"
	c, pki, _ := secureCluster(t, user, "right-password")
	brokers := c.ListenAddrs()[0]
	keyFile := filepath.Join(t.TempDir(), "state.key")
	if err := os.WriteFile(keyFile, []byte(randHex(t, 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, password, ca, want string
	}{
		{"wrong password", "wrong-password", pki.CA.CAFile, "authentication failed for user " + user},
		{"untrusted certificate", "right-password", pki.Other.CAFile, "not trusted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PROFILED_TEST_KAFKA_PASSWORD", tc.password)
			cfgPath := secureConfig(t, tc.ca, user, "PROFILED_TEST_KAFKA_PASSWORD", keyFile)
			var stdout, stderr syncBuffer
			start := time.Now()
			code := run(context.Background(), []string{"run", "--config", cfgPath, "--brokers", brokers,
				"--data-dir", t.TempDir(), "--http-listen", "127.0.0.1:0"}, &stdout, &stderr)
			took := time.Since(start)
			if code != 1 {
				t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr.String())
			}
			if strings.Contains(stderr.String(), tc.password) {
				t.Errorf("the password appears on stderr")
			}
			if took > 15*time.Second {
				t.Errorf("took %v to fail", took)
			}
		})
	}
}

func distinctKeys(t *testing.T, cl *kgo.Client, topic string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0
	}
	want := map[int32]int64{}
	ends.Each(func(e kadm.ListedOffset) {
		if e.Offset > 0 {
			want[e.Partition] = e.Offset
		}
	})
	if len(want) == 0 {
		return 0
	}
	offsets := map[string]map[int32]kgo.Offset{topic: {}}
	for p := range want {
		offsets[topic][p] = kgo.NewOffset().AtStart()
	}
	// Opts returns every option the client was made with: seeds, TLS, SASL.
	rd, err := kgo.NewClient(append(cl.Opts(), kgo.ConsumePartitions(offsets))...)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	keys := map[string]bool{}
	for len(want) > 0 {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			keys[string(r.Key)] = true
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return len(keys)
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
