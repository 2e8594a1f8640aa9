//go:build unix

package esp_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/profiled/profiled/connectors/esp/esptest"
	"github.com/profiled/profiled/connectors/sink"
)

// TestSinkProcessKilled kills a real "profiled sink" process with SIGKILL
// four times while it delivers to Mailchimp (the strict test server), each
// time once it has sent more contacts, then lets a last process finish.
// Nothing is lost and no contact is ever set back to an older version:
// offsets commit only after the ESP acknowledged.
func TestSinkProcessKilled(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "profiled")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/profiled/profiled/cmd/profiled").CombinedOutput(); err != nil {
		t.Fatalf("building profiled: %v\n%s", err, out)
	}
	c := connectors[0] // mailchimp
	e := newEnv(t)
	srv, url := c.start(esptest.Options{APIKey: apiKey, VersionField: c.versionField})
	defer srv.Close()
	sinks := c.yaml(url, limits{rate: 200, burst: 20, conc: 4, maxItems: 25})
	d := e.dict(sinks)
	cfg := filepath.Join(t.TempDir(), "sinks.yaml")
	if err := os.WriteFile(cfg, append(append([]byte{}, e.base...), "\nsinks:\n"+sinks...), 0o600); err != nil {
		t.Fatal(err)
	}
	g := newSynth(29)
	e.produce(g.updates(300, 3000))

	start := func() (*exec.Cmd, *bytes.Buffer) {
		var logs bytes.Buffer
		cmd := exec.Command(bin, "sink", "--config", cfg, "--connector", d.Sinks[0].Name,
			"--brokers", e.brokers[0], "--http-listen", "127.0.0.1:0", "--session-timeout", "6s")
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd, &logs
	}
	for kill := range 4 {
		cmd, logs := start()
		target := srv.Stats().Contacts + 40
		for deadline := time.Now().Add(60 * time.Second); srv.Stats().Contacts < target; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: the sink sent nothing new:\n%s", kill, logs.String())
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}
	group := sink.GroupOf(d, d.Sinks[0].Name)
	if lag, err := e.lag(group, d.Pipeline.ProfilesTopic); err != nil || lag == 0 {
		t.Fatalf("the kills came too late: lag %d (%v) before the last start", lag, err)
	}
	cmd, logs := start()
	e.waitSynced(d, 120*time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the last sink did not stop cleanly: %v\n%s", err, logs.String())
	}
	e.check(c, srv, e.history(), nil)
	if st := srv.Stats(); st.Regressions != 0 {
		t.Errorf("%d writes lowered a contact's version", st.Regressions)
	}
}
