package dictionary

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// registryErrorCases are the errorCases of the registry: section
// (TestParseErrors runs them too): one mistake, one error, on the line
// given, containing the fragment.
var registryErrorCases = []struct {
	name string
	src  string
	line int
	frag string
}{
	{"registry empty", "registry:\n", 1,
		`registry: missing required key "urls" (want a list of the registry's http:// or https:// URLs)`},
	{"registry not a mapping", "registry: https://sr:8081\n", 1, `registry: want a mapping, got a string`},
	{"unknown registry key", "registry:\n  url: [https://sr]\n", 2,
		`registry: unknown key "url" (allowed: urls, tls, basic, bearer, timeout); did you mean "urls"?`},

	// --- registry.urls ---
	{"urls a string", "registry:\n  urls: https://sr\n", 2,
		`registry.urls: want a list, got a string; write urls: [https://...], even for one URL`},
	{"urls null", "registry:\n  urls:\n", 2, `registry.urls: want at least one URL, got nothing (null)`},
	{"urls empty", "registry:\n  urls: []\n", 2, `registry.urls: want at least one URL, got an empty list`},
	{"urls a mapping", "registry:\n  urls: {a: b}\n", 2, `registry.urls: want a list, got a mapping`},
	{"url with a port in a flow mapping", "registry: {urls: [http://sr:8081]}\n", 1,
		`registry.urls[0]: want a URL, got a mapping; within { } write a URL with a port in quotes`},
	{"url not a string", "registry:\n  urls: [8081]\n", 2, `registry.urls[0]: want a string (in quotes if it looks like a number or a boolean), got a number`},
	{"url empty", "registry:\n  urls: [\"\"]\n", 2, `registry.urls[0]: must not be empty`},
	{"url without scheme", "registry:\n  urls:\n    - https://sr1:8081\n    - sr2:8081\n", 4,
		`registry.urls[1]: "sr2:8081" has no scheme; write http:// or https:// before it`},
	{"url with another scheme", "registry:\n  urls: [\"ftp://sr\"]\n", 2, `registry.urls[0]: "ftp://sr" has scheme "ftp"; want http or https`},
	{"url without host", "registry:\n  urls: [\"https:///sr\"]\n", 2, `registry.urls[0]: "https:///sr" has no host`},
	{"url with empty port", "registry:\n  urls: [\"https://sr:\"]\n", 2, `registry.urls[0]: "https://sr:" has an empty port`},
	{"url port zero", "registry:\n  urls: [\"https://sr:0\"]\n", 2, `registry.urls[0]: "https://sr:0" has an invalid port (want a number from 1 to 65535)`},
	{"url port too big", "registry:\n  urls: [\"https://sr:65536\"]\n", 2, `registry.urls[0]: "https://sr:65536" has an invalid port`},
	{"url port not a number", "registry:\n  urls: [\"https://sr:http\"]\n", 2,
		`registry.urls[0]: "https://sr:http" is not a valid URL: invalid port ":http" after host`},
	{"url bad host", "registry:\n  urls: [\"https://s r\"]\n", 2, `registry.urls[0]: "https://s r" is not a valid URL: invalid character " " in host name`},
	{"url bad host name", "registry:\n  urls: [\"https://-sr-\"]\n", 2, `registry.urls[0]: "https://-sr-" has an invalid host name "-sr-"`},
	{"url with credentials", "registry:\n  urls: [\"https://key:secret@sr\"]\n", 2,
		`registry.urls[0]: has user information (user:password@) in it; write the URL without it and set registry.basic (the URL is not shown, since it may hold a password)`},
	{"url with a query", "registry:\n  urls: [\"https://sr/?token=abc\"]\n", 2,
		`registry.urls[0]: has a query (?...) or a fragment (#...); want scheme://host[:port][/path]`},
	{"duplicate url", "registry:\n  urls:\n    - https://sr:8081\n    - https://sr:8081/\n", 4,
		`registry.urls[1]: URL "https://sr:8081/" is listed twice (first at line 3)`},
	{"mixed schemes", "registry:\n  urls:\n    - https://sr1\n    - http://sr2\n", 4,
		`registry.urls[1]: "http://sr2" is http while registry.urls[0] is https; write every URL with the same scheme`},

	// --- registry.tls ---
	{"registry tls true", "registry:\n  urls: [https://sr]\n  tls: true\n", 3,
		`registry.tls: want a mapping of TLS settings, got boolean true; https:// URLs turn TLS on`},
	{"registry tls a string", "registry:\n  urls: [https://sr]\n  tls: \"yes\"\n", 3, `registry.tls: want a mapping of TLS settings, got string "yes"`},
	{"registry tls with http", "registry:\n  urls: [http://sr]\n  tls:\n    ca_file: /ca.pem\n", 3,
		`registry.tls: TLS settings apply to https URLs only, and registry.urls are http; write https:// URLs, or leave tls out`},
	{"unknown registry tls key", "registry:\n  urls: [https://sr]\n  tls:\n    ca: /ca.pem\n", 4,
		`registry.tls: unknown key "ca" (allowed: ca_file, cert_file, key_file, server_name, insecure_skip_verify)`},
	{"registry cert_file without key_file", "registry:\n  urls: [https://sr]\n  tls:\n    cert_file: /c.pem\n", 4,
		`registry.tls.cert_file: a client certificate needs its key_file too`},
	{"registry insecure_skip_verify not a bool", "registry:\n  urls: [https://sr]\n  tls: {insecure_skip_verify: 1}\n", 3,
		`registry.tls.insecure_skip_verify: want true or false, got integer 1`},

	// --- registry.basic and registry.bearer ---
	{"basic not a mapping", "registry:\n  urls: [https://sr]\n  basic: SRKEY\n", 3, `registry.basic: want a mapping, got a string`},
	{"basic empty", "registry:\n  urls: [https://sr]\n  basic:\n", 3,
		`registry.basic: missing required keys "username" and "password" (the password is a secret: {env: NAME} or {file: PATH})`},
	{"basic without password", "registry:\n  urls: [https://sr]\n  basic: {username: SRKEY}\n", 3,
		`registry.basic: missing required key "password"`},
	{"basic without username", "registry:\n  urls: [https://sr]\n  basic:\n    password: {env: P}\n", 3,
		`registry.basic: missing required key "username"`},
	{"unknown basic key", "registry:\n  urls: [https://sr]\n  basic:\n    user: SRKEY\n    password: {env: P}\n", 4,
		`registry.basic: unknown key "user" (allowed: username, password)`},
	{"basic username as a secret", "registry:\n  urls: [https://sr]\n  basic: {username: {env: U}, password: {env: P}}\n", 3,
		`registry.basic.username: want a plain string, got a mapping (a username is not secret`},
	{"basic bare password", "registry:\n  urls: [https://sr]\n  basic:\n    username: SRKEY\n    password: s3cret\n", 5,
		`registry.basic.password: secrets are not read from the configuration file`},
	{"bearer bare", "registry:\n  urls: [https://sr]\n  bearer: eyJhbGciOi\n", 3,
		`registry.bearer: secrets are not read from the configuration file; write {env: NAME} or {file: PATH}`},
	{"bearer with env and file", "registry:\n  urls: [https://sr]\n  bearer: {env: T, file: /t}\n", 3,
		`registry.bearer: has both env and file`},
	{"basic and bearer", "registry:\n  urls: [https://sr]\n  bearer: {file: /t}\n  basic: {username: SRKEY, password: {env: P}}\n", 4,
		`registry: has both basic and bearer; the registry takes one kind of credentials, or none`},

	// --- registry.timeout ---
	{"timeout a number", "registry:\n  urls: [https://sr]\n  timeout: 10\n", 3,
		`registry.timeout: want a duration such as 10s or 1m30s, got integer 10`},
	{"timeout not a duration", "registry:\n  urls: [https://sr]\n  timeout: soon\n", 3,
		`registry.timeout: "soon" is not a duration (want e.g. 10s or 1m30s)`},
	{"timeout zero", "registry:\n  urls: [https://sr]\n  timeout: 0s\n", 3, `registry.timeout: must be greater than zero, got "0s"`},
}

func TestRegistryAbsent(t *testing.T) {
	if f := mustParse(t, okAttrs); f.Registry != nil {
		t.Errorf("registry = %+v, want nil", f.Registry)
	}
}

func TestRegistrySection(t *testing.T) {
	f := mustParse(t, `registry:
  urls:
    - https://psrc-xxxx.europe-west1.gcp.confluent.cloud
    - HTTPS://sr2.internal:8081/prefix/
    - "https://[::1]:8081"
    - https://10.0.0.1
  tls:
    ca_file: /etc/profiled/registry-ca.pem
    cert_file: /etc/profiled/client.pem
    key_file: /etc/profiled/client.key
    server_name: sr.internal
    insecure_skip_verify: false
  basic: {username: SRKEY, password: {env: SR_API_SECRET}}
  timeout: 2m30s
`)
	r := f.Registry
	if r == nil {
		t.Fatal("registry is nil")
	}
	want := []string{"https://psrc-xxxx.europe-west1.gcp.confluent.cloud", "https://sr2.internal:8081/prefix/", "https://[::1]:8081", "https://10.0.0.1"}
	if !slices.Equal(r.URLs, want) {
		t.Errorf("urls = %q, want %q", r.URLs, want)
	}
	wantTLS := TLS{CAFile: "/etc/profiled/registry-ca.pem", CertFile: "/etc/profiled/client.pem", KeyFile: "/etc/profiled/client.key", ServerName: "sr.internal"}
	if r.TLS == nil || *r.TLS != wantTLS {
		t.Errorf("tls = %+v, want %+v", r.TLS, wantTLS)
	}
	if r.Basic == nil || r.Basic.Username != "SRKEY" || r.Basic.Password.Env != "SR_API_SECRET" || !r.Bearer.IsZero() {
		t.Errorf("basic = %+v, bearer = %v", r.Basic, r.Bearer)
	}
	if r.Timeout != 2*time.Minute+30*time.Second {
		t.Errorf("timeout = %v", r.Timeout)
	}
}

func TestRegistryForms(t *testing.T) {
	cases := []struct {
		src   string
		check func(*Registry) bool
	}{
		// Defaults: no TLS settings, no credentials, 10s.
		{"{urls: [\"http://localhost:8081\"]}", func(r *Registry) bool {
			return slices.Equal(r.URLs, []string{"http://localhost:8081"}) && r.TLS == nil && r.Basic == nil &&
				r.Bearer.IsZero() && r.Timeout == DefaultRegistryTimeout
		}},
		// Credentials over plain http are allowed (local development).
		{"{urls: [\"http://sr_1:8081\"], bearer: {file: /var/run/secrets/sr-token}}", func(r *Registry) bool {
			return r.Bearer.File == "/var/run/secrets/sr-token" && r.Basic == nil
		}},
		{"{urls: [https://sr], bearer: {value: tok, insecure_plaintext: true}}", func(r *Registry) bool {
			v, err := r.Bearer.Reveal()
			return err == nil && v == "tok"
		}},
		{"{urls: [https://sr], basic: {username: u, password: {file: ./pw}}}", func(r *Registry) bool {
			return r.Basic.Username == "u" && r.Basic.Password.File == "./pw"
		}},
		// tls: and tls: {} mean the defaults, like no tls key.
		{"{urls: [https://sr], tls: {}}", func(r *Registry) bool { return r.TLS != nil && *r.TLS == (TLS{}) }},
		{"\n  urls: [https://sr]\n  tls:\n", func(r *Registry) bool { return r.TLS != nil && *r.TLS == (TLS{}) }},
		{"{urls: [https://sr], tls: {insecure_skip_verify: true}}", func(r *Registry) bool { return r.TLS.InsecureSkipVerify }},
		{"{urls: [https://sr], timeout: 500ms}", func(r *Registry) bool { return r.Timeout == 500*time.Millisecond }},
	}
	for _, tc := range cases {
		f := mustParse(t, "registry: "+tc.src+"\n")
		if r := f.Registry; r == nil || !tc.check(r) {
			t.Errorf("%s: registry = %+v", tc.src, r)
		}
	}
	// Anchors are shared with the kafka section.
	f := mustParse(t, "kafka:\n  tls: &tls {ca_file: /ca.pem}\nregistry:\n  urls: [https://sr]\n  tls: *tls\n")
	if f.Registry.TLS == nil || f.Registry.TLS.CAFile != "/ca.pem" || f.Kafka.TLS.CAFile != "/ca.pem" {
		t.Errorf("anchored tls: kafka %+v registry %+v", f.Kafka.TLS, f.Registry.TLS)
	}
}

// No error message of the registry section may contain a secret: not a
// literal next to another mistake, not a secret pasted where it does not
// belong, and not a password or token written into a URL.
func TestRegistryErrorsNeverShowSecrets(t *testing.T) {
	const pw = "hunter2"
	for _, src := range []string{
		`registry:
  urls: [sr:8081, "ftp://x", "https://x:0"]
  tls: {cert_file: /c.pem, ca_fle: /ca.pem}
  basic:
    username: SRKEY
    password: {value: "hunter2", insecure_plaintext: true}
    colour: blue
  bearer: {value: "hunter2", insecure_plaintext: true}
  timeout: 10d
`,
		"registry: hunter2\n",
		"registry: {urls: [https://sr], basic: hunter2}\n",
		"registry: {urls: [https://sr], basic: \"SRKEY:hunter2\"}\n",
		"registry: {urls: [https://sr], basic: [SRKEY, hunter2]}\n",
		"registry: {urls: [https://sr], basic: {username: SRKEY, password: hunter2}}\n",
		"registry: {urls: [https://sr], basic: {username: SRKEY, password: {value: hunter2}}}\n",
		"registry: {urls: [https://sr], basic: {username: SRKEY, password: {hunter2}}}\n",
		"registry: {urls: [https://sr], basic: {username: SRKEY, password: {env: \"hunter2!\"}}}\n",
		"registry: {urls: [https://sr], bearer: hunter2}\n",
		"registry: {urls: [https://sr], bearer: [hunter2]}\n",
		"registry: {urls: [https://sr], bearer: {hunter2: x}}\n",
		"registry: {urls: [https://sr], bearer: {value: hunter2, insecure_plaintext: false}}\n",
		"registry: {urls: [https://sr], bearer: {value: hunter2, insecure_plaintext: true}, basic: {username: u, password: {value: hunter2, insecure_plaintext: true}}}\n",
		// Credentials written into a URL.
		"registry: {urls: \"https://SRKEY:hunter2@sr\"}\n",
		"registry: {urls: [\"https://SRKEY:hunter2@sr\"]}\n",
		"registry: {urls: [\"SRKEY:hunter2@sr:8081\"]}\n",
		"registry: {urls: [\"ftp://SRKEY:hunter2@sr\"]}\n",
		"registry: {urls: [\"https://sr/?api_key=hunter2\"]}\n",
		"registry: {urls: [\"https://sr/#hunter2\"]}\n",
		"registry: {urls: [\"https://SRKEY:hunter2@sr\", \"https://SRKEY:hunter2@sr\"]}\n",
	} {
		_, err := Parse([]byte(src), "t.yaml")
		if err == nil {
			t.Errorf("no error for\n%s", src)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error shows the secret:\n%v\n--- input:\n%s", err, src)
		}
	}
}

// The settings print, log and marshal without the secrets' values.
func TestRegistryNeverFormatsSecrets(t *testing.T) {
	const v = "hunter2"
	s := LiteralSecret(v)
	values := []any{
		Registry{URLs: []string{"https://sr"}, TLS: &TLS{CAFile: "/ca.pem"}, Basic: &BasicAuth{Username: "SRKEY", Password: s}, Bearer: s},
		&Registry{Basic: &BasicAuth{Username: "SRKEY", Password: s}},
		BasicAuth{Username: "SRKEY", Password: s}, &BasicAuth{Username: "SRKEY", Password: s},
		File{Registry: &Registry{Bearer: s, Basic: &BasicAuth{Password: s}}},
	}
	var out []string
	for _, x := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out = append(out, fmt.Sprintf(verb, x))
		}
		if b, err := json.Marshal(x); err == nil {
			out = append(out, string(b))
		}
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		slog.New(h).Info("registry", "settings", values[0], "basic", values[2], "ptr", values[1])
	}
	out = append(out, logs.String())
	for _, o := range out {
		if strings.Contains(o, v) || strings.Contains(o, fmt.Sprintf("%x", v)) {
			t.Errorf("the value shows in %q", o)
		}
	}
	if got := fmt.Sprintf("%+v", values[2]); !strings.Contains(got, "Username:SRKEY") || !strings.Contains(got, "secret(inline)") {
		t.Errorf("%%+v of BasicAuth = %s", got)
	}
}
