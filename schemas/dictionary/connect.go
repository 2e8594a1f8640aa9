package dictionary

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// The configuration file also carries how to connect (Kafka, the state
// store's encryption). They are parsed here, beside the data dictionary, so
// that every key gets the same strict, line-numbered checking.

// Kafka holds the connection settings of every Kafka client the process
// creates (processors, sinks, admin): section `kafka:`.
type Kafka struct {
	// Brokers are seed brokers; the --brokers flag overrides them.
	Brokers  []string
	ClientID string // default "profiled"
	TLS      *TLS   // nil: plaintext
	SASL     *SASL  // nil: no authentication
}

// TLS configures TLS to the brokers.
type TLS struct {
	// CAFile is a PEM bundle of trusted roots; empty means the system roots.
	CAFile string
	// CertFile and KeyFile are the client certificate for mTLS (both or neither).
	CertFile, KeyFile string
	// ServerName overrides the name verified in the broker's certificate.
	ServerName string
	// InsecureSkipVerify disables verification (for local testing only).
	InsecureSkipVerify bool
}

// The SASL mechanisms.
const (
	MechPlain       = "PLAIN"
	MechScramSHA256 = "SCRAM-SHA-256"
	MechScramSHA512 = "SCRAM-SHA-512"
	MechOAuthBearer = "OAUTHBEARER"
	MechAWSMSKIAM   = "AWS_MSK_IAM"
)

// SASL configures authentication.
type SASL struct {
	Mechanism string
	Username  string // PLAIN, SCRAM
	Password  Secret // PLAIN, SCRAM
	// Token is the OAUTHBEARER token; a file is re-read at every
	// (re)authentication, so a sidecar can rotate it.
	Token Secret
	AWS   *AWS // AWS_MSK_IAM; nil means the standard AWS environment variables
}

// AWS holds static credentials for AWS_MSK_IAM.
type AWS struct {
	AccessKeyID     Secret
	SecretAccessKey Secret
	SessionToken    Secret // optional
}

// Store holds state-store settings: section `store:`.
type Store struct {
	// EncryptionKey enables Badger's encryption at rest (AES, 16, 24 or 32
	// bytes). Zero Secret: off.
	EncryptionKey Secret
	// KeyRotation is how often Badger replaces its random data keys (stored
	// encrypted under EncryptionKey); zero means Badger's default (10 days).
	KeyRotation time.Duration
}

// Secret is a credential named in the configuration: an environment
// variable, a file, or (only when the user insists) a literal. It never
// formats, logs or marshals its value, so that a secret cannot reach a log
// line, an error message or a metric by accident.
type Secret struct {
	Env  string // read from this environment variable
	File string // read from this file (trailing newline trimmed)
	// literal holds an inline value the user insisted on; it is a func so
	// that even %#v and reflection-based printers show no value.
	literal func() string
}

// LiteralSecret returns a secret with an inline value (tests, and configs
// that set insecure_plaintext).
func LiteralSecret(v string) Secret { return Secret{literal: func() string { return v }} }

// IsZero reports whether no secret was configured.
func (s Secret) IsZero() bool { return s.Env == "" && s.File == "" && s.literal == nil }

// ErrSecretMissing is returned (wrapped) when a configured secret has no value.
var ErrSecretMissing = errors.New("secret not available")

// Reveal reads the secret now. Errors name where it was looked for, never
// what was found.
func (s Secret) Reveal() (string, error) {
	switch {
	case s.literal != nil:
		return s.literal(), nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("%w: environment variable %s is not set", ErrSecretMissing, s.Env)
		}
		return v, nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("%w: reading %s: %w", ErrSecretMissing, s.File, errors.Unwrap(err))
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%w: file %s is empty", ErrSecretMissing, s.File)
		}
		return v, nil
	}
	return "", fmt.Errorf("%w: none configured", ErrSecretMissing)
}

// RevealBytes is Reveal for binary secrets (keys): the file's bytes as they
// are, or the environment variable's text.
func (s Secret) RevealBytes() ([]byte, error) {
	if s.File != "" && s.literal == nil && s.Env == "" {
		b, err := os.ReadFile(s.File)
		if err != nil {
			return nil, fmt.Errorf("%w: reading %s: %w", ErrSecretMissing, s.File, errors.Unwrap(err))
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("%w: file %s is empty", ErrSecretMissing, s.File)
		}
		return b, nil
	}
	v, err := s.Reveal()
	return []byte(v), err
}

// String names where the secret comes from, never its value.
func (s Secret) String() string {
	switch {
	case s.Env != "":
		return "secret(env:" + s.Env + ")"
	case s.File != "":
		return "secret(file:" + s.File + ")"
	case s.literal != nil:
		return "secret(inline)"
	}
	return "secret(none)"
}

// GoString keeps %#v from printing the struct.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoders from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
