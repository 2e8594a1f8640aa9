package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/profiled/profiled/schemas/dictionary"
)

// DefaultClientID is the client.id brokers see (in request logs, quotas and
// ACL audit lines) when kafka.client_id is not set.
const DefaultClientID = "profiled"

// The standard AWS environment variables, read for AWS_MSK_IAM when the
// configuration names no credentials (kafka.sasl.aws is absent).
const (
	EnvAWSAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvAWSSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvAWSSessionToken    = "AWS_SESSION_TOKEN"
)

// ClientOpts turns the kafka: settings into kgo options: client.id, TLS and
// SASL. It does not set the seed brokers, because --brokers overrides
// kafka.brokers and only the caller knows which one won.
//
// Everything that can be checked without a broker is checked here, so that
// a typo fails at start-up rather than at the first connection: the CA file
// must hold PEM certificates, the client certificate and key must load and
// belong together, and a PLAIN or SCRAM password must be readable. The
// OAUTHBEARER token and AWS credentials are only checked to be configured:
// they are read at every authentication (see doc.go) and may legitimately
// appear after start-up, written by a sidecar.
//
// Errors are *ConnectError of KindConfig; they name the file, environment
// variable or setting, never a secret's value.
func ClientOpts(k dictionary.Kafka) ([]kgo.Opt, error) {
	id := k.ClientID
	if id == "" {
		id = DefaultClientID
	}
	opts := []kgo.Opt{kgo.ClientID(id)}
	if k.TLS != nil {
		cfg, err := tlsConfig(k.TLS)
		if err != nil {
			return nil, err
		}
		// DialTLSConfig (rather than a Dialer) lets kgo fill in ServerName
		// per broker when kafka.tls.server_name is empty, so every broker
		// is verified against its own advertised host.
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if k.SASL != nil {
		m, err := mechanism(k.SASL, id)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// tlsConfig builds the client TLS configuration (see
// dictionary.TLS.ClientConfig) with this package's error type.
func tlsConfig(t *dictionary.TLS) (*tls.Config, error) {
	cfg, err := t.ClientConfig("kafka.tls")
	var se *dictionary.SettingError
	if errors.As(err, &se) {
		return nil, configError(se.Err, "%s", se.Detail)
	}
	return cfg, err
}

// mechanism builds the SASL mechanism. Every mechanism is built from a
// callback that reveals the secret at authentication time: franz-go's
// ready-made Auth structs (plain.Auth{User, Pass}.AsMechanism() and the
// like) would keep the password in a struct field, where a %+v in a debug
// line would print it. A closure over a dictionary.Secret holds only where
// the secret comes from.
func mechanism(s *dictionary.SASL, clientID string) (sasl.Mechanism, error) {
	mech := strings.ToUpper(strings.TrimSpace(s.Mechanism))
	switch mech {
	case dictionary.MechPlain, dictionary.MechScramSHA256, dictionary.MechScramSHA512:
		if s.Username == "" {
			return nil, configError(nil, "kafka.sasl.username: mechanism %s needs a username", mech)
		}
		if s.Password.IsZero() {
			return nil, configError(nil, "kafka.sasl.password: mechanism %s needs a password", mech)
		}
		// Read once now only to fail at start-up on a missing variable or
		// file; the value is dropped and read again at each authentication,
		// which also picks up a rotated password file on reconnect.
		if _, err := s.Password.Reveal(); err != nil {
			return nil, configError(err, "kafka.sasl.password (%s) for user %s", s.Password, s.Username)
		}
		user, pw := s.Username, s.Password
		switch mech {
		case dictionary.MechPlain:
			return plain.Plain(func(context.Context) (plain.Auth, error) {
				p, err := revealAt(pw, "kafka.sasl.password", mech)
				return plain.Auth{User: user, Pass: p}, err
			}), nil
		case dictionary.MechScramSHA256:
			return scram.Sha256(func(context.Context) (scram.Auth, error) {
				p, err := revealAt(pw, "kafka.sasl.password", mech)
				return scram.Auth{User: user, Pass: p}, err
			}), nil
		default:
			return scram.Sha512(func(context.Context) (scram.Auth, error) {
				p, err := revealAt(pw, "kafka.sasl.password", mech)
				return scram.Auth{User: user, Pass: p}, err
			}), nil
		}
	case dictionary.MechOAuthBearer:
		if s.Token.IsZero() {
			return nil, configError(nil, "kafka.sasl.token: mechanism OAUTHBEARER needs a token (env or file)")
		}
		tok := s.Token
		// Revealed here, at every (re)authentication, so that a token file
		// a sidecar refreshes is picked up by the next connection and by
		// KIP-368 re-authentication, without a restart.
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			t, err := revealAt(tok, "kafka.sasl.token", mech)
			return oauth.Auth{Token: t}, err
		}), nil
	case dictionary.MechAWSMSKIAM:
		creds, err := awsCreds(s.AWS)
		if err != nil {
			return nil, err
		}
		return aws.ManagedStreamingIAM(func(context.Context) (aws.Auth, error) {
			return creds.auth(clientID)
		}), nil
	case "":
		return nil, configError(nil, "kafka.sasl.mechanism is missing (want %s)", strings.Join(mechanisms, ", "))
	}
	return nil, configError(nil, "kafka.sasl.mechanism: unknown mechanism %q (want %s)", s.Mechanism, strings.Join(mechanisms, ", "))
}

var mechanisms = []string{
	dictionary.MechPlain, dictionary.MechScramSHA256, dictionary.MechScramSHA512,
	dictionary.MechOAuthBearer, dictionary.MechAWSMSKIAM,
}

// revealAt reads a secret during authentication. The error it returns
// reaches kgo's logs and the caller of whatever request needed the
// connection, so it names the setting and the source only.
func revealAt(s dictionary.Secret, setting, mech string) (string, error) {
	v, err := s.Reveal()
	if err != nil {
		return "", configError(err, "SASL %s: cannot read %s (%s) at authentication", mech, setting, s)
	}
	return v, nil
}

// awsSecrets are where the AWS_MSK_IAM credentials come from; the values
// are read at every authentication, so rotated credentials (a refreshed
// session token) are used by the next connection.
type awsSecrets struct {
	accessKeyID, secretAccessKey, sessionToken dictionary.Secret
	// setting names the configuration the secrets come from, for errors.
	setting string
	// tokenOptional: the environment's AWS_SESSION_TOKEN is only there
	// for temporary credentials; a configured session_token must be there.
	tokenOptional bool
}

func awsCreds(a *dictionary.AWS) (awsSecrets, error) {
	if a == nil {
		return awsSecrets{
			accessKeyID:     dictionary.Secret{Env: EnvAWSAccessKeyID},
			secretAccessKey: dictionary.Secret{Env: EnvAWSSecretAccessKey},
			sessionToken:    dictionary.Secret{Env: EnvAWSSessionToken},
			setting:         "the AWS environment, as kafka.sasl.aws is not set",
			tokenOptional:   true,
		}, nil
	}
	if a.AccessKeyID.IsZero() {
		return awsSecrets{}, configError(nil, "kafka.sasl.aws.access_key_id: mechanism AWS_MSK_IAM needs an access key id")
	}
	if a.SecretAccessKey.IsZero() {
		return awsSecrets{}, configError(nil, "kafka.sasl.aws.secret_access_key: mechanism AWS_MSK_IAM needs a secret access key")
	}
	return awsSecrets{
		accessKeyID:     a.AccessKeyID,
		secretAccessKey: a.SecretAccessKey,
		sessionToken:    a.SessionToken,
		setting:         "kafka.sasl.aws",
		tokenOptional:   a.SessionToken.IsZero(),
	}, nil
}

func (c awsSecrets) auth(userAgent string) (aws.Auth, error) {
	id, err := c.accessKeyID.Reveal()
	if err != nil {
		return aws.Auth{}, configError(err, "SASL AWS_MSK_IAM: cannot read the access key id from %s", c.setting)
	}
	secret, err := c.secretAccessKey.Reveal()
	if err != nil {
		return aws.Auth{}, configError(err, "SASL AWS_MSK_IAM: cannot read the secret access key from %s", c.setting)
	}
	token, err := c.sessionToken.Reveal()
	if err != nil {
		if !c.tokenOptional || !errors.Is(err, dictionary.ErrSecretMissing) {
			return aws.Auth{}, configError(err, "SASL AWS_MSK_IAM: cannot read the session token from %s", c.setting)
		}
		token = ""
	}
	// UserAgent is the client id so that IAM policies can match the
	// aws:UserAgent condition key per deployment.
	return aws.Auth{AccessKey: id, SecretKey: secret, SessionToken: token, UserAgent: userAgent}, nil
}

// describeMechanism names the mechanism and user for messages.
func describeMechanism(s *dictionary.SASL) (mech, user string) {
	if s == nil {
		return "", ""
	}
	return strings.ToUpper(strings.TrimSpace(s.Mechanism)), s.Username
}
