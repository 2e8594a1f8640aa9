package kafka

import "fmt"

// The kinds of ConnectError. They are few on purpose: a caller (the CLI, a
// readiness probe, a test) branches on what the operator has to fix, not on
// which of the many underlying errors occurred.
const (
	// KindAuth: SASL failed; wrong username or password, a mechanism the
	// listener does not enable, or a listener that wants SASL when none is
	// configured.
	KindAuth = "auth"
	// KindTLS: the TLS handshake failed; an untrusted or mismatched
	// certificate, a client certificate the broker rejects, or TLS spoken to
	// a plaintext listener (or the other way round).
	KindTLS = "tls"
	// KindNetwork: no broker could be reached; refused, unresolvable, or
	// silent.
	KindNetwork = "network"
	// KindACL: connected and authenticated, but the principal lacks a
	// permission on a topic or the consumer group.
	KindACL = "acl"
	// KindConfig: the settings themselves are unusable; an unreadable or
	// malformed file, a secret that is not there, an unknown mechanism.
	KindConfig = "config"
)

// ConnectError is what ClientOpts and Preflight return when Kafka cannot be
// used with the given settings. Detail says what is wrong and what to do in
// the operator's terms (the file, the user, the topic, the broker); Err is
// the underlying cause for errors.Is/As. Neither ever holds a secret's value:
// secrets are only ever named by where they come from.
type ConnectError struct {
	Kind   string // one of KindAuth, KindTLS, KindNetwork, KindACL, KindConfig
	Detail string
	Err    error
}

func (e *ConnectError) Error() string {
	if e.Err == nil {
		return "kafka: " + e.Detail
	}
	return "kafka: " + e.Detail + ": " + e.Err.Error()
}

func (e *ConnectError) Unwrap() error { return e.Err }

func configError(err error, format string, args ...any) *ConnectError {
	return &ConnectError{Kind: KindConfig, Detail: fmt.Sprintf(format, args...), Err: err}
}
