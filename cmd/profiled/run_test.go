package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var brokerReady = regexp.MustCompile(`broker ready on (127\.0\.0\.1:\d+)`)

// startCmd runs a profiled command in-process until the returned stop func
// is called, and waits for its stdout to match ready.
func startCmd(t *testing.T, ready *regexp.Regexp, args ...string) (match []string, stop func()) {
	t.Helper()
	var logs func() string
	return startCmdOutput(t, ready, &logs, args...)
}

// startCmdOutput is startCmd that also hands back the command's log.
func startCmdOutput(t *testing.T, ready *regexp.Regexp, logs *func() string, args ...string) ([]string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	*logs = func() string { return stdout.String() + stderr.String() }
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &stdout, &stderr) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("profiled %s exited with %d:\n%s", args[0], code, stderr.String())
			}
		case <-time.After(60 * time.Second):
			t.Errorf("profiled %s did not stop within 60s", args[0])
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := ready.FindStringSubmatch(stdout.String() + stderr.String()); m != nil {
			return m, stop
		}
		select {
		case code := <-done:
			t.Fatalf("profiled %s exited early with %d:\n%s", args[0], code, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("profiled %s not ready:\n%s", args[0], stderr.String())
	return nil, nil
}

// TestRunAgainstStandaloneBroker starts "profiled broker", then "profiled
// run" against it; stops the processor, feeds more changes while it is
// down, and starts it again on the same data directory: it resumes where it
// stopped, and every version of the profile appears exactly once.
func TestRunAgainstStandaloneBroker(t *testing.T) {
	m, _ := startCmd(t, brokerReady, "broker", "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0")
	broker := m[1]
	dataDir := t.TempDir()
	pipelineUp := regexp.MustCompile(`msg="pipeline starting"`)
	runArgs := []string{"run", "--config", "../../deploy/config/dev.yaml", "--brokers", broker,
		"--data-dir", dataDir, "--http-listen", "127.0.0.1:0"}

	produce := func(email string, tsUs int64) {
		kcat(t, customerChange(email, "DE", tsUs), "-b", broker, "-P", "-t", "crm.public.customers", "-K|", "-X", "partitioner=murmur2_random")
	}
	const t0 = int64(1_764_000_000_000_000)
	produce("first@example.com", t0) // auto-creates the input topic on the dev broker

	_, stopRun := startCmd(t, pipelineUp, runArgs...)
	waitVersions(t, broker, "7001", 1)
	stopRun()

	for i := 1; i <= 3; i++ {
		produce(fmt.Sprintf("change%d@example.com", i), t0+int64(i)*1_000_000)
	}
	startCmd(t, pipelineUp, runArgs...)
	// The three changes made while it was down may be merged in one batch,
	// and so emitted as one version: wait for the last one's value.
	deadline := time.Now().Add(30 * time.Second)
	var vs []profileMsg
	for {
		vs = profileVersions(t, broker, "7001")
		if n := len(vs); n > 0 && vs[n-1].Attributes["email"] == "change3@example.com" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("profile 7001 never reached the last change: %+v", vs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // give a wrongly repeated version time to show up
	vs = profileVersions(t, broker, "7001")
	for i, v := range vs {
		if v.Version != i+1 {
			t.Fatalf("versions on the profiles topic are not 1, 2, ... without repeats: %+v", vs)
		}
	}
	if len(vs) < 2 {
		t.Fatalf("no version after the restart: %+v", vs)
	}
}

// TestRunChecksRegistryAtStartup: a configured Schema Registry that cannot
// be reached stops "profiled run" at start-up, naming the registry.
func TestRunChecksRegistryAtStartup(t *testing.T) {
	m, _ := startCmd(t, brokerReady, "broker", "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0")
	base, err := os.ReadFile("../../deploy/config/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "registry.yaml")
	if err := os.WriteFile(cfg, append(base, "\nregistry:\n  urls: [\"http://127.0.0.1:1\"]\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"run", "--config", cfg, "--brokers", m[1],
		"--data-dir", t.TempDir(), "--http-listen", "127.0.0.1:0"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "schema registry") || !strings.Contains(stderr.String(), "127.0.0.1:1") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
}

// TestDamagedStateIsRestored: a state directory whose Badger files are
// damaged is moved aside at start-up and the state restored from the
// changelogs; the profile's versions continue where they were.
func TestDamagedStateIsRestored(t *testing.T) {
	m, _ := startCmd(t, brokerReady, "broker", "--listen", "127.0.0.1:0", "--registry-listen", "127.0.0.1:0")
	broker := m[1]
	dataDir := t.TempDir()
	runArgs := []string{"run", "--config", "../../deploy/config/dev.yaml", "--brokers", broker,
		"--data-dir", dataDir, "--http-listen", "127.0.0.1:0"}
	produce := func(email string, tsUs int64) {
		kcat(t, customerChange(email, "DE", tsUs), "-b", broker, "-P", "-t", "crm.public.customers", "-K|", "-X", "partitioner=murmur2_random")
	}
	const t0 = int64(1_764_000_000_000_000)
	produce("first@example.com", t0)
	_, stopRun := startCmd(t, regexp.MustCompile(`msg="pipeline starting"`), runArgs...)
	waitVersions(t, broker, "7001", 1)
	stopRun()

	manifest := filepath.Join(dataDir, "state", "MANIFEST")
	if err := os.WriteFile(manifest, []byte("this is not a badger manifest"), 0o600); err != nil {
		t.Fatal(err)
	}
	produce("second@example.com", t0+1_000_000)
	startCmd(t, regexp.MustCompile(`moved_to=`), runArgs...)
	waitVersions(t, broker, "7001", 2)
	vs := profileVersions(t, broker, "7001")
	if len(vs) != 2 || vs[1].Version != 2 || vs[1].Attributes["email"] != "second@example.com" {
		t.Fatalf("after the rebuild: %+v", vs)
	}
	aside, err := filepath.Glob(filepath.Join(dataDir, "state.corrupt-*"))
	if err != nil || len(aside) != 1 {
		t.Fatalf("the damaged directory was not kept aside: %v %v", aside, err)
	}
}
