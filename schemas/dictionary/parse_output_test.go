package dictionary

import (
	"strings"
	"testing"
)

const outputRegistry = "registry:\n  urls: [\"http://127.0.0.1:8081\"]\n"

func TestOutputDefaults(t *testing.T) {
	f := mustParse(t, "attributes:\n  email: {type: string}\n")
	if f.Output != (Output{Format: OutputJSON}) {
		t.Errorf("default output %+v", f.Output)
	}
	f = mustParse(t, outputRegistry+"pipeline: {profiles_topic: people}\noutput: {format: avro}\n")
	if f.Output != (Output{Format: OutputAvro, Subject: "people-value"}) {
		t.Errorf("avro output %+v", f.Output)
	}
	f = mustParse(t, outputRegistry+"output:\n  format: avro\n  subject: customer-profile\n")
	if f.Output.Subject != "customer-profile" {
		t.Errorf("subject %q", f.Output.Subject)
	}
	f = mustParse(t, "output: {format: json}\n")
	if f.Output.Format != OutputJSON {
		t.Errorf("json output %+v", f.Output)
	}
}

func TestDebeziumAvroSource(t *testing.T) {
	f := mustParse(t, outputRegistry+`attributes:
  email: {type: string}
sources:
  - name: crm
    topic: crm.public.customers
    format: debezium-avro
    profile_id: {field: id}
    on_delete: ignore
    attributes:
      email: {from: email}
`)
	if s := f.Sources[0]; s.Format != FormatDebeziumAvro || s.OnDelete != "ignore" {
		t.Errorf("source %+v", s)
	}
}

func TestOutputErrors(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
		frag      string
	}{
		{"unknown format", "output:\n  format: avro2\n", 2, `output.format: unknown format "avro2" (want json or avro); did you mean "avro"?`},
		{"unknown key", "output:\n  formt: avro\n", 2, `output: unknown key "formt"`},
		{"avro without registry", "output:\n  format: avro\n", 2, "output.format: avro needs a registry: section"},
		{"subject with json", "output:\n  format: json\n  subject: x\n", 3, "output.subject: applies to output.format avro only"},
		{"empty subject", outputRegistry + "output:\n  format: avro\n  subject: \"\"\n", 5, "output.subject: must not be empty"},
		{"not an avro name", outputRegistry + "attributes:\n  first-name: {type: string}\noutput: {format: avro}\n", 4,
			`attributes.first-name: "first-name" is not a valid Avro field name`},
		{"avro source without registry", `attributes:
  email: {type: string}
sources:
  - name: crm
    topic: crm.public.customers
    format: debezium-avro
    profile_id: {field: id}
`, 6, "sources.crm.format: debezium-avro needs a registry: section"},
		{"segment keys on avro source", outputRegistry + `sources:
  - name: crm
    topic: t
    format: debezium-avro
    profile_id: {field: id}
    types: {d: io.debezium.time.Date}
`, -1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.src), "t.yaml")
			if tc.line < 0 { // valid: Debezium-only keys apply to Avro sources too
				if err != nil {
					t.Fatal(err)
				}
				if f.Sources[0].Types["d"].Semantic != "io.debezium.time.Date" {
					t.Errorf("types %+v", f.Sources[0].Types)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want line %d: %s", tc.line, tc.frag)
			}
			lines := errorLines(err)
			if len(lines) != 1 {
				t.Errorf("want exactly 1 error, got %d:\n%s", len(lines), err)
			}
			prefix := "t.yaml:" + itoa(tc.line) + ": "
			if !strings.HasPrefix(lines[0], prefix) || !strings.Contains(lines[0], tc.frag) {
				t.Errorf("got  %s\nwant %s...%s", lines[0], prefix, tc.frag)
			}
		})
	}
}
