package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

const devConfigPath = "../../deploy/config/dev.yaml"

func runSchema(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"schema"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSchemaPrint(t *testing.T) {
	code, out, errOut := runSchema(t, "print", "--config", devConfigPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	s, err := avro.ParseWithCache(out, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatalf("printed schema does not parse: %v\n%s", err, out)
	}
	if s.(*avro.RecordSchema).FullName() != "profiled.Profile" || !strings.Contains(out, `"name":"lifetime_value"`) {
		t.Errorf("schema %s", out)
	}
}

func TestSchemaJSONSchema(t *testing.T) {
	code, out, errOut := runSchema(t, "jsonschema", "--config", devConfigPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("%v: %s", err, out)
	}
}

// TestSchemaCheck: a registry without the subject, then with a compatible
// older version, then with one the config would break (the attribute's type
// differs): only the last exits non-zero, naming the attribute.
func TestSchemaCheck(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runSchema(t, "check", "--config", devConfigPath, "--registry", reg.URL())
	if code != 0 || !strings.Contains(out, "subject profiles-value: no schema registered yet") {
		t.Fatalf("empty registry: exit %d\n%s%s", code, out, errOut)
	}

	// An older dictionary without page_views, and with country as an int.
	data, err := os.ReadFile(devConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	older := filepath.Join(t.TempDir(), "older.yaml")
	text := strings.Replace(string(data), "  page_views:\n    type: int\n    description: Page views, each Segment message counted once.\n", "", 1)
	text = strings.Replace(text, "      page_views: {when: {type: page}, distinct: messageId}\n", "", 1)
	if err := os.WriteFile(older, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, schemaText, errOut := runSchema(t, "print", "--config", older)
	if code != 0 {
		t.Fatalf("older config: %s", errOut)
	}
	if _, err := cl.CreateSchema(context.Background(), "profiles-value", sr.Schema{Schema: strings.TrimSpace(schemaText)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runSchema(t, "check", "--config", devConfigPath, "--registry", reg.URL())
	if code != 0 || !strings.Contains(out, "BACKWARD compatible with version 1") {
		t.Fatalf("compatible: exit %d\n%s%s", code, out, errOut)
	}

	incompatible := strings.Replace(strings.TrimSpace(schemaText), `{"name":"country","type":["null","string"]`, `{"name":"country","type":["null","long"]`, 1)
	if _, err := cl.CreateSchema(context.Background(), "profiles-value", sr.Schema{Schema: incompatible}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runSchema(t, "check", "--config", devConfigPath, "--registry", reg.URL())
	if code != 1 || !strings.Contains(out, "INCOMPATIBLE with version 2") ||
		!strings.Contains(out, "country: type changed from nullable long to nullable string") {
		t.Fatalf("incompatible: exit %d\n%s", code, out)
	}
}

func TestSchemaUsage(t *testing.T) {
	if code, _, _ := runSchema(t); code != 2 {
		t.Errorf("no subcommand: exit %d", code)
	}
	if code, _, errOut := runSchema(t, "print"); code != 2 || !strings.Contains(errOut, "--config is required") {
		t.Errorf("no config: exit %d %s", code, errOut)
	}
	if code, _, _ := runSchema(t, "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
	if code, _, errOut := runSchema(t, "check", "--config", devConfigPath); code != 1 || !strings.Contains(errOut, "no registry") {
		t.Errorf("check without registry: exit %d %s", code, errOut)
	}
}
