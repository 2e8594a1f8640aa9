package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor/kafkatest"
)

// The development broker compacts the compacted topics every
// --compact-every: a key written many times keeps its latest value.
func TestBrokerCompactEvery(t *testing.T) {
	m, _ := startCmd(t, brokerReady, "broker", "--listen", "127.0.0.1:0", "--registry-listen", "", "--compact-every", "1s")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(m[1]), kgo.DefaultProduceTopic("compacted"), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, "compacted"); err != nil {
		t.Fatal(err)
	}
	// One produce (one batch) per record: kfake never cleans the last
	// batch of a partition (its active segment), so the key of the last
	// record written appears again there.
	const writes = 20
	for i := range writes {
		key := []byte("k" + strconv.Itoa(i%2))
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: key, Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var latest map[string]string
	for n := 0; ; n++ {
		recs, err := kafkatest.ReadAll(ctx, []string{m[1]}, "compacted")
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) < writes {
			latest = map[string]string{}
			for _, r := range recs {
				latest[string(r.Key)] = string(r.Value)
			}
			break
		}
		if n == 50 {
			t.Fatalf("still %d records after 5 s with --compact-every 1s", len(recs))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if latest["k0"] != "18" || latest["k1"] != "19" {
		t.Fatalf("latest values after compaction: %v, want k0=18 k1=19", latest)
	}
}

func TestBrokerCompactEveryRefusesSubSecond(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"broker", "--listen", "127.0.0.1:0", "--registry-listen", "", "--compact-every", "10ms"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "--compact-every") {
		t.Fatalf("exit %d, stderr %q: want a refusal naming --compact-every", code, stderr.String())
	}
}
