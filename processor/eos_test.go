package processor_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/scenario"
)

// killSwitch gives an instance's Kafka clients a dialer that can be cut:
// every connection is closed at once and no new one is opened, which is
// what the cluster sees when a machine dies. The instance cannot leave the
// group or end its transaction; the broker evicts it after its session
// timeout and aborts its transaction after the transaction timeout.
type killSwitch struct {
	mu    sync.Mutex
	dead  bool
	conns []net.Conn
}

func (k *killSwitch) dial(ctx context.Context, network, host string) (net.Conn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dead {
		return nil, errors.New("killed")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, host)
	if err == nil {
		k.conns = append(k.conns, c)
	}
	return c, err
}

func (k *killSwitch) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dead = true
	for _, c := range k.conns {
		_ = c.Close()
	}
}

// failoverOpts: a dead member is evicted after kfake's minimum session
// timeout, and its open transaction aborted a little before.
func failoverOpts(ks *killSwitch) func(*processor.Options) {
	return func(o *processor.Options) {
		o.TransactionTimeout = 5 * time.Second
		o.DrainTimeout = 3 * time.Second
		o.ClientOpts = append(o.ClientOpts,
			kgo.SessionTimeout(6*time.Second),
			kgo.RebalanceTimeout(6*time.Second))
		if ks != nil {
			o.ClientOpts = append(o.ClientOpts, kgo.Dialer(ks.dial))
		}
	}
}

// TestScaleOutAndFailover runs the reference scenario as a steady stream
// through a changing group: two instances, a third added, the first closed
// cleanly, the second killed without any cleanup, all mid-stream. Every
// final profile must equal the oracle's, counters included, and a
// read_committed reader of the profiles topic must see every version of
// every profile once, in order: state followed its partitions through
// every move and nothing was applied twice.
func TestScaleOutAndFailover(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Seed = 11
	sc := scenario.Generate(cfg)
	k := newCluster(t, d)

	a := k.startOpts(t.TempDir(), failoverOpts(nil))
	bKill := &killSwitch{}
	b := k.startOpts(t.TempDir(), failoverOpts(bKill))
	var c *instance

	const chunks = 24
	per := (len(sc.Records) + chunks - 1) / chunks
	for i := range chunks {
		lo, hi := i*per, min((i+1)*per, len(sc.Records))
		if lo < hi {
			k.produce(sc.Records[lo:hi])
		}
		switch i {
		case 6:
			c = k.startOpts(t.TempDir(), failoverOpts(nil))
		case 12:
			if err := a.stop(); err != nil {
				t.Fatalf("clean close of the first instance: %v", err)
			}
		case 18:
			bKill.kill()
			// Its Run gives up draining (no broker is reachable) and returns;
			// nothing it did after the kill reached Kafka.
			b.cancel()
			b.cancel = nil
			if err := <-b.done; err != nil {
				t.Logf("the killed instance's Run returned: %v", err)
			}
			_ = b.db.Close()
		}
		time.Sleep(250 * time.Millisecond)
	}
	k.waitIdle(180 * time.Second)
	compareProfiles(t, k.finalProfiles(), sc.Expected)
	checkVersions(t, k.readAll(d.Pipeline.ProfilesTopic))
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestAbortedTransactionLeavesNothing injects produce failures on the
// profiles topic: the rounds that hit them abort, nothing they wrote is
// visible to read_committed readers, and their input is processed again,
// so the result is exact.
func TestAbortedTransactionLeavesNothing(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 60
	cfg.Seed = 13
	sc := scenario.Generate(cfg)
	k := newCluster(t, d)
	k.produce(sc.Records)

	// Fail the first three produce requests for the profiles topic with an
	// error kgo does not retry; the other topics of the same requests (facts,
	// changelog records) are written, so the rounds leave aborted records.
	h := k.c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: d.Pipeline.ProfilesTopic, Err: kerr.InvalidRecord, Count: 3})
	reg := prometheus.NewRegistry()
	in := k.startOpts(t.TempDir(), func(o *processor.Options) { o.Registerer = reg })
	wctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.Wait(wctx, 3); err != nil {
		t.Fatalf("the faults were not hit: %v", err)
	}
	k.waitIdle(120 * time.Second)
	if n := counterValue(t, reg, "profiled_rounds_aborted_total"); n == 0 {
		t.Fatal("no round was aborted")
	}
	compareProfiles(t, k.finalProfiles(), sc.Expected)
	checkVersions(t, k.readAll(d.Pipeline.ProfilesTopic))
	// read_uncommitted sees the aborted attempts too: proof that they were
	// written and then hidden, not merely never sent.
	changelog := processor.ChangelogTopic(d)
	all, committed := readUncommitted(t, k.brokers, changelog), len(k.readAll(changelog))
	if all <= committed {
		t.Fatalf("changelog: read_uncommitted saw %d records, read_committed %d: no aborted record on the log", all, committed)
	}
	t.Logf("changelog: %d records committed, %d aborted", committed, all-committed)
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestUnconfirmedTransactionEndStops: when the broker does not confirm the
// end of a transaction, whether the round committed is unknown; the
// pipeline stops with an error that says so instead of guessing, and a
// restart on the same state directory ends with the exact profiles, every
// version once.
func TestUnconfirmedTransactionEndStops(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 60
	cfg.Seed = 17
	sc := scenario.Generate(cfg)
	k := newCluster(t, d)
	k.produce(sc.Records)
	// The first end of a transaction is answered only after the client
	// gave up waiting (the drain timeout): the broker then commits it, so
	// the instance that stops does not know its round committed.
	var ends atomic.Int32
	k.c.ControlKey(int16(kmsg.EndTxn), func(kmsg.Request) (kmsg.Response, error, bool) {
		if ends.Add(1) == 1 {
			k.c.SleepControl(func() { time.Sleep(4 * time.Second) })
		}
		return nil, nil, false
	})
	dir := t.TempDir()
	in := k.startOpts(dir, func(o *processor.Options) { o.DrainTimeout = time.Second })
	select {
	case err := <-in.done:
		if err == nil || !strings.Contains(err.Error(), "not confirmed") {
			t.Fatalf("Run returned %v, want the unconfirmed transaction's error", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the pipeline did not stop after an unconfirmed transaction end")
	}
	in.cancel()
	in.cancel = nil
	if err := in.db.Close(); err != nil {
		t.Fatal(err)
	}
	again := k.start(dir)
	k.waitIdle(120 * time.Second)
	compareProfiles(t, k.finalProfiles(), sc.Expected)
	checkVersions(t, k.readAll(d.Pipeline.ProfilesTopic))
	if err := again.stop(); err != nil {
		t.Fatal(err)
	}
}

func readUncommitted(t *testing.T, brokers []string, topic string) int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	n := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		got := fs.NumRecords()
		n += got
		if got == 0 {
			return n
		}
	}
}

// TestStandbyFailoverSkipsRestore: with one standby, each instance tails the
// changelogs of the other's partitions. When one instance goes away, the
// survivor takes its partitions over with their state already current: it
// restores (almost) nothing, and the result stays exact.
func TestStandbyFailoverSkipsRestore(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 80
	cfg.Seed = 23
	sc := scenario.Generate(cfg)
	half := len(sc.Records) / 2
	k := newCluster(t, d)
	standby := func(reg *prometheus.Registry) func(*processor.Options) {
		return func(o *processor.Options) {
			o.Standbys = 1
			o.Registerer = reg
		}
	}
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	a := k.startOpts(t.TempDir(), standby(regA))
	b := k.startOpts(t.TempDir(), standby(regB))
	k.produce(sc.Records[:half])
	k.waitIdle(60 * time.Second)
	// The standby loop refreshes every 5 s; wait until B tails A's
	// partitions and has caught up with them.
	deadline := time.Now().Add(30 * time.Second)
	for gaugeValue(t, regB, "profiled_partitions_standby") == 0 || counterValue(t, regB, "profiled_changelog_restored_records_total") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("instance B never became a standby of A's partitions")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // let the tail reach the end
	tailed := counterValue(t, regB, "profiled_changelog_restored_records_total")
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	k.produce(sc.Records[half:])
	k.waitIdle(60 * time.Second)
	compareProfiles(t, k.finalProfiles(), sc.Expected)
	checkVersions(t, k.readAll(d.Pipeline.ProfilesTopic))
	after := counterValue(t, regB, "profiled_changelog_restored_records_total")
	// A's last round may have committed after B's tail read; anything more
	// than that would be a restore the standby should have spared.
	if after-tailed > 200 {
		t.Fatalf("failover restored %v records on top of %v tailed as a standby", after-tailed, tailed)
	}
	t.Logf("standby tailed %v changelog records; failover restored %v more", tailed, after-tailed)
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
}

func gaugeValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			total := 0.0
			for _, m := range mf.GetMetric() {
				total += m.GetGauge().GetValue()
			}
			return total
		}
	}
	return 0
}
