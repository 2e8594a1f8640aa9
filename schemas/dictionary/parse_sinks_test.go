package dictionary

import (
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/schemas"
)

// sinkAttrs are the attributes the sink cases map.
const sinkAttrs = `attributes:
  email: {type: string}
  first_name: {type: string}
  birth_date: {type: date}
  marketing_opt_in: {type: bool}
  order_count: {type: int}
  lifetime_value: {type: decimal, scale: 2}
sinks:
`

func TestSinksSection(t *testing.T) {
	f := mustParse(t, sinkAttrs+`  - name: mailchimp
    type: mailchimp
    url: http://127.0.0.1:9/3.0/
    api_key: {env: MC_KEY}
    list_id: abc123
    consent: marketing_opt_in
    fields:
      FNAME: first_name
      BIRTHDAY: {from: birth_date, as: birthday}
      LTV: {from: lifetime_value, as: number}
      VERSION: $version
    batch: {max_items: 200, max_wait: 250ms}
    rate: {requests_per_second: 2.5, burst: 3, concurrency: 2}
    retry: {initial_backoff: 10ms, max_backoff: 1s, max_attempts: 5}
  - name: hook
    type: webhook
    url: https://hooks.example.com/profiles
    secret: {file: /run/secrets/hook}
    headers: {X-Team: crm, Authorization: {env: HOOK_AUTH}}
  - name: kv
    type: klaviyo
    api_key: {env: KV_KEY}
    list_id: XyZ
    consent: marketing_opt_in
`)
	if len(f.Sinks) != 3 {
		t.Fatalf("got %d sinks", len(f.Sinks))
	}
	mc := f.Sinks[0]
	if mc.Name != "mailchimp" || mc.Type != SinkMailchimp || mc.URL != "http://127.0.0.1:9/3.0" || mc.ListID != "abc123" ||
		mc.APIKey.Env != "MC_KEY" || mc.Email != "email" || mc.Consent != "marketing_opt_in" || mc.Line != 9 {
		t.Errorf("mailchimp sink: %+v", mc)
	}
	if got := mc.Batch; got.MaxItems != 200 || got.MaxBytes != 4<<20 || got.MaxWait != 250*time.Millisecond {
		t.Errorf("batch: %+v (max_bytes should keep its default)", got)
	}
	if got := mc.Rate; got.PerSecond != 2.5 || got.Burst != 3 || got.Concurrency != 2 {
		t.Errorf("rate: %+v", got)
	}
	if got := mc.Retry; got.InitialBackoff != 10*time.Millisecond || got.MaxBackoff != time.Second || got.MaxAttempts != 5 {
		t.Errorf("retry: %+v", got)
	}
	want := []struct{ name, from, as string }{{"FNAME", "first_name", ""}, {"BIRTHDAY", "birth_date", AsBirthday},
		{"LTV", "lifetime_value", AsNumber}, {"VERSION", FieldVersion, ""}}
	if len(mc.Fields) != len(want) {
		t.Fatalf("fields: %+v", mc.Fields)
	}
	for i, w := range want {
		got := mc.Fields[i]
		if got.Name != w.name || got.From != w.from || got.As != w.as {
			t.Errorf("field %d: %+v, want %+v", i, got, w)
		}
		if (got.Attr == nil) != strings.HasPrefix(w.from, "$") {
			t.Errorf("field %s: attribute %v", got.Name, got.Attr)
		}
	}
	if mc.Fields[1].Attr.Type != schemas.KindDate {
		t.Errorf("BIRTHDAY maps a %s", mc.Fields[1].Attr.Type)
	}
	hook := f.Sinks[1]
	if hook.Consent != "" || hook.Secret.File != "/run/secrets/hook" || len(hook.Headers) != 2 || hook.Headers["Authorization"].Env != "HOOK_AUTH" {
		t.Errorf("webhook sink: %+v", hook)
	}
	if v, err := hook.Headers["X-Team"].Reveal(); err != nil || v != "crm" {
		t.Errorf("plain header: %q, %v", v, err)
	}
	kv := f.Sinks[2]
	def, _ := LimitsOf(SinkKlaviyo)
	if kv.Revision != DefaultKlaviyoRevision || kv.Batch != def.Batch || kv.Rate != def.Rate {
		t.Errorf("klaviyo defaults: %+v", kv)
	}
}

func TestSinkErrors(t *testing.T) {
	// Line 9 is the first line after "sinks:".
	cases := []struct {
		name, src string
		line      int
		frag      string
	}{
		{"unknown type", "  - {name: a, type: mailchip, api_key: {env: K}, list_id: l, consent: marketing_opt_in}\n", 9,
			`unknown connector type "mailchip"`},
		{"missing api key", "  - {name: a, type: mailchimp, list_id: l, consent: marketing_opt_in}\n", 9,
			`missing required key "api_key"`},
		{"api key inline", "  - {name: a, type: braze, url: \"https://x.example\", api_key: sk-123, consent: marketing_opt_in}\n", 9,
			"secrets are not read from the configuration file"},
		{"missing consent", "  - {name: a, type: braze, url: \"https://x.example\", api_key: {env: K}}\n", 9,
			`missing required key "consent"`},
		{"consent not bool", "  - {name: a, type: braze, url: \"https://x.example\", api_key: {env: K}, consent: first_name}\n", 9,
			"attribute first_name is of type string; want a bool attribute"},
		{"braze without url", "  - {name: a, type: braze, api_key: {env: K}, consent: marketing_opt_in}\n", 9,
			`missing required key "url"`},
		{"key of another type", "  - {name: a, type: braze, url: \"https://x.example\", api_key: {env: K}, consent: marketing_opt_in, list_id: x}\n", 9,
			"type braze takes no list_id"},
		{"bad name", "  - {name: A B, type: webhook, url: \"https://x.example\"}\n", 9, "is not a valid connector name"},
		{"duplicate name", "  - {name: a, type: webhook, url: \"https://x.example\"}\n  - {name: a, type: webhook, url: \"https://y.example\"}\n", 10,
			`connector "a" is defined twice (first at line 9)`},
		{"bad merge tag", "  - name: a\n    type: mailchimp\n    api_key: {env: K}\n    list_id: l\n    consent: marketing_opt_in\n    fields:\n      fname: first_name\n", 15,
			"Mailchimp merge tag"},
		{"unknown attribute", "  - name: a\n    type: webhook\n    url: \"https://x.example\"\n    fields:\n      x: frist_name\n", 13,
			`unknown attribute "frist_name"`},
		{"unknown pseudo", "  - name: a\n    type: webhook\n    url: \"https://x.example\"\n    fields:\n      x: $id\n", 13,
			"unknown pseudo-attribute"},
		{"bad conversion", "  - name: a\n    type: webhook\n    url: \"https://x.example\"\n    fields:\n      x: {from: first_name, as: number}\n", 13,
			"as: number does not apply to first_name, which is of type string"},
		{"batch over the ESP's maximum", "  - name: a\n    type: braze\n    url: \"https://x.example\"\n    api_key: {env: K}\n    consent: marketing_opt_in\n    batch: {max_items: 100}\n", 14,
			"batch.max_items: 100 is out of range (want 1 to 75)"},
		{"rate not positive", "  - {name: a, type: webhook, url: \"https://x.example\", rate: {requests_per_second: 0}}\n", 9,
			"want a number greater than zero"},
		{"backoffs reversed", "  - {name: a, type: webhook, url: \"https://x.example\", retry: {initial_backoff: 2s, max_backoff: 1s}}\n", 9,
			"max_backoff (1s) is shorter than initial_backoff (2s)"},
		{"bad url", "  - {name: a, type: webhook, url: \"ftp://x.example\"}\n", 9, `has scheme "ftp"`},
		{"bad revision", "  - {name: a, type: klaviyo, api_key: {env: K}, list_id: l, consent: marketing_opt_in, revision: latest}\n", 9,
			"revision: want a date"},
		{"unknown key", "  - {name: a, type: webhook, url: \"https://x.example\", batch_size: 3}\n", 9, `unknown key "batch_size"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(sinkAttrs+c.src), "t.yaml")
			lines := errorLines(err)
			if len(lines) != 1 {
				t.Fatalf("want one error, got %d:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			prefix := "t.yaml:" + itoa(c.line) + ": "
			if !strings.HasPrefix(lines[0], prefix) || !strings.Contains(lines[0], c.frag) {
				t.Errorf("got  %s\nwant %s...%s", lines[0], prefix, c.frag)
			}
		})
	}
}

// TestSinkErrorsNeverShowSecrets: a key pasted where a secret belongs is
// not quoted back.
func TestSinkErrorsNeverShowSecrets(t *testing.T) {
	const secret = "md-SECRETVALUE123-us21"
	_, err := Parse([]byte(sinkAttrs+"  - {name: a, type: mailchimp, api_key: "+secret+", list_id: l, consent: marketing_opt_in}\n"), "t.yaml")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("error %v", err)
	}
}

func TestSinksAbsent(t *testing.T) {
	f := mustParse(t, okAttrs)
	if f.Sinks != nil {
		t.Fatalf("sinks: %+v", f.Sinks)
	}
}
