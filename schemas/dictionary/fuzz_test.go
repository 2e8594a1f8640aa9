package dictionary

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/profiled/profiled/schemas"
)

var errLineRE = regexp.MustCompile(`^fuzz\.yaml:[1-9][0-9]*: `)

// FuzzParse checks that Parse never panics or hangs, that every error starts
// with "file:line: ", and that a File it accepts is consistent. Run it with
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 60s ./schemas/dictionary/
func FuzzParse(f *testing.F) {
	if dev, err := os.ReadFile(devYAML); err == nil {
		f.Add(dev)
	}
	for _, tc := range slices.Concat(errorCases, connectErrorCases, registryErrorCases) {
		f.Add([]byte(tc.src))
	}
	if examples, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml")); err == nil {
		for _, p := range examples {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		"",
		"a: &a [*a]\n",
		"attributes:\n  a: &a\n    type: int\n    <<: *a\n",
		"attributes: {x: {type: decimal, scale: 3, validate: {range: {min: 1e3, max: \"2e3\"}, one_of: [1500]}}}\n",
		"attributes: {x: {type: string, normalize: [{e164: US}], validate: {one_of: [\"+14155552671\"]}}}\n",
		"sources: [{name: a, topic_pattern: \"a.*\", format: segment, profile_id: {field: u, fallback: {field: v}}}]\n",
		"attributes: !!map {x: !!map {type: !!str string}}\n",
		"kafka: {brokers: [\"[::1]:9092\", b:1], client_id: c, tls: {ca_file: /ca, cert_file: /c, key_file: /k, server_name: s, insecure_skip_verify: true}," +
			" sasl: {mechanism: scram-sha-256, username: u, password: {value: p, insecure_plaintext: true}}}\n" +
			"store: {encryption_key: {env: K}, key_rotation: 1h}\n",
		"kafka:\n  tls:\n  sasl:\n    mechanism: AWS_MSK_IAM\n    aws: &a\n      access_key_id: {env: A}\n      secret_access_key: {<<: {file: /s}}\n" +
			"      session_token: *a\n",
		"kafka: {sasl: {mechanism: OAUTHBEARER, token: &t {file: /t}}}\nstore: {encryption_key: *t}\n",
		"registry:\n  urls: [https://sr1:8081/p, \"HTTPS://[::1]:8081\"]\n  tls: {ca_file: /ca, cert_file: /c, key_file: /k, server_name: s}\n" +
			"  basic: {username: u, password: {value: p, insecure_plaintext: true}}\n  timeout: 1m\n",
		"kafka: {tls: &t {ca_file: /ca}}\nregistry: {urls: [http://sr], bearer: {file: /t}, tls: *t}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if file != nil {
				t.Fatal("File returned with an error")
			}
			for _, line := range errorLines(err) {
				if !errLineRE.MatchString(line) {
					t.Fatalf("error without file:line prefix: %q", line)
				}
			}
			return
		}
		checkConnect(t, file)
		if !slices.IsSorted(file.Names) || len(file.Names) != len(file.Attributes) {
			t.Fatalf("Names %v do not match Attributes", file.Names)
		}
		for name, a := range file.Attributes {
			if a.Name != name || a.Type == schemas.KindNull || a.Line < 1 {
				t.Fatalf("attribute %q = %+v", name, a)
			}
			// Coerce must not panic on the values the pipeline feeds it.
			for _, v := range []schemas.Value{schemas.Null, schemas.String("x"), schemas.Int(1), schemas.Float(0.5),
				schemas.Bool(true), dec("1.5"), schemas.Timestamp(0), schemas.Date(0)} {
				_, _ = a.Coerce(v)
			}
		}
		for _, c := range file.Collections {
			if !slices.IsSorted(c.Names) || len(c.Names) != len(c.Fields) {
				t.Fatalf("collection %s Names %v", c.Name, c.Names)
			}
		}
		for i, s := range file.Sources {
			if s.Index != i || s.Name == "" || (s.Topic == "") == (s.Pattern == nil) || s.Format == "" {
				t.Fatalf("source %d = %+v", i, s)
			}
			for _, m := range s.Attributes {
				if m.Target == nil || m.Target.Derive != nil || m.Target.Counter || (len(m.From) == 0) != m.EventTime {
					t.Fatalf("source %s mapping %+v", s.Name, m)
				}
			}
			if s.Entity != nil && (s.Entity.Collection == nil || s.Entity.Key == "") {
				t.Fatalf("source %s entity %+v", s.Name, s.Entity)
			}
			for _, c := range s.Counters {
				if c.Target == nil || c.Target.Type != schemas.KindInt || !c.Target.Counter {
					t.Fatalf("source %s counter %+v", s.Name, c)
				}
			}
		}
	})
}

// checkConnect checks the connection settings of an accepted file.
func checkConnect(t *testing.T, file *File) {
	t.Helper()
	k := file.Kafka
	if k.ClientID == "" {
		t.Fatal("empty client id")
	}
	for _, b := range k.Brokers {
		if checkHostPort(b) != "" {
			t.Fatalf("broker %q accepted", b)
		}
	}
	if k.TLS != nil && (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		t.Fatalf("tls %+v", k.TLS)
	}
	if s := k.SASL; s != nil {
		userPass := s.Mechanism == MechPlain || s.Mechanism == MechScramSHA256 || s.Mechanism == MechScramSHA512
		switch {
		case !contains(mechNames, s.Mechanism),
			userPass != (s.Username != ""), userPass == s.Password.IsZero(),
			(s.Mechanism == MechOAuthBearer) == s.Token.IsZero(),
			s.AWS != nil && (s.Mechanism != MechAWSMSKIAM || s.AWS.AccessKeyID.IsZero() || s.AWS.SecretAccessKey.IsZero()):
			t.Fatalf("sasl %+v", s)
		}
	}
	if file.Store.KeyRotation < 0 || (file.Store.KeyRotation != 0 && file.Store.EncryptionKey.IsZero()) {
		t.Fatalf("store %+v", file.Store)
	}
	if r := file.Registry; r != nil {
		if len(r.URLs) == 0 || r.Timeout <= 0 || (r.Basic != nil && !r.Bearer.IsZero()) ||
			(r.Basic != nil && (r.Basic.Username == "" || r.Basic.Password.IsZero())) ||
			(r.TLS != nil && (r.TLS.CertFile == "") != (r.TLS.KeyFile == "")) {
			t.Fatalf("registry %+v", r)
		}
		for _, u := range r.URLs {
			if norm, why := checkRegistryURL(u); why != "" || norm != u || (r.TLS != nil && !strings.HasPrefix(u, "https://")) {
				t.Fatalf("registry URL %q accepted (%s)", u, why)
			}
		}
	}
}
