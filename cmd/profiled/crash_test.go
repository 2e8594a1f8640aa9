//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/kafkatest"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/schemas/dictionary"
)

// TestCrashAnywhere kills "profiled run" with SIGKILL at random points,
// again and again, while the reference scenario streams in: during start-up,
// while restoring, in the middle of rounds and transactions. A last instance
// then runs to the end. Every final profile must equal the oracle's, and a
// read_committed reader of the profiles topic must see the versions of
// every profile at most once and in order (the broker compacts the topic
// every minute, so older versions may be gone): no update lost, none
// applied twice.
func TestCrashAnywhere(t *testing.T) {
	bin := buildProfiled(t)
	broker := startProcess(t, bin, brokerReady, "broker", "--listen", "127.0.0.1:0", "--registry-listen", "", "--data-dir", t.TempDir())
	addr := broker.match[1]

	dict, err := dictionary.Load("../../deploy/config/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := scenario.DefaultConfig()
	cfg.Seed = 17
	sc := scenario.Generate(cfg)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(recs []scenario.Record) {
		krs := make([]*kgo.Record, len(recs))
		for i, r := range recs {
			krs[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
			t.Fatalf("producing input: %v", err)
		}
	}

	dataDir := t.TempDir()
	args := []string{"run", "--config", "../../deploy/config/dev.yaml", "--brokers", addr,
		"--data-dir", dataDir, "--http-listen", "127.0.0.1:0",
		// Restarts reuse the transactional id and fence the dead one's
		// transaction at once; the group notices a death after 6 s.
		"--instance-id", "crash", "--session-timeout", "6s"}

	const kills = 22
	chunks := kills + 4
	per := (len(sc.Records) + chunks - 1) / chunks
	next := 0
	feed := func() {
		if next < len(sc.Records) {
			produce(sc.Records[next:min(next+per, len(sc.Records))])
			next += per
		}
	}
	rng := rand.New(rand.NewPCG(17, 3))
	for i := range kills {
		feed()
		p := startProcess(t, bin, nil, args...)
		// Half the kills land while the instance waits for the dead one to
		// leave the group or restores; half while it processes.
		wait := time.Duration(200+rng.IntN(5800)) * time.Millisecond
		if i%2 == 1 {
			wait = 6500*time.Millisecond + time.Duration(rng.IntN(2500))*time.Millisecond
		}
		time.Sleep(wait)
		feed()
		p.kill(t)
	}
	for next < len(sc.Records) {
		feed()
	}
	last := startProcess(t, bin, nil, args...)
	waitGroupIdle(t, addr, dict, 180*time.Second)
	got, versions := readProfiles(t, addr, dict.Pipeline.ProfilesTopic)
	if len(versions) > 0 {
		t.Fatalf("versions out of order or repeated: %v", versions[:min(10, len(versions))])
	}
	if diffs := scenario.Diff(got, sc.Expected); len(diffs) > 0 {
		t.Fatalf("%d differences after %d kills, e.g.:\n%v\nlog of the last instance:\n%s",
			len(diffs), kills, diffs[:min(10, len(diffs))], last.stderr.String())
	}
	last.terminate(t)
}

// buildProfiled builds the binary once per test run.
func buildProfiled(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "profiled")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building profiled: %v\n%s", err, out)
	}
	return bin
}

type process struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	match  []string
	done   chan struct{}
}

// startProcess starts the binary; with ready, it waits for its output to
// match.
func startProcess(t *testing.T, bin string, ready *regexp.Regexp, args ...string) *process {
	t.Helper()
	var stdout, stderr syncBuffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: &stderr, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	if ready == nil {
		return p
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := ready.FindStringSubmatch(stdout.String() + stderr.String()); m != nil {
			p.match = m
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("profiled %s exited early:\n%s", args[0], stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("profiled %s not ready:\n%s", args[0], stderr.String())
	return nil
}

func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// terminate stops the process as an operator would and expects a clean exit.
func (p *process) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("exit %d after SIGTERM:\n%s", code, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no exit within 60 s of SIGTERM")
	}
}

// waitGroupIdle waits until the group has committed the end of every input
// and repartition partition, twice in a row.
func waitGroupIdle(t *testing.T, addr string, d *dictionary.File, timeout time.Duration) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics := processor.TopicsOf(d)
	names := append([]string{topics.Repartition}, topics.Inputs...)
	quiet := 0
	var last string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		lag, err := groupLag(adm, d.Pipeline.Group, names)
		if err == nil && lag == 0 {
			if quiet++; quiet == 2 {
				return
			}
			continue
		}
		quiet = 0
		last = fmt.Sprintf("lag %d, err %v", lag, err)
	}
	t.Fatalf("pipeline not idle after %v (%s)", timeout, last)
}

// groupLag sums, over the topics' non-empty partitions, how far the
// group's committed offsets are behind the ends.
func groupLag(adm *kadm.Client, group string, topics []string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return kafkatest.GroupLag(ctx, adm, group, topics...)
}

// readProfiles reads the profiles topic to its last stable offset
// (read_committed) and returns the last attributes of every profile, and
// every version that repeats or goes back.
func readProfiles(t *testing.T, addr, topic string) (map[string]map[string]any, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recs, err := kafkatest.ReadAll(ctx, []string{addr}, topic)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	version := map[string]uint64{}
	var bad []string
	for _, r := range recs {
		var p struct {
			ID         string         `json:"profile_id"`
			Version    uint64         `json:"version"`
			Attributes map[string]any `json:"attributes"`
		}
		if err := json.Unmarshal(r.Value, &p); err != nil {
			t.Fatalf("profile record %d/%d: %v", r.Partition, r.Offset, err)
		}
		if p.Version <= version[p.ID] {
			bad = append(bad, fmt.Sprintf("%s: version %d after %d", p.ID, p.Version, version[p.ID]))
		}
		version[p.ID] = p.Version
		got[p.ID] = p.Attributes
	}
	return got, bad
}
