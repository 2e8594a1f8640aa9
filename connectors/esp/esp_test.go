package esp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/profiled/profiled/connectors/esp"
	"github.com/profiled/profiled/connectors/sink"
)

// TestAdaptersNeverShowSecrets: the key is read at start-up and kept where
// no %v or %#v of an adapter reaches it; a missing secret fails naming
// where it was looked for.
func TestAdaptersNeverShowSecrets(t *testing.T) {
	e := newEnv(t)
	for _, c := range connectors {
		d := e.dict(c.yaml("http://127.0.0.1:1/x", fastLimits))
		a, err := esp.New(d.Sinks[0], sink.NewClient(sink.ClientOptions{}), esp.Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, format := range []string{"%v", "%+v", "%#v"} {
			if s := fmt.Sprintf(format, a); strings.Contains(s, apiKey) {
				t.Errorf("%s: %s shows the key: %s", c.name, format, s)
			}
		}
	}
	d := e.dict(strings.Replace(connectors[0].yaml("http://127.0.0.1:1/x", fastLimits),
		"{value: "+apiKey+", insecure_plaintext: true}", "{env: PROFILED_TEST_NO_SUCH_VAR}", 1))
	_, err := esp.New(d.Sinks[0], sink.NewClient(sink.ClientOptions{}), esp.Options{})
	if err == nil || !strings.Contains(err.Error(), "PROFILED_TEST_NO_SUCH_VAR") {
		t.Errorf("missing secret: %v", err)
	}
}
