package kafka

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/schemas/tlstest"
)

func wantConfigError(t *testing.T, err error, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got nil")
	}
	ce, ok := errors.AsType[*ConnectError](err)
	if !ok || ce.Kind != KindConfig {
		t.Fatalf("want a *ConnectError of kind config, got %T: %v", err, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message lacks %q: %v", s, err)
		}
	}
	t.Log(err)
}

func TestClientOptsConstructionErrors(t *testing.T) {
	t.Parallel()
	p := tlstest.NewPKI(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("this is not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	expired := p.CA.Issue(t, "expired", false, time.Now().Add(-time.Hour))
	for _, tc := range []struct {
		name     string
		k        dictionary.Kafka
		contains []string
	}{
		{"missing CA file", dictionary.Kafka{TLS: &dictionary.TLS{CAFile: missing}},
			[]string{"kafka.tls.ca_file", "cannot read CA file " + missing, "no such file"}},
		{"CA file without PEM", dictionary.Kafka{TLS: &dictionary.TLS{CAFile: notPEM}},
			[]string{"CA file " + notPEM + " holds no PEM certificate"}},
		{"cert and key mismatch", dictionary.Kafka{TLS: &dictionary.TLS{CertFile: p.Client.CertFile, KeyFile: p.Broker.KeyFile}},
			[]string{p.Client.CertFile, p.Broker.KeyFile, "do not make a usable pair", "private key does not match public key"}},
		{"key file is not a key", dictionary.Kafka{TLS: &dictionary.TLS{CertFile: p.Client.CertFile, KeyFile: notPEM}},
			[]string{notPEM, "do not make a usable pair"}},
		{"missing key file", dictionary.Kafka{TLS: &dictionary.TLS{CertFile: p.Client.CertFile, KeyFile: missing}},
			[]string{"kafka.tls.key_file", "cannot read client key " + missing}},
		{"cert without key", dictionary.Kafka{TLS: &dictionary.TLS{CertFile: p.Client.CertFile}},
			[]string{p.Client.CertFile, "without key_file"}},
		{"key without cert", dictionary.Kafka{TLS: &dictionary.TLS{KeyFile: p.Client.KeyFile}},
			[]string{p.Client.KeyFile, "without cert_file"}},
		{"expired client certificate", dictionary.Kafka{TLS: &dictionary.TLS{CertFile: expired.CertFile, KeyFile: expired.KeyFile}},
			[]string{expired.CertFile, "expired on"}},
		{"password file missing", dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: "SCRAM-SHA-256", Username: "alice", Password: dictionary.Secret{File: missing}}},
			[]string{"kafka.sasl.password", "file:" + missing, "user alice", "no such file"}},
		{"no password", dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: "PLAIN", Username: "alice"}},
			[]string{"kafka.sasl.password", "needs a password"}},
		{"no username", dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: "PLAIN", Password: dictionary.LiteralSecret("x")}},
			[]string{"kafka.sasl.username"}},
		{"unknown mechanism", dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: "GSSAPI"}},
			[]string{`unknown mechanism "GSSAPI"`, "SCRAM-SHA-512"}},
		{"no mechanism", dictionary.Kafka{SASL: &dictionary.SASL{}},
			[]string{"kafka.sasl.mechanism is missing"}},
		{"OAUTHBEARER without token", dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: "OAUTHBEARER"}},
			[]string{"kafka.sasl.token"}},
		{"AWS without secret key", dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: "AWS_MSK_IAM", AWS: &dictionary.AWS{AccessKeyID: dictionary.LiteralSecret("AKIA")}}},
			[]string{"kafka.sasl.aws.secret_access_key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts, err := ClientOpts(tc.k)
			if opts != nil {
				t.Errorf("options returned with an error")
			}
			wantConfigError(t, err, tc.contains...)
		})
	}
}

// TestPasswordEnvMissing cannot run in parallel: it changes the environment.
func TestPasswordEnvMissing(t *testing.T) {
	const env = "PROFILED_TEST_KAFKA_PASSWORD"
	t.Setenv(env, "")
	_, err := ClientOpts(dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: "PLAIN", Username: "alice", Password: dictionary.Secret{Env: env}}})
	wantConfigError(t, err, "environment variable "+env+" is not set", "kafka.sasl.password")

	t.Setenv(env, "from-env")
	if _, err := ClientOpts(dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: "PLAIN", Username: "alice", Password: dictionary.Secret{Env: env}}}); err != nil {
		t.Fatal(err)
	}
}

func TestTLSConfig(t *testing.T) {
	t.Parallel()
	p := tlstest.NewPKI(t)
	cfg, err := tlsConfig(&dictionary.TLS{CAFile: p.CA.CAFile, CertFile: p.Client.CertFile, KeyFile: p.Client.KeyFile, ServerName: "kafka.internal"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ServerName != "kafka.internal" || cfg.RootCAs == nil || cfg.InsecureSkipVerify {
		t.Errorf("unexpected config: min %x, server name %q, roots %v, insecure %v", cfg.MinVersion, cfg.ServerName, cfg.RootCAs != nil, cfg.InsecureSkipVerify)
	}
	sys, err := tlsConfig(&dictionary.TLS{})
	if err != nil {
		t.Fatal(err)
	}
	if sys.RootCAs != nil || sys.GetClientCertificate != nil {
		t.Errorf("empty TLS settings: want system roots and no client certificate")
	}

	// The client certificate is re-read at each handshake: a renewed pair
	// on disk is presented without a restart, and a half-written one does
	// not break the handshake.
	first, err := cfg.GetClientCertificate(nil)
	if err != nil || first == nil {
		t.Fatalf("client certificate: %v", err)
	}
	renewed := p.CA.Issue(t, "renewed", false, time.Now().Add(48*time.Hour))
	copyFile(t, renewed.CertFile, p.Client.CertFile)
	copyFile(t, renewed.KeyFile, p.Client.KeyFile)
	second, _ := cfg.GetClientCertificate(nil)
	if bytes.Equal(first.Certificate[0], second.Certificate[0]) || !bytes.Equal(second.Certificate[0], renewed.TLS.Certificate[0]) {
		t.Error("renewed client certificate was not picked up")
	}
	if err := os.WriteFile(p.Client.KeyFile, []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	third, err := cfg.GetClientCertificate(nil)
	if err != nil || third != second {
		t.Errorf("a broken pair on disk should keep the last good one: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestClientID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ set, want string }{{"", DefaultClientID}, {"profiled-eu", "profiled-eu"}} {
		opts, err := ClientOpts(dictionary.Kafka{ClientID: tc.set})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers("127.0.0.1:1"))...)
		if err != nil {
			t.Fatal(err)
		}
		if got := cl.OptValue(kgo.ClientID); got != tc.want {
			t.Errorf("client id %v, want %q", got, tc.want)
		}
		cl.Close()
	}
}

// authenticate runs a mechanism's first step the way kgo does.
func authenticate(t *testing.T, m sasl.Mechanism, host string) ([]byte, error) {
	t.Helper()
	_, msg, err := m.Authenticate(context.Background(), host)
	return msg, err
}

// TestOAuthTokenReread: the token file is read at every authentication, so
// a token a sidecar rotates is used by the next connection.
func TestOAuthTokenReread(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token")
	m, err := mechanism(&dictionary.SASL{Mechanism: "oauthbearer", Token: dictionary.Secret{File: path}}, DefaultClientID)
	if err != nil {
		t.Fatalf("a token file that does not exist yet is not a construction error: %v", err)
	}
	if m.Name() != dictionary.MechOAuthBearer {
		t.Fatalf("mechanism %s", m.Name())
	}
	// Missing at first use: a clear error naming the file.
	_, err = authenticate(t, m, "broker:9093")
	wantConfigError(t, err, "OAUTHBEARER", "kafka.sasl.token", path, "no such file")

	for _, tok := range []string{"token-one", "token-two"} {
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		msg, err := authenticate(t, m, "broker:9093")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(msg, []byte("auth=Bearer "+tok+"\x01")) {
			t.Errorf("authentication used %q, want token %q", msg, tok)
		}
	}
	// ClientOpts builds it too.
	if _, err := ClientOpts(dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: "OAUTHBEARER", Token: dictionary.Secret{File: path}}}); err != nil {
		t.Fatal(err)
	}
}

// TestPasswordReread: PLAIN and SCRAM read the password at construction
// (to fail fast) and again at each authentication (to follow rotation).
func TestPasswordReread(t *testing.T) {
	t.Parallel()
	pw := secretFile(t, "first-pw")
	m, err := mechanism(&dictionary.SASL{Mechanism: "PLAIN", Username: "alice", Password: pw}, DefaultClientID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw.File, []byte("second-pw"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg, err := authenticate(t, m, "broker:9093")
	if err != nil {
		t.Fatal(err)
	}
	if string(msg) != "\x00alice\x00second-pw" {
		t.Errorf("PLAIN message %q", msg)
	}
	if err := os.Remove(pw.File); err != nil {
		t.Fatal(err)
	}
	_, err = authenticate(t, m, "broker:9093")
	wantConfigError(t, err, "SASL PLAIN", "kafka.sasl.password", pw.File)
}

// mskHost is an MSK broker name: franz-go takes the signing region from it.
const mskHost = "b-1.profiles.abc123.c2.kafka.eu-west-1.amazonaws.com:9098"

func TestAWSStaticCredentials(t *testing.T) {
	t.Parallel()
	token := secretFile(t, "session-tok-1")
	m, err := mechanism(&dictionary.SASL{Mechanism: "AWS_MSK_IAM", AWS: &dictionary.AWS{
		AccessKeyID:     dictionary.LiteralSecret("AKIAEXAMPLEKEY"),
		SecretAccessKey: dictionary.LiteralSecret("wJalrXUtnFEMI-secret"),
		SessionToken:    token,
	}}, "profiled-test")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := authenticate(t, m, mskHost)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AKIAEXAMPLEKEY/", "/eu-west-1/kafka-cluster/", `"user-agent":"profiled-test"`, "session-tok-1"} {
		if !strings.Contains(string(msg), want) {
			t.Errorf("AWS payload lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(string(msg), "wJalrXUtnFEMI-secret") {
		t.Error("AWS payload contains the secret key")
	}
	// A configured session token that disappears is an error at use.
	if err := os.Remove(token.File); err != nil {
		t.Fatal(err)
	}
	_, err = authenticate(t, m, mskHost)
	wantConfigError(t, err, "AWS_MSK_IAM", "session token", token.File)
}

// TestAWSEnvironment cannot run in parallel: it changes the environment.
func TestAWSEnvironment(t *testing.T) {
	t.Setenv(EnvAWSAccessKeyID, "AKIAFROMENV")
	t.Setenv(EnvAWSSecretAccessKey, "env-secret-key")
	t.Setenv(EnvAWSSessionToken, "")
	m, err := mechanism(&dictionary.SASL{Mechanism: "AWS_MSK_IAM"}, DefaultClientID)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := authenticate(t, m, mskHost)
	if err != nil {
		t.Fatalf("without AWS_SESSION_TOKEN (long-term keys): %v", err)
	}
	if !strings.Contains(string(msg), "AKIAFROMENV/") || strings.Contains(string(msg), "x-amz-security-token") {
		t.Errorf("AWS payload from the environment: %s", msg)
	}
	if !strings.Contains(string(msg), `"user-agent":"profiled"`) {
		t.Errorf("user agent is not the client id: %s", msg)
	}
	t.Setenv(EnvAWSSessionToken, "env-session")
	if msg, _ = authenticate(t, m, mskHost); !strings.Contains(string(msg), "env-session") {
		t.Errorf("session token from the environment not used: %s", msg)
	}

	// Credentials that are not there fail at first use, naming the
	// variable; construction does not read them.
	t.Setenv(EnvAWSAccessKeyID, "")
	if _, err := ClientOpts(dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: "AWS_MSK_IAM"}}); err != nil {
		t.Fatal(err)
	}
	_, err = authenticate(t, m, mskHost)
	wantConfigError(t, err, "AWS_MSK_IAM", "environment variable AWS_ACCESS_KEY_ID is not set", "kafka.sasl.aws is not set")
}

// TestNoSecretInOutput prints the settings and everything built from them
// every way a debugging session or a log line might.
func TestNoSecretInOutput(t *testing.T) {
	t.Parallel()
	p := tlstest.NewPKI(t)
	secrets := []string{"plain-Pa55", "oauth-T0ken", "aws-Secr3t", "aws-Sess10n", "AKIA-ID-1"}
	settings := []dictionary.Kafka{
		{Brokers: []string{"b:9093"}, TLS: &dictionary.TLS{CAFile: p.CA.CAFile, CertFile: p.Client.CertFile, KeyFile: p.Client.KeyFile},
			SASL: &dictionary.SASL{Mechanism: "PLAIN", Username: "alice", Password: dictionary.LiteralSecret("plain-Pa55")}},
		{SASL: &dictionary.SASL{Mechanism: "SCRAM-SHA-512", Username: "alice", Password: dictionary.LiteralSecret("plain-Pa55")}},
		{SASL: &dictionary.SASL{Mechanism: "OAUTHBEARER", Token: dictionary.LiteralSecret("oauth-T0ken")}},
		{SASL: &dictionary.SASL{Mechanism: "AWS_MSK_IAM", AWS: &dictionary.AWS{
			AccessKeyID: dictionary.LiteralSecret("AKIA-ID-1"), SecretAccessKey: dictionary.LiteralSecret("aws-Secr3t"),
			SessionToken: dictionary.LiteralSecret("aws-Sess10n"),
		}}},
	}
	var out bytes.Buffer
	text := slog.New(slog.NewTextHandler(&out, nil))
	jsonl := slog.New(slog.NewJSONHandler(&out, nil))
	for _, k := range settings {
		opts, err := ClientOpts(k)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers("127.0.0.1:1"))...)
		if err != nil {
			t.Fatal(err)
		}
		mechs := cl.OptValue(kgo.SASL)
		cl.Close()
		things := []any{k, &k, k.SASL, *k.SASL, k.SASL.Password, k.SASL.Token, k.SASL.AWS, opts, mechs}
		if k.SASL.AWS != nil {
			things = append(things, *k.SASL.AWS)
		}
		for _, v := range things {
			fmt.Fprintf(&out, "%v|%+v|%#v|%s\n", v, v, v, v)
			text.Info("settings", "v", v)
			jsonl.Info("settings", "v", v)
		}
		text.Info("kafka", "settings", k, "sasl", k.SASL)
		jsonl.Info("kafka", "settings", k, "sasl", k.SASL)
	}
	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("output contains secret %q", s)
		}
	}
	if !strings.Contains(out.String(), "secret(inline)") {
		t.Errorf("the secrets were not printed at all; the test checks nothing:\n%s", out.String())
	}
}
