package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/schemas/tlstest"
)

// The e2e tests run kfake with TLS and SASL. A preflight that fails should
// fail well before the 15 s default: failFast is what "fast" means here.
const failFast = 3 * time.Second

func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// secretFile writes a secret to a file and names it, so that parallel tests
// need no environment variables.
func secretFile(t *testing.T, v string) dictionary.Secret {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dictionary.Secret{File: path}
}

// newClient builds a client the way the pipeline does: ClientOpts plus its
// own options, with retries short enough for tests.
func newClient(t *testing.T, k dictionary.Kafka, brokers []string, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts, err := ClientOpts(k)
	if err != nil {
		t.Fatalf("ClientOpts: %v", err)
	}
	opts = append(opts,
		kgo.SeedBrokers(brokers...),
		kgo.MetadataMinAge(50*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
	)
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// preflight runs Preflight with the default timeout and reports how long
// it took.
func preflight(t *testing.T, cl *kgo.Client, k dictionary.Kafka, group string, topics ...string) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	err := Preflight(context.Background(), cl, k, group, topics)
	return time.Since(start), err
}

func wantKind(t *testing.T, err error, kind string, took time.Duration, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got nil", kind)
	}
	ce, ok := errors.AsType[*ConnectError](err)
	if !ok {
		t.Fatalf("want *ConnectError, got %T: %v", err, err)
	}
	if ce.Kind != kind {
		t.Fatalf("kind %q, want %q: %v", ce.Kind, kind, err)
	}
	if took > failFast {
		t.Errorf("took %v, want under %v: %v", took, failFast, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message lacks %q: %v", s, err)
		}
	}
	t.Logf("%s (%v)", err, took.Round(time.Millisecond))
}

// roundTrip produces a record and consumes it back with a consumer group,
// both clients built by ClientOpts(k).
func roundTrip(t *testing.T, k dictionary.Kafka, brokers []string, topic, group string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	prod := newClient(t, k, brokers)
	want := "value-" + group
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("cust-1"), Value: []byte(want)}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	cons := newClient(t, k, brokers,
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.HeartbeatInterval(100*time.Millisecond),
	)
	for {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume: no record before the deadline: %v", err)
		}
		for _, fe := range fs.Errors() {
			t.Fatalf("consume: %s[%d]: %v", fe.Topic, fe.Partition, fe.Err)
		}
		var got bool
		fs.EachRecord(func(r *kgo.Record) { got = got || string(r.Value) == want })
		if got {
			break
		}
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// TestMechanismsOverTLS: for every mechanism kfake serves, ClientOpts and
// Preflight succeed over TLS, a round trip works, and a wrong password
// fails fast as "auth" naming the user and mechanism, not the password.
func TestMechanismsOverTLS(t *testing.T) {
	t.Parallel()
	p := tlstest.NewPKI(t)
	for _, mech := range []string{dictionary.MechPlain, dictionary.MechScramSHA256, dictionary.MechScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			const password = "s3cret-Pa55word"
			c := newCluster(t,
				kfake.TLS(p.ServerTLS(false)),
				kfake.EnableSASL(),
				kfake.Superuser(mech, "admin", "admin-password"),
				kfake.User(mech, "alice", password),
				kfake.SeedTopics(3, "events"),
			)
			k := dictionary.Kafka{
				Brokers: c.ListenAddrs(),
				TLS:     &dictionary.TLS{CAFile: p.CA.CAFile},
				SASL:    &dictionary.SASL{Mechanism: mech, Username: "alice", Password: secretFile(t, password)},
			}
			cl := newClient(t, k, c.ListenAddrs())
			if took, err := preflight(t, cl, k, "g-"+mech, "events"); err != nil {
				t.Fatalf("preflight: %v (%v)", err, took)
			}
			roundTrip(t, k, c.ListenAddrs(), "events", "g-"+mech)

			t.Run("wrong password", func(t *testing.T) {
				bad := k
				bad.SASL = &dictionary.SASL{Mechanism: mech, Username: "alice", Password: dictionary.LiteralSecret("Wr0ng-pa55")}
				took, err := preflight(t, newClient(t, bad, c.ListenAddrs()), bad, "g", "events")
				wantKind(t, err, KindAuth, took, "authentication failed for user alice with "+mech, "wrong username or password")
				for _, pw := range []string{"Wr0ng-pa55", password} {
					if strings.Contains(err.Error(), pw) {
						t.Errorf("message contains a password: %v", err)
					}
				}
			})
			t.Run("unknown user", func(t *testing.T) {
				bad := k
				bad.SASL = &dictionary.SASL{Mechanism: mech, Username: "mallory", Password: dictionary.LiteralSecret(password)}
				took, err := preflight(t, newClient(t, bad, c.ListenAddrs()), bad, "g", "events")
				wantKind(t, err, KindAuth, took, "user mallory with "+mech)
			})
		})
	}
}

// TestPreflightWithoutClient builds the probe from the settings alone.
func TestPreflightWithoutClient(t *testing.T) {
	t.Parallel()
	p := tlstest.NewPKI(t)
	c := newCluster(t, kfake.TLS(p.ServerTLS(false)), kfake.EnableSASL(),
		kfake.Superuser(dictionary.MechScramSHA512, "alice", "pw-alice"))
	k := dictionary.Kafka{
		Brokers: c.ListenAddrs(),
		TLS:     &dictionary.TLS{CAFile: p.CA.CAFile},
		SASL:    &dictionary.SASL{Mechanism: "scram-sha-512", Username: "alice", Password: dictionary.LiteralSecret("pw-alice")},
	}
	if took, err := preflight(t, nil, k, "g", "missing-topic"); err != nil {
		t.Fatalf("preflight: %v (%v)", err, took)
	}
	k.SASL.Password = dictionary.LiteralSecret("nope")
	took, err := preflight(t, nil, k, "g")
	wantKind(t, err, KindAuth, took, "user alice with SCRAM-SHA-512")
}

// TestPreflightFromGroupClient passes a client that is already a group
// member, as the pipeline does; the preflight must not disturb it.
func TestPreflightFromGroupClient(t *testing.T) {
	t.Parallel()
	p := tlstest.NewPKI(t)
	c := newCluster(t, kfake.TLS(p.ServerTLS(false)), kfake.SeedTopics(2, "in"))
	k := dictionary.Kafka{Brokers: c.ListenAddrs(), TLS: &dictionary.TLS{CAFile: p.CA.CAFile}}
	cl := newClient(t, k, c.ListenAddrs(), kgo.ConsumerGroup("pipe"), kgo.ConsumeTopics("in"))
	if took, err := preflight(t, cl, k, "pipe", "in"); err != nil {
		t.Fatalf("preflight: %v (%v)", err, took)
	}
}

func TestMTLS(t *testing.T) {
	t.Parallel()
	p := tlstest.NewPKI(t)
	c := newCluster(t, kfake.TLS(p.ServerTLS(true)), kfake.SeedTopics(2, "events"))
	k := dictionary.Kafka{
		Brokers: c.ListenAddrs(),
		TLS:     &dictionary.TLS{CAFile: p.CA.CAFile, CertFile: p.Client.CertFile, KeyFile: p.Client.KeyFile},
	}
	cl := newClient(t, k, c.ListenAddrs())
	if took, err := preflight(t, cl, k, "g", "events"); err != nil {
		t.Fatalf("preflight: %v (%v)", err, took)
	}
	roundTrip(t, k, c.ListenAddrs(), "events", "g-mtls")

	t.Run("no client certificate", func(t *testing.T) {
		k := k
		k.TLS = &dictionary.TLS{CAFile: p.CA.CAFile}
		took, err := preflight(t, newClient(t, k, c.ListenAddrs()), k, "g", "events")
		wantKind(t, err, KindTLS, took, "rejected the TLS handshake", "client certificate")
	})
	t.Run("client certificate of another CA", func(t *testing.T) {
		stranger := p.Other.Issue(t, "stranger", false, time.Now().Add(time.Hour))
		k := k
		k.TLS = &dictionary.TLS{CAFile: p.CA.CAFile, CertFile: stranger.CertFile, KeyFile: stranger.KeyFile}
		took, err := preflight(t, newClient(t, k, c.ListenAddrs()), k, "g", "events")
		wantKind(t, err, KindTLS, took, "rejected the TLS handshake")
	})
}

func TestUntrustedBroker(t *testing.T) {
	t.Parallel()
	p := tlstest.NewPKI(t)
	c := newCluster(t, kfake.TLS(p.ServerTLS(false)))
	brokers := c.ListenAddrs()
	t.Run("other CA file", func(t *testing.T) {
		t.Parallel()
		k := dictionary.Kafka{TLS: &dictionary.TLS{CAFile: p.Other.CAFile}}
		took, err := preflight(t, newClient(t, k, brokers), k, "g")
		wantKind(t, err, KindTLS, took, "is not trusted by CA file "+p.Other.CAFile, brokers[0], "unknown authority")
	})
	t.Run("system roots", func(t *testing.T) {
		t.Parallel()
		k := dictionary.Kafka{TLS: &dictionary.TLS{}}
		took, err := preflight(t, newClient(t, k, brokers), k, "g")
		wantKind(t, err, KindTLS, took, "is not trusted by the system roots")
	})
	t.Run("wrong server name", func(t *testing.T) {
		t.Parallel()
		k := dictionary.Kafka{TLS: &dictionary.TLS{CAFile: p.CA.CAFile, ServerName: "kafka.example.com"}}
		took, err := preflight(t, newClient(t, k, brokers), k, "g")
		wantKind(t, err, KindTLS, took, "not trusted", "server_name", "kafka.example.com")
	})
	t.Run("insecure skip verify", func(t *testing.T) {
		t.Parallel()
		k := dictionary.Kafka{TLS: &dictionary.TLS{InsecureSkipVerify: true}}
		if took, err := preflight(t, newClient(t, k, brokers), k, "g"); err != nil {
			t.Fatalf("preflight: %v (%v)", err, took)
		}
	})
}

// TestListenerMismatch: TLS spoken to a plaintext listener, and plaintext
// to a TLS one.
func TestListenerMismatch(t *testing.T) {
	t.Parallel()
	p := tlstest.NewPKI(t)
	plainC := newCluster(t)
	tlsC := newCluster(t, kfake.TLS(p.ServerTLS(false)))
	t.Run("TLS client, plaintext listener", func(t *testing.T) {
		t.Parallel()
		// kfake reads the ClientHello as the size of a Kafka request and
		// waits for the rest, so only HandshakeTimeout ends this (a real
		// broker rejects the size and hangs up, which is an EOF).
		k := dictionary.Kafka{TLS: &dictionary.TLS{CAFile: p.CA.CAFile}}
		took, err := preflight(t, newClient(t, k, plainC.ListenAddrs()), k, "g")
		if took > HandshakeTimeout+time.Second {
			t.Errorf("took %v, want about HandshakeTimeout (%v)", took, HandshakeTimeout)
		}
		wantKind(t, err, KindTLS, 0, "no TLS/SASL handshake possible", "is the listener TLS? is the port right?")
	})
	t.Run("plaintext client, TLS listener", func(t *testing.T) {
		t.Parallel()
		k := dictionary.Kafka{}
		took, err := preflight(t, newClient(t, k, tlsC.ListenAddrs()), k, "g")
		wantKind(t, err, KindTLS, took, "is the listener TLS", "is the port right?")
	})
}

func TestSASLMismatch(t *testing.T) {
	t.Parallel()
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(dictionary.MechScramSHA256, "alice", "pw"))
	brokers := c.ListenAddrs()
	t.Run("SASL required, none configured", func(t *testing.T) {
		t.Parallel()
		k := dictionary.Kafka{}
		took, err := preflight(t, newClient(t, k, brokers), k, "g")
		wantKind(t, err, KindAuth, took, "requires SASL", "kafka.sasl is not set")
	})
	// kfake serves PLAIN and SCRAM only: OAUTHBEARER and AWS_MSK_IAM are
	// refused at the SASL handshake with UNSUPPORTED_SASL_MECHANISM.
	t.Run("OAUTHBEARER not enabled", func(t *testing.T) {
		t.Parallel()
		k := dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: dictionary.MechOAuthBearer, Token: dictionary.LiteralSecret("tok-123")}}
		took, err := preflight(t, newClient(t, k, brokers), k, "g")
		wantKind(t, err, KindAuth, took, "does not enable SASL mechanism OAUTHBEARER")
		if strings.Contains(err.Error(), "tok-123") {
			t.Errorf("message contains the token: %v", err)
		}
	})
	t.Run("AWS_MSK_IAM not enabled", func(t *testing.T) {
		t.Parallel()
		k := dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: dictionary.MechAWSMSKIAM, AWS: &dictionary.AWS{
			AccessKeyID: dictionary.LiteralSecret("AKIAEXAMPLE"), SecretAccessKey: dictionary.LiteralSecret("aws-secret"),
		}}}
		took, err := preflight(t, newClient(t, k, brokers), k, "g")
		wantKind(t, err, KindAuth, took, "does not enable SASL mechanism AWS_MSK_IAM")
	})
	t.Run("PLAIN user on a SCRAM-only cluster", func(t *testing.T) {
		t.Parallel()
		k := dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: dictionary.MechPlain, Username: "alice", Password: dictionary.LiteralSecret("pw")}}
		took, err := preflight(t, newClient(t, k, brokers), k, "g")
		wantKind(t, err, KindAuth, took, "user alice with PLAIN")
	})
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	k := dictionary.Kafka{}
	took, err := preflight(t, newClient(t, k, []string{addr}), k, "g")
	wantKind(t, err, KindNetwork, took, "connection refused by broker "+addr)
}

// TestCredentialGoneAtAuth: a password file that was there at start-up
// and is gone when a connection authenticates is a config error naming the
// file, not an authentication failure.
func TestCredentialGoneAtAuth(t *testing.T) {
	t.Parallel()
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(dictionary.MechPlain, "alice", "pw"))
	pw := secretFile(t, "pw")
	k := dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: dictionary.MechPlain, Username: "alice", Password: pw}}
	cl := newClient(t, k, c.ListenAddrs())
	if err := os.Remove(pw.File); err != nil {
		t.Fatal(err)
	}
	took, err := preflight(t, cl, k, "g")
	wantKind(t, err, KindConfig, took, "kafka.sasl.password", pw.File, "no such file")
}

// acl is shorthand for seeding kfake ACLs.
func acl(res kmsg.ACLResourceType, name string, op kmsg.ACLOperation) kfake.ACL {
	return kfake.ACL{Resource: res, Name: name, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
}

func TestACLs(t *testing.T) {
	t.Parallel()
	const mech = dictionary.MechScramSHA256
	topic, group := kmsg.ACLResourceTypeTopic, kmsg.ACLResourceTypeGroup
	c := newCluster(t,
		kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser(mech, "admin", "admin-pw"),
		kfake.SeedTopics(2, "in", "secret", "profiles"),
		// app: what the pipeline needs on "in" and "profiles" and its group.
		kfake.User(mech, "app", "app-pw",
			acl(topic, "in", kmsg.ACLOperationRead),
			acl(topic, "profiles", kmsg.ACLOperationWrite),
			acl(group, "pipe", kmsg.ACLOperationRead),
		),
		// peeker may only describe the group, not read it.
		kfake.User(mech, "peeker", "peeker-pw",
			acl(topic, "in", kmsg.ACLOperationRead),
			acl(group, "pipe", kmsg.ACLOperationDescribe),
		),
	)
	brokers := c.ListenAddrs()
	user := func(name, pw string) dictionary.Kafka {
		return dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: mech, Username: name, Password: dictionary.LiteralSecret(pw)}}
	}
	app := user("app", "app-pw")

	t.Run("granted", func(t *testing.T) {
		t.Parallel()
		err := PreflightAccess(context.Background(), newClient(t, app, brokers), app, "pipe", []TopicAccess{
			{Topic: "in", Read: true}, {Topic: "profiles", Write: true},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("topic not describable", func(t *testing.T) {
		t.Parallel()
		took, err := preflight(t, newClient(t, app, brokers), app, "pipe", "in", "secret")
		wantKind(t, err, KindACL, took, `describe topic "secret"`, "User:app", "grant DESCRIBE")
		if strings.Contains(err.Error(), `"in"`) {
			t.Errorf("topic in is allowed but reported: %v", err)
		}
	})
	t.Run("topic readable, not writable", func(t *testing.T) {
		t.Parallel()
		err := PreflightAccess(context.Background(), newClient(t, app, brokers), app, "pipe", []TopicAccess{
			{Topic: "in", Read: true, Write: true},
		})
		wantKind(t, err, KindACL, 0, `not authorized to write topic "in": grant WRITE`)
	})
	t.Run("group not accessible", func(t *testing.T) {
		t.Parallel()
		took, err := preflight(t, newClient(t, app, brokers), app, "other-group", "in")
		wantKind(t, err, KindACL, took, `consumer group "other-group"`, `grant READ on group "other-group"`)
	})
	t.Run("group describable, not readable", func(t *testing.T) {
		t.Parallel()
		peeker := user("peeker", "peeker-pw")
		took, err := preflight(t, newClient(t, peeker, brokers), peeker, "pipe", "in")
		wantKind(t, err, KindACL, took, `not authorized to read consumer group "pipe"`, "User:peeker")
	})
	t.Run("all problems at once", func(t *testing.T) {
		t.Parallel()
		took, err := preflight(t, newClient(t, app, brokers), app, "nope", "secret", "in")
		wantKind(t, err, KindACL, took, `topic "secret"`, `group "nope"`)
		if !errors.Is(err, kerr.TopicAuthorizationFailed) || !errors.Is(err, kerr.GroupAuthorizationFailed) {
			t.Errorf("want both authorization errors as causes: %v", err)
		}
	})
}

// TestBrokerAnswersAuthFailed: a real broker (Kafka 1.0 and later) answers
// a wrong password with SASL_AUTHENTICATION_FAILED instead of hanging up as
// kfake does; a control function makes kfake answer that way.
func TestBrokerAnswersAuthFailed(t *testing.T) {
	t.Parallel()
	const password = "right-Pa55"
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(dictionary.MechScramSHA256, "alice", password))
	c.ControlKey(int16(kmsg.SASLAuthenticate), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		resp := req.(*kmsg.SASLAuthenticateRequest).ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		resp.ErrorMessage = kmsg.StringPtr("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256")
		return resp, nil, true
	})
	k := dictionary.Kafka{SASL: &dictionary.SASL{Mechanism: dictionary.MechScramSHA256, Username: "alice", Password: dictionary.LiteralSecret(password)}}
	took, err := preflight(t, newClient(t, k, c.ListenAddrs()), k, "g")
	wantKind(t, err, KindAuth, took, "authentication failed for user alice with SCRAM-SHA-256: wrong username or password", "invalid credentials")
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("want errors.Is SaslAuthenticationFailed: %v", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("message contains the password: %v", err)
	}
}

// TestClassify covers errors kfake cannot produce.
func TestClassify(t *testing.T) {
	t.Parallel()
	p := &probe{k: dictionary.Kafka{TLS: &dictionary.TLS{CAFile: "/etc/ca.pem"}}, hasTLS: true}
	for _, tc := range []struct {
		name  string
		err   error
		key   int16 // the read that failed, or noKey
		kind  string
		final bool
		want  string
	}{
		{"dns", fmt.Errorf("unable to dial: %w", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "kafka.example", IsNotFound: true}}), noKey,
			KindNetwork, false, "cannot resolve the host of broker kafka.example:9093"},
		{"tcp timeout", fmt.Errorf("unable to dial: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}), noKey,
			KindNetwork, false, "did not accept a TCP connection in time"},
		{"expired broker certificate", &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired}}, noKey,
			KindTLS, true, "is not trusted by CA file /etc/ca.pem: it is expired"},
		{"unsupported mechanism", kerr.UnsupportedSaslMechanism, noKey, KindAuth, true, "does not enable SASL mechanism"},
		{"illegal sasl state", kerr.IllegalSaslState, noKey, KindAuth, true, "is this port a SASL listener?"},
		{"closed at handshake", io.EOF, int16(kmsg.SASLHandshake), KindAuth, true, "closed the connection at the SASL handshake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ce, final := p.classify(tc.err, "kafka.example:9093", tc.key)
			if ce.Kind != tc.kind || final != tc.final || !strings.Contains(ce.Error(), tc.want) {
				t.Errorf("got %s (kind %s, final %v), want kind %s, final %v, containing %q", ce, ce.Kind, final, tc.kind, tc.final, tc.want)
			}
			if !errors.Is(ce, tc.err) {
				t.Errorf("cause not wrapped: %v", ce)
			}
		})
	}
}
