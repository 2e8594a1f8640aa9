package registry

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/profiled/profiled/schemas/dictionary"
)

// UserAgent is sent with every request, so that registry logs and audit
// trails show the pipeline.
const UserAgent = "profiled"

// NewClient builds a Schema Registry client from the registry: settings.
// Errors are *Error of KindConfig; they name the setting, file or
// environment variable, never a secret's value.
func NewClient(r dictionary.Registry) (*sr.Client, error) {
	if len(r.URLs) == 0 {
		return nil, configError(nil, "registry.urls: no URL given")
	}
	hosts := map[string]bool{}
	scheme := ""
	urls := make([]string, len(r.URLs)) // a copy: sr.URLs rewrites its argument
	for i, raw := range r.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, configError(nil, "registry.urls: %s is not an http:// or https:// URL", redactURL(raw))
		}
		if u.User != nil {
			return nil, configError(nil, "registry.urls: %s holds user information; set registry.basic instead", redactURL(raw))
		}
		if scheme != "" && u.Scheme != scheme {
			return nil, configError(nil, "registry.urls: mixes http and https; credentials must not go to one of them in plaintext")
		}
		scheme = u.Scheme
		hosts[strings.ToLower(u.Host)] = true
		// sr.URLs takes a URL that does not start with exactly http:// or
		// https:// for one without a scheme, so the scheme is lower-cased.
		urls[i] = u.Scheme + raw[len(u.Scheme):]
	}
	if r.TLS != nil && scheme != "https" {
		return nil, configError(nil, "registry.tls: TLS settings apply to https URLs only, and registry.urls are http")
	}

	base := http.DefaultTransport.(*http.Transport).Clone()
	if scheme == "https" {
		cfg, err := tlsConfig(r.TLS)
		if err != nil {
			return nil, err
		}
		base.TLSClientConfig = cfg
	}
	t := &transport{base: base, hosts: hosts, trust: r.TLS.TrustSource()}
	switch {
	case r.Basic != nil && !r.Bearer.IsZero():
		return nil, configError(nil, "registry: has both basic and bearer; the registry takes one kind of credentials, or none")
	case r.Basic != nil:
		if r.Basic.Username == "" {
			return nil, configError(nil, "registry.basic.username: basic authentication needs a username")
		}
		if r.Basic.Password.IsZero() {
			return nil, configError(nil, "registry.basic.password: basic authentication for user %s needs a password", r.Basic.Username)
		}
		t.user, t.secret = r.Basic.Username, r.Basic.Password
		t.setting = "registry.basic.password"
	case !r.Bearer.IsZero():
		t.bearer, t.secret = true, r.Bearer
		t.setting = "registry.bearer"
	}
	if !t.secret.IsZero() {
		// Read once now only to fail at start-up on a missing variable or
		// file; the value is dropped and read again for every request.
		if _, err := t.authorization(); err != nil {
			return nil, err
		}
	}

	timeout := r.Timeout
	if timeout <= 0 {
		timeout = dictionary.DefaultRegistryTimeout
	}
	t.timeout = timeout
	hc := &http.Client{Transport: t, Timeout: timeout}
	cl, err := sr.NewClient(sr.URLs(urls...), sr.HTTPClient(hc), sr.UserAgent(UserAgent))
	if err != nil {
		return nil, configError(err, "registry: cannot build the client")
	}
	return cl, nil
}

// transport adds the Authorization header to requests for the registry's
// hosts, revealing the secret for each request. It holds where the secret
// comes from, never its value, so printing it shows nothing secret.
type transport struct {
	base    http.RoundTripper
	hosts   map[string]bool // host[:port] of registry.urls, lower case
	trust   string          // "CA file X" or "the system roots", for messages
	timeout time.Duration

	user    string            // basic: the username; "" for bearer or none
	bearer  bool              // the secret is a bearer token
	secret  dictionary.Secret // zero: no credentials
	setting string            // the setting that names the secret
}

// RoundTrip implements http.RoundTripper. As the interface asks, the
// request is not modified: a clone carries the header.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.secret.IsZero() || !t.hosts[strings.ToLower(req.URL.Host)] {
		return t.base.RoundTrip(req)
	}
	h, err := t.authorization()
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrip closes the body, even on errors
		}
		return nil, err
	}
	r2 := req.Clone(req.Context())
	r2.Header.Set("Authorization", h)
	return t.base.RoundTrip(r2)
}

// authorization reads the secret and returns the Authorization header.
func (t *transport) authorization() (string, error) {
	v, err := t.secret.Reveal()
	if err != nil {
		if t.bearer {
			return "", configError(err, "%s: cannot read the bearer token (%s)", t.setting, t.secret)
		}
		return "", configError(err, "%s: cannot read the password of user %s (%s)", t.setting, t.user, t.secret)
	}
	if t.bearer {
		return "Bearer " + v, nil
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(t.user+":"+v)), nil
}

// credentials describes the credentials for messages: which user, or where
// the token comes from; "" when there are none.
func (t *transport) credentials() string {
	switch {
	case t.secret.IsZero():
		return ""
	case t.bearer:
		return "bearer token from " + secretSource(t.secret)
	}
	return "basic user " + t.user
}

// secretSource names where a secret comes from in plain words.
func secretSource(s dictionary.Secret) string {
	switch {
	case s.Env != "":
		return "environment variable " + s.Env
	case s.File != "":
		return "file " + s.File
	}
	return "the configuration file (insecure_plaintext)"
}

// tlsConfig builds the TLS configuration for https URLs; t may be nil (the
// defaults). TLS 1.2 is the floor.
func tlsConfig(t *dictionary.TLS) (*tls.Config, error) {
	cfg, err := t.ClientConfig("registry.tls")
	var se *dictionary.SettingError
	if errors.As(err, &se) {
		return nil, configError(se.Err, "%s", se.Detail)
	}
	return cfg, err
}

// redactURL shows a URL without user information.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return fmt.Sprintf("%q", u.Redacted())
	}
	if strings.Contains(raw, "@") {
		return "(not shown: it may hold a password)"
	}
	return fmt.Sprintf("%q", raw)
}
