package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var startedLine = regexp.MustCompile(`broker on (127\.0\.0\.1:\d+), pipeline up \(http://([0-9.:]+)/metrics\)`)

// startDev runs "profiled dev" in-process and returns the broker and HTTP
// addresses once it is up.
func startDev(t *testing.T, args ...string) (broker, httpAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"dev", "--broker-listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"}, args...), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("profiled dev exited with %d; stderr:\n%s", code, stderr.String())
			}
		case <-time.After(60 * time.Second):
			t.Errorf("profiled dev did not shut down within 60s")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := startedLine.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], m[2]
		}
		select {
		case code := <-done:
			t.Fatalf("profiled dev exited early with %d; stderr:\n%s", code, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("profiled dev did not start; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	return "", ""
}

func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat not found: this interop test needs Debian's kcat (apt-get install kcat); .ci/run installs it")
	}
	return p
}

// kcat runs kcat with stdin and returns its stdout.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcatPath(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

type profileMsg struct {
	ProfileID  string         `json:"profile_id"`
	Version    int            `json:"version"`
	Attributes map[string]any `json:"attributes"`
	Changed    []string       `json:"changed"`
}

// profileVersions reads the profiles topic with kcat and returns every
// version of one profile.
func profileVersions(t *testing.T, broker, id string) []profileMsg {
	t.Helper()
	out := kcat(t, "", "-b", broker, "-C", "-t", "profiles", "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n")
	var vs []profileMsg
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, "\t")
		if !ok || k != id {
			continue
		}
		var p profileMsg
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			t.Fatalf("profile %s is not JSON: %v: %s", id, err, v)
		}
		vs = append(vs, p)
	}
	return vs
}

func waitVersions(t *testing.T, broker, id string, n int) []profileMsg {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		vs := profileVersions(t, broker, id)
		if len(vs) >= n {
			return vs
		}
		if time.Now().After(deadline) {
			t.Fatalf("profile %s: %d versions after 30s, want %d", id, len(vs), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func customerChange(email, country string, tsUs int64) string {
	return fmt.Sprintf(`{"id":7001}|{"before":null,"after":{"id":7001,"email":%q,"first_name":"Grace","last_name":"Hopper","phone":"(212) 555-0100","country":%q,"birth_date":-23034,"marketing_opt_in":true,"updated_at":%d},"source":{"connector":"postgresql","name":"crm","ts_ms":%d,"ts_us":%d,"snapshot":"false","db":"crm","schema":"public","table":"customers","lsn":%d},"op":"u","ts_ms":1}`,
		email, country, tsUs, tsUs/1000, tsUs, tsUs) + "\n"
}

// TestDevWithKcat is the README's walk-through, run by a third-party client:
// kcat produces Debezium changes into "profiled dev" and reads the profiles
// and the dead-letter topic back.
func TestDevWithKcat(t *testing.T) {
	broker, httpAddr := startDev(t)
	produce := func(line string) {
		kcat(t, line, "-b", broker, "-P", "-t", "crm.public.customers", "-K|", "-X", "partitioner=murmur2_random")
	}

	const t0 = int64(1_764_000_000_000_000)
	produce(customerChange("  Grace.Hopper@Example.com ", "us", t0))
	v := waitVersions(t, broker, "7001", 1)[0]
	want := map[string]any{
		"email": "grace.hopper@example.com", "first_name": "Grace", "last_name": "Hopper",
		"phone": "+12125550100", "country": "US", "birth_date": "1906-12-09", "marketing_opt_in": true,
	}
	for k, w := range want {
		if v.Attributes[k] != w {
			t.Errorf("attribute %s = %v, want %v", k, v.Attributes[k], w)
		}
	}
	if v.Version != 1 {
		t.Errorf("first version is %d", v.Version)
	}

	// An older change loses: nothing is emitted. A newer one emits version 2.
	produce(customerChange("old@example.com", "US", t0-3_600_000_000))
	produce(customerChange("grace@navy.example", "US", t0+1_000_000))
	vs := waitVersions(t, broker, "7001", 2)
	if len(vs) != 2 || vs[1].Version != 2 || vs[1].Attributes["email"] != "grace@navy.example" ||
		len(vs[1].Changed) != 1 || vs[1].Changed[0] != "email" {
		t.Fatalf("after an older and a newer change: %+v", vs)
	}

	// A record that breaks a rule goes to the dead-letter topic with its reason.
	produce(customerChange("x@example.com", "USA", t0+2_000_000))
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := kcat(t, "", "-b", broker, "-C", "-t", "profiled.dlq", "-o", "beginning", "-e", "-q", "-f", "%h\n")
		if strings.Contains(out, "profiled.source.topic=crm.public.customers") && strings.Contains(out, "USA") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter for country USA; dlq headers:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := len(profileVersions(t, broker, "7001")); n != 2 {
		t.Errorf("the rejected record changed the profile: %d versions", n)
	}

	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if path == "/metrics" && !strings.Contains(string(body), `profiled_dead_letters_total{reason="validate",stage="ingest"} 1`) {
			t.Errorf("metrics do not count the dead letter:\n%s", grepLines(string(body), "profiled_"))
		}
	}
}

// TestDevDemo checks that --demo publishes a stream whose profiles appear.
func TestDevDemo(t *testing.T) {
	broker, _ := startDev(t, "--demo", "--demo-customers", "40", "--partitions", "3")
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := kcat(t, "", "-b", broker, "-C", "-t", "profiles", "-o", "beginning", "-e", "-q", "-f", "%k\n")
		keys := map[string]bool{}
		for _, k := range strings.Fields(out) {
			keys[k] = true
		}
		if len(keys) >= 40 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d distinct profiles after 60s", len(keys))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
