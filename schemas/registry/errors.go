package registry

import (
	"fmt"
	"unicode/utf8"
)

// The kinds of Error: what the operator has to fix, not which of the many
// underlying errors occurred.
const (
	// KindConfig: the settings themselves are unusable; an unreadable CA
	// file or client certificate, a secret that is not there.
	KindConfig = "config"
	// KindAuth: the registry answered 401 or 403; credentials missing,
	// wrong, or without permission.
	KindAuth = "auth"
	// KindTLS: the TLS handshake failed (untrusted or mismatched
	// certificate, client certificate required), or one side speaks TLS
	// and the other does not.
	KindTLS = "tls"
	// KindNetwork: the registry could not be reached; refused,
	// unresolvable, or silent.
	KindNetwork = "network"
	// KindRegistry: the registry answered with another error status.
	KindRegistry = "registry"
)

// Error is what NewClient and Check return when the registry cannot be used
// with the given settings. Detail says what is wrong in the operator's
// terms (the URL, the user, the file); Err is the underlying cause for
// errors.Is/As (a *sr.ResponseError for an error status). Neither holds a
// secret's value.
type Error struct {
	Kind   string // one of the Kind constants
	Detail string
	Err    error
}

// maxCause bounds the text of the cause in Error: a proxy's HTML error
// page would otherwise flood the message.
const maxCause = 300

func (e *Error) Error() string {
	if e.Err == nil {
		return "schema registry: " + e.Detail
	}
	cause := e.Err.Error()
	if len(cause) > maxCause {
		cut := maxCause
		for cut > 0 && !utf8.RuneStart(cause[cut]) {
			cut--
		}
		cause = cause[:cut] + "…"
	}
	return "schema registry: " + e.Detail + ": " + cause
}

func (e *Error) Unwrap() error { return e.Err }

func configError(err error, format string, args ...any) *Error {
	return &Error{Kind: KindConfig, Detail: fmt.Sprintf(format, args...), Err: err}
}
