package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
)

// checkPrefix filters the subject list Check asks for down to (almost
// certainly) nothing, so that the answer stays small on a registry with
// thousands of subjects. Registries older than subjectPrefix ignore it and
// list every subject, which is still correct.
const checkPrefix = "profiled.check."

// Check performs one cheap authenticated request, the list of subjects
// (GET /subjects), and returns nil when it succeeds, or an *Error that says
// what to fix. The request is bounded by ctx and by the client's timeout.
// cl is best built by NewClient: its messages then name the user or token
// source and the trusted roots.
func Check(ctx context.Context, cl *sr.Client) error {
	if cl == nil {
		return configError(nil, "no client")
	}
	_, err := cl.Subjects(sr.WithParams(ctx, sr.SubjectPrefix(checkPrefix)))
	if err == nil {
		return nil
	}
	return classify(err, describeClient(cl))
}

// clientInfo is what messages say about the client's settings.
type clientInfo struct {
	urls        []string
	credentials string // "basic user X", "bearer token from file Y", "" for none
	known       bool   // built by NewClient: credentials and trust are known
	trust       string
	timeout     time.Duration // 0 when unknown
}

func describeClient(cl *sr.Client) clientInfo {
	info := clientInfo{trust: "the client's trusted roots"}
	info.urls, _ = cl.OptValue(sr.URLs).([]string)
	if hc, ok := cl.OptValue(sr.HTTPClient).(*http.Client); ok && hc != nil {
		if t, ok := hc.Transport.(*transport); ok {
			info.known, info.credentials, info.trust, info.timeout = true, t.credentials(), t.trust, t.timeout
		}
	}
	return info
}

// registryURL names the configured URL a request went to.
func (c clientInfo) registryURL(reqURL string) string {
	for _, u := range c.urls {
		if strings.HasPrefix(reqURL, strings.TrimRight(u, "/")) {
			return u
		}
	}
	if u, err := url.Parse(reqURL); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	if len(c.urls) > 0 {
		return c.urls[len(c.urls)-1]
	}
	return "(unknown URL)"
}

func classify(err error, info clientInfo) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e // a secret that could not be read at request time
	}
	if re, ok := errors.AsType[*sr.ResponseError](err); ok {
		return classifyStatus(re, info)
	}
	return classifyTransport(err, info)
}

// classifyStatus explains an error status.
func classifyStatus(re *sr.ResponseError, info clientInfo) *Error {
	at := info.registryURL(re.URL)
	status := statusText(re)
	switch {
	case re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden:
		if info.known && info.credentials == "" {
			return &Error{Kind: KindAuth, Err: re, Detail: fmt.Sprintf(
				"the registry at %s requires credentials, and neither registry.basic nor registry.bearer is set: %s", at, status)}
		}
		creds := info.credentials
		if creds == "" {
			creds = "the client's credentials"
		}
		hint := "wrong or expired"
		if re.StatusCode == http.StatusForbidden {
			hint = "wrong, expired, or without permission to list subjects"
		}
		return &Error{Kind: KindAuth, Err: re, Detail: fmt.Sprintf(
			"the registry at %s rejected the credentials (%s): %s; are they %s?", at, creds, status, hint)}
	case re.StatusCode == http.StatusBadRequest && bytes.Contains(re.Raw, []byte("HTTP request to an HTTPS server")):
		return &Error{Kind: KindTLS, Err: re, Detail: fmt.Sprintf(
			"the registry at %s speaks TLS: write its URL with https://", at)}
	case re.StatusCode == http.StatusNotFound:
		return &Error{Kind: KindRegistry, Err: re, Detail: fmt.Sprintf(
			"the registry at %s answered %s to GET /subjects: is this the URL of a Schema Registry, with its path prefix if it has one?", at, status)}
	}
	return &Error{Kind: KindRegistry, Err: re, Detail: fmt.Sprintf("the registry at %s answered %s", at, status)}
}

// statusText is "HTTP 500 (error_code 50001)", or "HTTP 502" when the body
// was not a registry error.
func statusText(re *sr.ResponseError) string {
	s := fmt.Sprintf("HTTP %d", re.StatusCode)
	if t := http.StatusText(re.StatusCode); t != "" {
		s += " " + t
	}
	if re.ErrorCode != 0 {
		s += fmt.Sprintf(" (error_code %d)", re.ErrorCode)
	}
	return s
}

// classifyTransport explains a request that got no HTTP answer. sr.Client
// tries every URL before giving up; the error is the last URL's.
func classifyTransport(err error, info clientInfo) *Error {
	at := "(unknown URL)"
	if ue, ok := errors.AsType[*url.Error](err); ok {
		at = info.registryURL(ue.URL)
	} else if len(info.urls) > 0 {
		at = info.urls[len(info.urls)-1]
	}
	e := classifyDial(err, at, info)
	if len(info.urls) > 1 {
		e.Detail += fmt.Sprintf(" (all %d registry URLs were tried; this is the last one's error)", len(info.urls))
	}
	return e
}

func classifyDial(err error, at string, info clientInfo) *Error {
	var (
		unknownCA   x509.UnknownAuthorityError
		invalidCert x509.CertificateInvalidError
		hostname    x509.HostnameError
		header      tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknownCA):
		return &Error{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"the registry's certificate at %s is not trusted by %s: set registry.tls.ca_file to the CA that signed it", at, info.trust)}
	case errors.As(err, &hostname):
		return &Error{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"the registry's certificate at %s is not valid for that name (trusted by %s): connect by a name it is issued for, or set registry.tls.server_name", at, info.trust)}
	case errors.As(err, &invalidCert):
		return &Error{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"the registry's certificate at %s is not trusted by %s: it is expired, not yet valid or not a server certificate", at, info.trust)}
	case errors.As(err, &header), errors.Is(err, http.ErrSchemeMismatch):
		return &Error{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"the registry at %s answered a TLS handshake in plain HTTP: write its URL with http://, or use its TLS port", at)}
	case isRemoteTLSAlert(err):
		return &Error{Kind: KindTLS, Err: err, Detail: fmt.Sprintf(
			"the registry at %s rejected the TLS handshake: does it require a client certificate (registry.tls.cert_file and key_file), or not trust the one given?", at)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Error{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf(
			"connection refused by %s: is the registry running, and are the host and port right?", at)}
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf("the request to %s was canceled", at)}
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		return &Error{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf(
			"cannot resolve the host of registry URL %s (%s)", at, dnsErr.Name)}
	}
	if isTimeout(err) {
		within := "in time"
		if info.timeout > 0 {
			within = fmt.Sprintf("within %s (registry.timeout)", info.timeout)
		}
		return &Error{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf(
			"the registry at %s did not answer %s: is the address right? is a firewall in the way?", at, within)}
	}
	return &Error{Kind: KindNetwork, Err: err, Detail: fmt.Sprintf("cannot talk to the registry at %s", at)}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

// isRemoteTLSAlert reports an alert the server sent during or right after
// the handshake (TLS 1.3 sends "certificate required" after the client's
// handshake has completed, so it surfaces on the first read).
func isRemoteTLSAlert(err error) bool {
	op, ok := errors.AsType[*net.OpError](err)
	return ok && op.Op == "remote error"
}
