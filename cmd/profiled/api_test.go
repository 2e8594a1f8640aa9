package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
)

// jsonHTTPLine finds the HTTP address in "pipeline starting" logged as JSON.
var jsonHTTPLine = regexp.MustCompile(`"msg":"pipeline starting".*"http":"http://(127\.0\.0\.1:\d+)"`)

// runInstance is one "profiled run" started by startRunLogged.
type runInstance struct {
	http   string      // host:port of its HTTP server
	stderr *syncBuffer // its log
	stop   func()
}

// startRunLogged runs "profiled run" in-process with JSON logs at debug
// level and returns once its HTTP server is up.
func startRunLogged(t *testing.T, broker string, extra ...string) *runInstance {
	t.Helper()
	args := append([]string{"run", "--config", "../../deploy/config/dev.yaml", "--brokers", broker,
		"--data-dir", t.TempDir(), "--http-listen", "127.0.0.1:0",
		"--log-format", "json", "--log-level", "debug"}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	in := &runInstance{stderr: &syncBuffer{}}
	var stdout syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &stdout, in.stderr) }()
	stopped := false
	in.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("profiled run exited with %d:\n%s", code, tail(in.stderr.String(), 20))
			}
		case <-time.After(60 * time.Second):
			t.Errorf("profiled run did not stop within 60s")
		}
	}
	t.Cleanup(in.stop)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := jsonHTTPLine.FindStringSubmatch(in.stderr.String()); m != nil {
			in.http = m[1]
			return in
		}
		select {
		case code := <-done:
			t.Fatalf("profiled run exited early with %d:\n%s", code, in.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("profiled run did not start:\n%s", in.stderr.String())
	return nil
}

// produceRecords produces with Kafka's default partitioner, creating the
// topics (3 partitions) when missing, and returns the records with their
// partitions and offsets.
func produceRecords(t *testing.T, broker string, recs ...*kgo.Record) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics := map[string]bool{}
	for _, r := range recs {
		topics[r.Topic] = true
	}
	for topic := range topics {
		if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, -1, nil, topic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			t.Fatalf("creating %s: %v", topic, err)
		}
	}
	// Results come in completion order; the records themselves carry
	// their partition and offset once produced.
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing: %v", err)
	}
	return recs
}

// crmRecord is customerChange (a Debezium change of customer 7001) as a record.
func crmRecord(email string, tsUs int64) *kgo.Record {
	k, v, _ := strings.Cut(strings.TrimSuffix(customerChange(email, "DE", tsUs), "\n"), "|")
	return &kgo.Record{Topic: "crm.public.customers", Key: []byte(k), Value: []byte(v)}
}

// identifyRecord is a Segment identify of user with a new email.
func identifyRecord(user, email string, tsUs int64) *kgo.Record {
	ts := time.UnixMicro(tsUs).UTC().Format("2006-01-02T15:04:05.000Z")
	v, _ := json.Marshal(map[string]any{
		"type": "identify", "userId": user, "messageId": "identify-" + user + "-" + ts,
		"timestamp": ts, "sentAt": ts, "receivedAt": ts, "originalTimestamp": ts,
		"traits": map[string]any{"email": email},
	})
	return &kgo.Record{Topic: "clickstream", Key: []byte(user), Value: v}
}

// orderRecord is a Debezium insert of a paid order of customer 7001.
func orderRecord(id int, total string, tsUs int64) *kgo.Record {
	v := fmt.Sprintf(`{"before":null,"after":{"id":%d,"customer_id":7001,"status":"paid","total":%q,"currency":"EUR","created_at":%d},`+
		`"source":{"connector":"postgresql","name":"shop","ts_ms":%d,"ts_us":%d,"snapshot":"false","db":"shop","schema":"public","table":"orders","lsn":%d},"op":"c","ts_ms":%d}`,
		id, total, tsUs, tsUs/1000, tsUs, tsUs, tsUs/1000)
	return &kgo.Record{Topic: "shop.public.orders", Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: []byte(v)}
}

// pageRecord is a Segment page view of user.
func pageRecord(user, messageID string, tsUs int64) *kgo.Record {
	ts := time.UnixMicro(tsUs).UTC().Format("2006-01-02T15:04:05.000Z")
	v, _ := json.Marshal(map[string]any{
		"type": "page", "userId": user, "messageId": messageID, "name": "Home", "properties": map[string]any{"path": "/"},
		"timestamp": ts, "sentAt": ts, "receivedAt": ts, "originalTimestamp": ts,
	})
	return &kgo.Record{Topic: "clickstream", Key: []byte(user), Value: v}
}

// get performs a GET with an optional bearer token and extra headers.
func get(t *testing.T, url, token string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// waitProfile polls GET /v1/profiles/{id} until it answers 200 with ok(p).
func waitProfile(t *testing.T, addr, token, id string, ok func(*processor.ProfileLookup) bool) *processor.ProfileLookup {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		code, _, body := get(t, "http://"+addr+"/v1/profiles/"+id, token)
		if code == http.StatusOK {
			var p processor.ProfileLookup
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("lookup body: %v: %s", err, body)
			}
			if ok(&p) {
				return &p
			}
		}
		last = fmt.Sprintf("%d %s", code, body)
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("profile %s on %s never became as expected; last answer: %s", id, addr, last)
	return nil
}

func writeToken(t *testing.T) (token, file string) {
	t.Helper()
	token = randHex(t, 16)
	file = filepath.Join(t.TempDir(), "api-token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return token, file
}

// TestProfileAPIAcrossTwoInstances: two "profiled run" instances share the
// partitions. A profile whose name came from the CRM and whose newer email
// came from a clickstream identify is looked up on both: both answer the
// same, one of them by forwarding to the owner, and the lineage points at
// the records that set each value. The API needs its bearer token, a
// forwarded request is never forwarded again, and the JSON logs of both
// instances carry no personal value.
func TestProfileAPIAcrossTwoInstances(t *testing.T) {
	m, _ := startCmd(t, brokerReady, "broker", "--listen", "127.0.0.1:0", "--registry-listen", "")
	broker := m[1]
	token, tokenFile := writeToken(t)
	const t0 = int64(1_764_000_000_000_000)
	recs := produceRecords(t, broker,
		crmRecord("grace.hopper@crm.example", t0),
		identifyRecord("7001", "Grace@Navy.example", t0+3_600_000_000))
	crm, identify := recs[0], recs[1]

	a := startRunLogged(t, broker, "--api-token-file", tokenFile, "--instance-id", "a")
	b := startRunLogged(t, broker, "--api-token-file", tokenFile, "--instance-id", "b")

	// Both instances start at once, so the group may rebalance after the
	// first answers: partition 2 can move from a to b between two lookups,
	// and the CRM name takes one more hop (the repartition topic) than the
	// identify's email. The lookups are compared once the profile is
	// complete and both instances name the same owner; until then each
	// instance honestly serves what it owns.
	complete := func(p *processor.ProfileLookup) bool {
		return string(p.Attributes["email"].Value) == `"grace@navy.example"` &&
			string(p.Attributes["first_name"].Value) == `"Grace"`
	}
	var pa, pb *processor.ProfileLookup
	for settle := time.Now().Add(60 * time.Second); ; {
		pa = waitProfile(t, a.http, token, "7001", complete)
		pb = waitProfile(t, b.http, token, "7001", complete)
		if pa.ServedBy == pb.ServedBy || time.Now().After(settle) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if pa.ServedBy != pb.ServedBy || (pa.ServedBy != a.http && pa.ServedBy != b.http) {
		t.Errorf("served by %q and %q; want the same owner, one of %s and %s", pa.ServedBy, pb.ServedBy, a.http, b.http)
	}
	if !reflect.DeepEqual(pa, pb) {
		ja, _ := json.Marshal(pa)
		jb, _ := json.Marshal(pb)
		t.Errorf("the two instances answer differently:\n%s\n%s", ja, jb)
	}
	email, first := pa.Attributes["email"].Origin, pa.Attributes["first_name"].Origin
	if email == nil || email.Source != "clickstream" || email.Topic != "clickstream" ||
		email.Partition != identify.Partition || email.Offset != identify.Offset {
		t.Errorf("email lineage %+v, want clickstream/%d@%d", email, identify.Partition, identify.Offset)
	}
	if string(pa.Attributes["first_name"].Value) != `"Grace"` || first == nil || first.Source != "crm" ||
		first.Topic != "crm.public.customers" || first.Partition != crm.Partition || first.Offset != crm.Offset {
		t.Errorf("first_name = %s, lineage %+v; want Grace from crm.public.customers/%d@%d",
			pa.Attributes["first_name"].Value, first, crm.Partition, crm.Offset)
	}
	if p := pa.Attributes["email"].Policy; p != "lww" {
		t.Errorf("email policy %q", p)
	}

	// The owner and the other instance.
	owner, other := a, b
	if pa.ServedBy == b.http {
		owner, other = b, a
	}
	// A lookup forwarded once is not forwarded again: the non-owner answers
	// 421 and names the owner.
	code, hdr, body := get(t, "http://"+other.http+"/v1/profiles/7001", token, hopHeader, "test")
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || code != http.StatusMisdirectedRequest ||
		e.Owner != owner.http || hdr.Get("X-Profiled-Owner") != owner.http {
		t.Errorf("forwarded request to the non-owner: %d %s", code, body)
	}
	// The token is required, on either instance.
	for _, tok := range []string{"", "wrong-" + token} {
		if code, hdr, body := get(t, "http://"+other.http+"/v1/profiles/7001", tok); code != http.StatusUnauthorized ||
			!strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("token %q: %d %s", tok, code, body)
		}
	}
	if code, _, _ := get(t, "http://"+owner.http+"/v1/stats", ""); code != http.StatusUnauthorized {
		t.Errorf("/v1/stats without the token: %d", code)
	}
	// Probes and metrics stay open: they carry no personal data.
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/"} {
		if code, _, body := get(t, "http://"+other.http+path, ""); code != http.StatusOK {
			t.Errorf("GET %s without a token: %d %s", path, code, body)
		}
	}
	if code, _, body := get(t, "http://"+owner.http+"/v1/profiles/no-such-profile-"+randHex(t, 4), token); code != http.StatusNotFound &&
		code != http.StatusOK { // the other instance may own it and forward: then it is 404 there
		t.Errorf("unknown profile: %d %s", code, body)
	}

	a.stop()
	b.stop()
	for _, in := range []*runInstance{a, b} {
		logs := in.stderr.String()
		lines := 0
		sc := bufio.NewScanner(strings.NewReader(logs))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines++
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Errorf("a log line is not JSON: %v: %s", err, sc.Text())
			}
		}
		if lines < 5 {
			t.Errorf("only %d log lines", lines)
		}
		for _, v := range []string{"grace", "Grace", "Hopper", "navy.example", token} {
			if strings.Contains(logs, v) {
				t.Errorf("the log of %s contains %q", in.http, v)
			}
		}
	}
}

func TestAdvertised(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ flag, listen, want string }{
		{"", "127.0.0.1:8080", "127.0.0.1:8080"},
		{"", "0.0.0.0:8080", host + ":8080"},
		{"", "[::]:9000", host + ":9000"},
		{"profiled-0.profiled.prod.svc:8080", "0.0.0.0:8080", "profiled-0.profiled.prod.svc:8080"},
	}
	for _, c := range cases {
		got, err := advertised(c.flag, fakeAddr(c.listen))
		if err != nil || got != c.want {
			t.Errorf("advertised(%q, %s) = %q, %v; want %q", c.flag, c.listen, got, err, c.want)
		}
	}
	if _, err := advertised("no-port", fakeAddr("127.0.0.1:1")); err == nil {
		t.Error("an --advertise-addr without a port was accepted")
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

func TestAPITokenSources(t *testing.T) {
	token, file := writeToken(t)
	read, err := (&apiFlags{tokenFile: file}).tokenSource()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := read(); err != nil || string(b) != token {
		t.Errorf("token file: %q, %v", b, err)
	}
	// Rotated in place: the next request sees the new token.
	if err := os.WriteFile(file, []byte("rotated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := read(); string(b) != "rotated" {
		t.Errorf("after rotation: %q", b)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (&apiFlags{tokenFile: empty}).tokenSource(); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("an empty token file: %v", err)
	}
	if _, err := (&apiFlags{tokenFile: filepath.Join(t.TempDir(), "missing")}).tokenSource(); err == nil {
		t.Error("a missing token file was accepted")
	}
	t.Setenv(tokenEnv, "from-env")
	read, err = (&apiFlags{}).tokenSource()
	if err != nil || read == nil {
		t.Fatalf("env token: %v", err)
	}
	if b, _ := read(); string(b) != "from-env" {
		t.Errorf("env token: %q", b)
	}
	t.Setenv(tokenEnv, "")
	if read, err := (&apiFlags{}).tokenSource(); read != nil || err != nil {
		t.Errorf("no token configured: %v, %v", read != nil, err)
	}
}
