package dictionary

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// connectErrorCases are the errorCases of the kafka: and store: sections
// (TestParseErrors runs both lists): one mistake, one error, on the line
// given, containing the fragment.
var connectErrorCases = []struct {
	name string
	src  string
	line int
	frag string
}{
	// --- kafka ---
	{"kafka not a mapping", "kafka: b1:9092\n", 1, `kafka: want a mapping, got string "b1:9092"`},
	{"unknown kafka key", "kafka:\n  broker: [b1:9092]\n", 2,
		`kafka: unknown key "broker" (allowed: brokers, client_id, tls, sasl); did you mean "brokers"?`},
	{"brokers not a list", "kafka:\n  brokers: b1:9092\n", 2, `kafka.brokers: want a list, got string "b1:9092"`},
	{"broker not a string", "kafka:\n  brokers: [9092]\n", 2, `kafka.brokers[0]: want a string, got integer 9092`},
	{"broker empty", "kafka:\n  brokers: [\"\"]\n", 2, `kafka.brokers[0]: must not be empty`},
	{"broker without port", "kafka:\n  brokers:\n    - b1:9092\n    - b2\n", 4,
		`kafka.brokers[1]: "b2" is not host:port (want e.g. broker1:9092, or [::1]:9092 for an IPv6 address)`},
	{"broker with scheme", "kafka:\n  brokers: [\"kafka://b1:9092\"]\n", 2,
		`kafka.brokers[0]: "kafka://b1:9092" has a scheme; write host:port such as broker1:9092 (TLS is set with kafka.tls)`},
	{"brokers in one string", "kafka:\n  brokers: [\"b1:9092,b2:9092\"]\n", 2,
		`kafka.brokers[0]: "b1:9092,b2:9092" holds several addresses; write one broker per list item`},
	{"broker without host", "kafka:\n  brokers: [\":9092\"]\n", 2, `kafka.brokers[0]: ":9092" has no host`},
	{"broker port zero", "kafka:\n  brokers: [b1:0]\n", 2, `kafka.brokers[0]: "b1:0" has an invalid port (want a number from 1 to 65535)`},
	{"broker port too big", "kafka:\n  brokers: [b1:65536]\n", 2, `kafka.brokers[0]: "b1:65536" has an invalid port`},
	{"broker port not a number", "kafka:\n  brokers: [b1:http]\n", 2, `kafka.brokers[0]: "b1:http" has an invalid port`},
	{"broker bad host", "kafka:\n  brokers: [\"b 1:9092\"]\n", 2, `kafka.brokers[0]: "b 1:9092" has an invalid host name "b 1"`},
	{"broker IPv6 without brackets", "kafka:\n  brokers: [\"::1:9092\"]\n", 2, `kafka.brokers[0]: "::1:9092" is not host:port`},
	{"broker bracketed name", "kafka:\n  brokers: [\"[b1]:9092\"]\n", 2, `kafka.brokers[0]: "[b1]:9092" has an invalid host name "b1"`},
	{"duplicate broker", "kafka:\n  brokers:\n    - b1:9092\n    - b1:9092\n", 4,
		`kafka.brokers[1]: broker "b1:9092" is listed twice (first at line 3)`},
	{"empty client_id", "kafka:\n  client_id: \"\"\n", 2, `kafka.client_id: must not be empty`},

	// --- kafka.tls ---
	{"tls not a mapping", "kafka:\n  tls: \"yes\"\n", 2, `kafka.tls: want true, false or a mapping of TLS settings, got string "yes"`},
	{"unknown tls key", "kafka:\n  tls:\n    ca: /etc/ca.pem\n", 3,
		`kafka.tls: unknown key "ca" (allowed: ca_file, cert_file, key_file, server_name, insecure_skip_verify)`},
	{"empty ca_file", "kafka:\n  tls: {ca_file: \"\"}\n", 2, `kafka.tls.ca_file: must not be empty`},
	{"server_name not a string", "kafka:\n  tls: {server_name: [a]}\n", 2, `kafka.tls.server_name: want a string, got a list`},
	{"cert_file without key_file", "kafka:\n  tls:\n    ca_file: /ca.pem\n    cert_file: /client.pem\n", 4,
		`kafka.tls.cert_file: a client certificate needs its key_file too (mTLS takes both or neither)`},
	{"key_file without cert_file", "kafka:\n  tls:\n    key_file: /client.key\n", 3,
		`kafka.tls.key_file: a client key needs its cert_file too (mTLS takes both or neither)`},
	{"insecure_skip_verify not a bool", "kafka:\n  tls:\n    insecure_skip_verify: \"no\"\n", 3,
		`kafka.tls.insecure_skip_verify: want true or false, got string "no"`},

	// --- kafka.sasl ---
	{"sasl not a mapping", "kafka:\n  sasl: PLAIN\n", 2, `kafka.sasl: want a mapping, got a string`},
	{"sasl without mechanism", "kafka:\n  sasl:\n    username: u\n", 2,
		`kafka.sasl: missing required key "mechanism" (want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM)`},
	{"unknown mechanism", "kafka:\n  sasl:\n    mechanism: SCRAM_SHA_512\n", 3,
		`kafka.sasl.mechanism: unknown mechanism "SCRAM_SHA_512" (want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM); did you mean "SCRAM-SHA-512"?`},
	{"unknown mechanism without suggestion", "kafka:\n  sasl: {mechanism: GSSAPI}\n", 2, `kafka.sasl.mechanism: unknown mechanism "GSSAPI" (want`},
	{"mechanism not a string", "kafka:\n  sasl: {mechanism: 512}\n", 2, `kafka.sasl.mechanism: want a string, got integer 512`},
	{"unknown sasl key", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    passwd: {env: P}\n", 5,
		`kafka.sasl: unknown key "passwd" (allowed: mechanism, username, password, token, aws); did you mean "password"?`},
	{"PLAIN without username", "kafka:\n  sasl:\n    mechanism: PLAIN\n    password: {env: P}\n", 2,
		`kafka.sasl: missing required key "username" for mechanism PLAIN`},
	{"SCRAM without password", "kafka:\n  sasl:\n    mechanism: scram-sha-256\n    username: u\n", 2,
		`kafka.sasl: missing required key "password" for mechanism SCRAM-SHA-256 (a secret: {env: NAME} or {file: PATH})`},
	{"OAUTHBEARER without token", "kafka:\n  sasl:\n    mechanism: OAUTHBEARER\n", 2,
		`kafka.sasl: missing required key "token" for mechanism OAUTHBEARER (a secret: {env: NAME} or {file: PATH})`},
	{"token with PLAIN", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password: {env: P}\n    token: {env: T}\n", 6,
		`kafka.sasl.token: mechanism PLAIN takes no token (token is for OAUTHBEARER)`},
	{"username with OAUTHBEARER", "kafka:\n  sasl:\n    mechanism: OAUTHBEARER\n    token: {file: /t}\n    username: u\n", 5,
		`kafka.sasl.username: mechanism OAUTHBEARER takes no username (username is for PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)`},
	{"password with OAUTHBEARER", "kafka:\n  sasl:\n    mechanism: OAUTHBEARER\n    token: {file: /t}\n    password: {env: P}\n", 5,
		`kafka.sasl.password: mechanism OAUTHBEARER takes no password (password is for PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)`},
	{"password with AWS_MSK_IAM", "kafka:\n  sasl:\n    mechanism: AWS_MSK_IAM\n    password: {env: P}\n", 4,
		`kafka.sasl.password: mechanism AWS_MSK_IAM takes no password`},
	{"aws with SCRAM", "kafka:\n  sasl:\n    mechanism: SCRAM-SHA-512\n    username: u\n    password: {env: P}\n    aws: {access_key_id: {env: A}, secret_access_key: {env: S}}\n", 6,
		`kafka.sasl.aws: mechanism SCRAM-SHA-512 takes no aws (aws is for AWS_MSK_IAM)`},
	{"username as a secret", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: {env: KAFKA_USER}\n    password: {env: P}\n", 4,
		`kafka.sasl.username: want a plain string, got a mapping (a username is not secret`},
	{"empty username", "kafka:\n  sasl: {mechanism: PLAIN, username: \"\", password: {env: P}}\n", 2, `kafka.sasl.username: must not be empty`},

	// --- kafka.sasl.aws ---
	{"aws not a mapping", "kafka:\n  sasl:\n    mechanism: AWS_MSK_IAM\n    aws: AKIAEXAMPLE\n", 4, `kafka.sasl.aws: want a mapping, got a string`},
	{"aws empty", "kafka:\n  sasl:\n    mechanism: AWS_MSK_IAM\n    aws: {}\n", 4,
		`kafka.sasl.aws: missing required keys "access_key_id" and "secret_access_key" (leave aws out to use the standard AWS environment variables)`},
	{"aws without secret_access_key", "kafka:\n  sasl:\n    mechanism: AWS_MSK_IAM\n    aws:\n      access_key_id: {env: A}\n", 4,
		`kafka.sasl.aws: missing required key "secret_access_key"`},
	{"unknown aws key", "kafka:\n  sasl:\n    mechanism: AWS_MSK_IAM\n    aws:\n      access_key_id: {env: A}\n      secret_key: {env: S}\n", 6,
		`kafka.sasl.aws: unknown key "secret_key" (allowed: access_key_id, secret_access_key, session_token)`},
	{"unknown aws key not echoed", "kafka:\n  sasl:\n    mechanism: AWS_MSK_IAM\n    aws:\n      AKIAIOSFODNN7EXAMPLE: {env: S}\n", 5,
		`kafka.sasl.aws: unknown key (allowed: access_key_id, secret_access_key, session_token; the key is not shown in case it is the secret itself)`},
	{"aws session_token bare", "kafka:\n  sasl:\n    mechanism: AWS_MSK_IAM\n    aws:\n      access_key_id: {env: A}\n      secret_access_key: {env: S}\n      session_token: abc\n", 7,
		`kafka.sasl.aws.session_token: secrets are not read from the configuration file`},

	// --- secrets ---
	{"bare secret", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password: s3cret\n", 5,
		`kafka.sasl.password: secrets are not read from the configuration file; write {env: NAME} or {file: PATH} (or {value: ..., insecure_plaintext: true} to insist)`},
	{"bare numeric secret", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password: 1234}\n", 2,
		`kafka.sasl.password: secrets are not read from the configuration file`},
	{"null secret", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password:\n", 5,
		`kafka.sasl.password: want a secret, got nothing (null); write {env: NAME} or {file: PATH}`},
	{"secret as a list", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password: [a]}\n", 2,
		`kafka.sasl.password: want a secret, got a list; write {env: NAME}`},
	{"empty secret mapping", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {}}\n", 2,
		`kafka.sasl.password: want one of env, file or value; write {env: NAME} or {file: PATH}`},
	{"secret with env and file", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password:\n      env: P\n      file: /p\n", 7,
		`kafka.sasl.password: has both env and file; a secret comes from exactly one of env, file or value`},
	{"secret with env and value", "kafka:\n  sasl:\n    mechanism: OAUTHBEARER\n    token:\n      value: t\n      insecure_plaintext: true\n      env: T\n", 7,
		`kafka.sasl.token: has both value and env`},
	{"invalid env name", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password: {env: KAFKA-PASSWORD}\n", 5,
		`kafka.sasl.password.env: not a valid environment variable name (want letters, digits and _, not starting with a digit)`},
	{"env name starting with a digit", "kafka:\n  sasl: {mechanism: OAUTHBEARER, token: {env: 1TOKEN}}\n", 2,
		`kafka.sasl.token.env: not a valid environment variable name`},
	{"env not a string", "kafka:\n  sasl: {mechanism: OAUTHBEARER, token: {env: 12}}\n", 2,
		`kafka.sasl.token.env: want a string (in quotes if it looks like a number or a boolean), got a number`},
	{"empty file", "kafka:\n  sasl: {mechanism: OAUTHBEARER, token: {file: \"\"}}\n", 2, `kafka.sasl.token.file: must not be empty`},
	{"value without insecure_plaintext", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password: {value: s3cret}\n", 5,
		`kafka.sasl.password: an inline value is only accepted with insecure_plaintext: true beside it; prefer {env: NAME} or {file: PATH}`},
	{"value with insecure_plaintext false", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password:\n      value: s3cret\n      insecure_plaintext: false\n", 6,
		`kafka.sasl.password: an inline value is only accepted with insecure_plaintext: true`},
	{"insecure_plaintext without value", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password:\n      env: P\n      insecure_plaintext: true\n", 7,
		`kafka.sasl.password.insecure_plaintext: goes with value only; an env secret is not in the file`},
	{"insecure_plaintext not a bool", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password:\n      value: s3cret\n      insecure_plaintext: \"yes\"\n", 7,
		`kafka.sasl.password.insecure_plaintext: want true or false, got a string`},
	{"empty value", "kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {value: \"\", insecure_plaintext: true}}\n", 2,
		`kafka.sasl.password.value: must not be empty`},
	{"value not a string", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password: {value: 1234, insecure_plaintext: true}\n", 5,
		`kafka.sasl.password.value: want a string (in quotes if it looks like a number or a boolean), got a number`},
	{"misspelt secret key", "kafka:\n  sasl: {mechanism: OAUTHBEARER, token: {evn: T}}\n", 2,
		`kafka.sasl.token: unknown key "evn" (allowed: env, file, value, insecure_plaintext); did you mean "env"?`},
	{"unknown secret key not echoed", "kafka:\n  sasl: {mechanism: OAUTHBEARER, token: {eyJhbGciOi: x}}\n", 2,
		`kafka.sasl.token: unknown key (allowed: env, file, value, insecure_plaintext; the key is not shown in case it is the secret itself)`},
	{"snake_case secret key named", "kafka:\n  sasl: {mechanism: OAUTHBEARER, token: {env_var: T}}\n", 2,
		`kafka.sasl.token: unknown key "env_var" (allowed: env, file, value, insecure_plaintext)`},
	{"duplicate secret key", "kafka:\n  sasl:\n    mechanism: PLAIN\n    username: u\n    password:\n      env: P\n      env: Q\n", 7,
		`kafka.sasl.password: duplicate key "env" (first at line 6)`},

	// --- store ---
	{"store not a mapping", "store: 0123456789abcdef\n", 1, `store: want a mapping, got a string`},
	{"unknown store key", "store:\n  encryption: {file: /k}\n", 2,
		`store: unknown key "encryption" (allowed: encryption_key, key_rotation)`},
	{"bare encryption key", "store:\n  encryption_key: 0123456789abcdef\n", 2,
		`store.encryption_key: secrets are not read from the configuration file`},
	{"key_rotation without encryption_key", "store:\n  key_rotation: 240h\n", 2,
		`store.key_rotation: key rotation applies to encryption at rest; set store.encryption_key too, or leave key_rotation out`},
	{"key_rotation in days", "store:\n  encryption_key: {file: /k}\n  key_rotation: 10d\n", 3,
		`store.key_rotation: "10d" is not a duration (want e.g. 240h or 90m; Go durations have no days: 10 days is 240h)`},
	{"key_rotation not a duration", "store:\n  encryption_key: {file: /k}\n  key_rotation: often\n", 3,
		`store.key_rotation: "often" is not a duration (want e.g. 240h or 90m)`},
	{"key_rotation a number", "store:\n  encryption_key: {file: /k}\n  key_rotation: 240\n", 3,
		`store.key_rotation: want a duration such as 240h or 90m, got integer 240`},
	{"key_rotation zero", "store:\n  encryption_key: {file: /k}\n  key_rotation: 0s\n", 3,
		`store.key_rotation: must be greater than zero, got "0s"`},
	{"key_rotation negative", "store:\n  encryption_key: {file: /k}\n  key_rotation: -1h\n", 3,
		`store.key_rotation: must be greater than zero, got "-1h"`},
}

func TestConnectDefaults(t *testing.T) {
	// Neither section: plaintext, no authentication, no encryption.
	f := mustParse(t, okAttrs)
	if f.Kafka.ClientID != "profiled" || f.Kafka.Brokers != nil || f.Kafka.TLS != nil || f.Kafka.SASL != nil {
		t.Errorf("kafka = %+v", f.Kafka)
	}
	if !f.Store.EncryptionKey.IsZero() || f.Store.KeyRotation != 0 {
		t.Errorf("store = %+v", f.Store)
	}
	// Empty sections mean the same.
	f = mustParse(t, "kafka:\nstore:\n")
	if f.Kafka.ClientID != "profiled" || f.Kafka.TLS != nil || f.Kafka.SASL != nil || !f.Store.EncryptionKey.IsZero() {
		t.Errorf("empty sections: kafka = %+v, store = %+v", f.Kafka, f.Store)
	}
}

func TestKafkaSection(t *testing.T) {
	f := mustParse(t, `kafka:
  brokers: [b1:9092, "b2.example.com:9093", "[::1]:9094", 10.0.0.1:9092, kafka_1:9092]
  client_id: profiled-eu
  tls:
    ca_file: /etc/kafka/ca.pem
    cert_file: /etc/profiled/client.pem
    key_file: /etc/profiled/client.key
    server_name: broker.internal
    insecure_skip_verify: true
  sasl:
    mechanism: scram-SHA-512
    username: profiled
    password: {env: KAFKA_PASSWORD}
`)
	k := f.Kafka
	if want := []string{"b1:9092", "b2.example.com:9093", "[::1]:9094", "10.0.0.1:9092", "kafka_1:9092"}; !slices.Equal(k.Brokers, want) {
		t.Errorf("brokers = %q, want %q", k.Brokers, want)
	}
	if k.ClientID != "profiled-eu" {
		t.Errorf("client id = %q", k.ClientID)
	}
	want := TLS{CAFile: "/etc/kafka/ca.pem", CertFile: "/etc/profiled/client.pem", KeyFile: "/etc/profiled/client.key",
		ServerName: "broker.internal", InsecureSkipVerify: true}
	if k.TLS == nil || *k.TLS != want {
		t.Errorf("tls = %+v, want %+v", k.TLS, want)
	}
	s := k.SASL
	if s == nil || s.Mechanism != MechScramSHA512 || s.Username != "profiled" || s.Password.Env != "KAFKA_PASSWORD" ||
		s.Password.File != "" || !s.Token.IsZero() || s.AWS != nil {
		t.Errorf("sasl = %+v", s)
	}
}

func TestTLSForms(t *testing.T) {
	for src, on := range map[string]bool{
		"kafka:\n  tls:\n":                               true, // presence of the key enables TLS
		"kafka:\n  tls: {}\n":                            true,
		"kafka:\n  tls: true\n":                          true,
		"kafka:\n  tls: false\n":                         false,
		"kafka:\n  brokers: [b:1]\n":                     false,
		"kafka:\n  tls: {insecure_skip_verify: false}\n": true,
	} {
		f := mustParse(t, src)
		if (f.Kafka.TLS != nil) != on {
			t.Errorf("%q: TLS = %+v, want enabled %v", src, f.Kafka.TLS, on)
		} else if on && *f.Kafka.TLS != (TLS{}) {
			t.Errorf("%q: TLS = %+v, want system roots and nothing else", src, f.Kafka.TLS)
		}
	}
	// insecure_skip_verify beside ca_file is allowed.
	f := mustParse(t, "kafka:\n  tls: {ca_file: /ca.pem, insecure_skip_verify: true}\n")
	if *f.Kafka.TLS != (TLS{CAFile: "/ca.pem", InsecureSkipVerify: true}) {
		t.Errorf("tls = %+v", f.Kafka.TLS)
	}
}

func TestSASLMechanisms(t *testing.T) {
	cases := []struct {
		src   string
		check func(*SASL) bool
	}{
		{"{mechanism: plain, username: u, password: {file: /p}}", func(s *SASL) bool {
			return s.Mechanism == MechPlain && s.Username == "u" && s.Password.File == "/p"
		}},
		{"{mechanism: Scram-Sha-256, username: u, password: {env: P}}", func(s *SASL) bool {
			return s.Mechanism == MechScramSHA256 && s.Username == "u" && s.Password.Env == "P"
		}},
		{"{mechanism: SCRAM-SHA-512, username: u, password: {env: P}}", func(s *SASL) bool {
			return s.Mechanism == MechScramSHA512
		}},
		{"{mechanism: oauthbearer, token: {file: /var/run/secrets/kafka/token}}", func(s *SASL) bool {
			return s.Mechanism == MechOAuthBearer && s.Token.File == "/var/run/secrets/kafka/token" && s.Username == "" && s.Password.IsZero()
		}},
		{"{mechanism: aws_msk_iam}", func(s *SASL) bool {
			return s.Mechanism == MechAWSMSKIAM && s.AWS == nil
		}},
		{"{mechanism: AWS_MSK_IAM, aws: {access_key_id: {env: AWS_ACCESS_KEY_ID}, secret_access_key: {file: /sak}}}", func(s *SASL) bool {
			return s.AWS != nil && s.AWS.AccessKeyID.Env == "AWS_ACCESS_KEY_ID" && s.AWS.SecretAccessKey.File == "/sak" && s.AWS.SessionToken.IsZero()
		}},
		{"{mechanism: AWS_MSK_IAM, aws: {access_key_id: {env: A}, secret_access_key: {env: S}, session_token: {env: T}}}", func(s *SASL) bool {
			return s.AWS != nil && s.AWS.SessionToken.Env == "T"
		}},
	}
	for _, tc := range cases {
		f := mustParse(t, "kafka:\n  sasl: "+tc.src+"\n")
		if s := f.Kafka.SASL; s == nil || !tc.check(s) {
			t.Errorf("%s: sasl = %+v", tc.src, s)
		}
	}
}

func TestSecretForms(t *testing.T) {
	f := mustParse(t, `kafka:
  sasl:
    mechanism: AWS_MSK_IAM
    aws:
      access_key_id: {env: _Key_1}
      secret_access_key: {file: ./relative/path}
      session_token:
        value: "literal token"
        insecure_plaintext: true
store:
  encryption_key: &k {env: STATE_KEY}
  key_rotation: 36h30m
`)
	aws := f.Kafka.SASL.AWS
	if aws.AccessKeyID.Env != "_Key_1" || aws.AccessKeyID.File != "" {
		t.Errorf("env secret = %v", aws.AccessKeyID)
	}
	if aws.SecretAccessKey.File != "./relative/path" || aws.SecretAccessKey.Env != "" {
		t.Errorf("file secret = %v", aws.SecretAccessKey)
	}
	if tok := aws.SessionToken; tok.Env != "" || tok.File != "" || tok.IsZero() {
		t.Errorf("literal secret = %v", tok)
	} else if v, err := tok.Reveal(); err != nil || v != "literal token" {
		t.Errorf("literal Reveal = %q, %v", v, err)
	}
	if f.Store.EncryptionKey.Env != "STATE_KEY" || f.Store.KeyRotation != 36*time.Hour+30*time.Minute {
		t.Errorf("store = %+v", f.Store)
	}
}

// Parse only records where secrets and files are; it reads neither.
func TestParseReadsNoSecretsOrFiles(t *testing.T) {
	t.Setenv("PROFILED_TEST_SECRET", "")
	f := mustParse(t, `kafka:
  tls: {ca_file: /does/not/exist/ca.pem, cert_file: /nope.pem, key_file: /nope.key}
  sasl: {mechanism: PLAIN, username: u, password: {env: PROFILED_TEST_SECRET}}
store:
  encryption_key: {file: /does/not/exist/state.key}
`)
	if _, err := f.Kafka.SASL.Password.Reveal(); !errors.Is(err, ErrSecretMissing) {
		t.Errorf("unset env: Reveal error = %v", err)
	}
	if _, err := f.Store.EncryptionKey.RevealBytes(); !errors.Is(err, ErrSecretMissing) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: RevealBytes error = %v", err)
	}
}

// No error message may contain a secret's value: not the value of a valid
// literal next to another mistake, and not a secret written where it does
// not belong.
func TestErrorsNeverShowSecrets(t *testing.T) {
	const pw = "hunter2"
	for _, src := range []string{
		// A valid literal, and other mistakes in the same section.
		`kafka:
  brokers: [nohost]
  client_id: ""
  tls: {cert_file: /c.pem, ca_fle: /ca.pem}
  sasl:
    mechanism: PLAIN
    username: u
    password: {value: "hunter2", insecure_plaintext: true}
    token: {env: T}
    colour: blue
store:
  encryption_key: {value: "hunter2", insecure_plaintext: true}
  key_rotation: 10d
`,
		// The literal itself in error.
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {value: hunter2}}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {value: hunter2, insecure_plaintext: false}}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {value: hunter2, insecure_plaintext: hunter2}}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {value: hunter2, env: P, insecure_plaintext: true}}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {value: hunter2, insecure_plaintext: true, colour: x}}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {value: hunter2, insecure_plaintext: true, value: x}}\n",
		"kafka:\n  sasl: {mechanism: OAUTHBEARER, token: {value: hunter2, insecure_plaintext: true}, password: {value: hunter2, insecure_plaintext: true}}\n",
		"kafka:\n  sasl: {mechanism: GSSAPI, username: u, password: {value: hunter2, insecure_plaintext: true}}\n",
		// The secret pasted where it does not belong.
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: hunter2}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: \"hunter2\"}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: !!str hunter2}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: [hunter2]}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {env: \"hunter2!\"}}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {env: hunter2, file: /p}}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {hunter2}}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: {hunter2: x}}\n",
		"kafka:\n  sasl: {mechanism: PLAIN, username: u, password: |\n    hunter2\n    }\n",
		"kafka:\n  sasl: hunter2\n",
		"kafka:\n  sasl: {mechanism: AWS_MSK_IAM, aws: hunter2}\n",
		"kafka:\n  sasl: {mechanism: AWS_MSK_IAM, aws: {hunter2: {env: A}}}\n",
		"kafka:\n  sasl: {mechanism: AWS_MSK_IAM, aws: {access_key_id: {hunter2: x}, secret_access_key: {env: S}}}\n",
		"kafka:\n  sasl: {mechanism: AWS_MSK_IAM, aws: {access_key_id: hunter2, secret_access_key: {env: S}}}\n",
		"kafka:\n  sasl: {mechanism: OAUTHBEARER, token: hunter2}\n",
		"kafka:\n  sasl: {mechanism: OAUTHBEARER, token: {value: 2, insecure_plaintext: true}}\n",
		"store: hunter2\n",
		"store: {encryption_key: hunter2}\n",
		"store: {encryption_key: {value: [hunter2], insecure_plaintext: true}}\n",
		"store: {encryption_key: {value: {hunter2: 1}, insecure_plaintext: true}}\n",
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
	// The number in `token: {value: 2, ...}` must not appear either.
	_, err := Parse([]byte("kafka:\n  sasl: {mechanism: OAUTHBEARER, token: {value: 987654, insecure_plaintext: true}}\n"), "t.yaml")
	if err == nil || strings.Contains(err.Error(), "987654") {
		t.Errorf("numeric literal: %v", err)
	}
}

// TestSecretNeverFormatsItsValue covers every way a value could reach a log
// line or a message: the methods, fmt's verbs (also on the structs that hold
// secrets, where fmt may bypass the methods for unexported fields), encoders
// and slog.
func TestSecretNeverFormatsItsValue(t *testing.T) {
	const v = "hunter2"
	s := LiteralSecret(v)
	if got, err := s.Reveal(); err != nil || got != v {
		t.Fatalf("Reveal = %q, %v", got, err)
	}
	if got, err := s.RevealBytes(); err != nil || string(got) != v {
		t.Fatalf("RevealBytes = %q, %v", got, err)
	}
	if s.IsZero() {
		t.Error("a literal is not zero")
	}
	text, _ := s.MarshalText()
	if s.String() != "secret(inline)" || s.GoString() != "secret(inline)" || s.LogValue().String() != "secret(inline)" ||
		string(text) != "secret(inline)" {
		t.Errorf("String %q GoString %q LogValue %q MarshalText %q", s.String(), s.GoString(), s.LogValue(), text)
	}

	type holder struct {
		S Secret
		p Secret // unexported: fmt cannot call its methods
	}
	sasl := &SASL{Mechanism: MechPlain, Username: "u", Password: s, Token: s, AWS: &AWS{AccessKeyID: s, SecretAccessKey: s, SessionToken: s}}
	values := []any{s, &s, []Secret{s}, map[string]Secret{"k": s}, holder{S: s, p: s}, &holder{S: s, p: s},
		struct{ S Secret }{s}, struct{ s Secret }{s}, *sasl, sasl, *sasl.AWS, Store{EncryptionKey: s}}
	var out []string
	for _, x := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T", "%p"} {
			out = append(out, fmt.Sprintf(verb, x))
		}
		out = append(out, fmt.Sprint(x), fmt.Sprintln(x))
		b, err := json.Marshal(x)
		if err == nil {
			out = append(out, string(b))
		}
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("connect", "password", s, "sasl", sasl, "holder", holder{S: s, p: s})
		l.Info("connect", slog.Any("secret", s), slog.Group("g", "s", &s))
	}
	out = append(out, logs.String())
	for _, o := range out {
		if strings.Contains(o, v) || strings.Contains(o, fmt.Sprintf("%x", v)) || strings.Contains(o, fmt.Sprintf("%X", v)) {
			t.Errorf("the value shows in %q", o)
		}
	}
	// The check itself works: the structs do show the other fields.
	if got := fmt.Sprintf("%+v", *sasl); !strings.Contains(got, "Username:u") || !strings.Contains(got, "secret(inline)") {
		t.Errorf("%%+v of SASL = %s", got)
	}
}

func TestSecretStringsAndReveal(t *testing.T) {
	env := Secret{Env: "PROFILED_TEST_PW"}
	file := Secret{File: filepath.Join(t.TempDir(), "pw")}
	for s, want := range map[*Secret]string{&env: "secret(env:PROFILED_TEST_PW)", &file: "secret(file:" + file.File + ")", {}: "secret(none)"} {
		if s.String() != want || fmt.Sprintf("%v|%+v|%#v", *s, *s, *s) != want+"|"+want+"|"+want {
			t.Errorf("String = %q, formatted %v|%+v|%#v; want %q", s.String(), *s, *s, *s, want)
		}
	}
	if !(Secret{}).IsZero() || env.IsZero() || file.IsZero() {
		t.Error("IsZero")
	}

	// Environment: read when revealed, an empty variable counts as unset.
	if _, err := env.Reveal(); !errors.Is(err, ErrSecretMissing) || !strings.Contains(err.Error(), "PROFILED_TEST_PW") {
		t.Errorf("unset: %v", err)
	}
	t.Setenv("PROFILED_TEST_PW", "")
	if _, err := env.Reveal(); !errors.Is(err, ErrSecretMissing) {
		t.Errorf("empty: %v", err)
	}
	t.Setenv("PROFILED_TEST_PW", "pw-from-env")
	if got, err := env.Reveal(); err != nil || got != "pw-from-env" {
		t.Errorf("env Reveal = %q, %v", got, err)
	}

	// File: read at every Reveal; a trailing newline is not part of it,
	// except for RevealBytes, which keeps binary keys as they are.
	if _, err := file.Reveal(); !errors.Is(err, ErrSecretMissing) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(file.File, []byte("pw-from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := file.Reveal(); err != nil || got != "pw-from-file" {
		t.Errorf("file Reveal = %q, %v", got, err)
	}
	if got, err := file.RevealBytes(); err != nil || string(got) != "pw-from-file\r\n" {
		t.Errorf("file RevealBytes = %q, %v", got, err)
	}
	if err := os.WriteFile(file.File, []byte("rotated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := file.Reveal(); got != "rotated" {
		t.Errorf("after rotation Reveal = %q", got)
	}
	if err := os.WriteFile(file.File, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := file.Reveal(); !errors.Is(err, ErrSecretMissing) {
		t.Errorf("empty file: %v", err)
	}
	if _, err := (Secret{}).Reveal(); !errors.Is(err, ErrSecretMissing) {
		t.Errorf("zero secret: %v", err)
	}
}

const examplesDir = "../../deploy/config/examples"

// Every example configuration loads, and says what its name promises.
func TestExampleConfigs(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	loaded := map[string]*File{}
	for _, p := range paths {
		f, err := Load(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		loaded[filepath.Base(p)] = f
	}
	checks := map[string]func(*File) bool{
		"confluent-cloud.yaml": func(f *File) bool {
			s := f.Kafka.SASL
			return f.Kafka.TLS != nil && s != nil && s.Mechanism == MechPlain && s.Username != "" && s.Password.Env != ""
		},
		"msk-iam.yaml": func(f *File) bool {
			s := f.Kafka.SASL
			return f.Kafka.TLS != nil && s != nil && s.Mechanism == MechAWSMSKIAM
		},
		"scram.yaml": func(f *File) bool {
			s := f.Kafka.SASL
			return f.Kafka.TLS != nil && f.Kafka.TLS.CAFile != "" && s != nil && s.Mechanism == MechScramSHA512 && s.Password.File != ""
		},
	}
	for name, ok := range checks {
		if f, found := loaded[name]; !found {
			t.Errorf("%s: missing or invalid", name)
		} else if !ok(f) {
			t.Errorf("%s: kafka = %+v, sasl = %+v, tls = %+v", name, f.Kafka, f.Kafka.SASL, f.Kafka.TLS)
		}
	}
	for name, f := range loaded {
		if len(f.Kafka.Brokers) == 0 || len(f.Sources) == 0 {
			t.Errorf("%s: want brokers and at least one source, got %+v", name, f)
		}
	}
}
