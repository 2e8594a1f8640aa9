package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/profiled/profiled/processor"
)

// hopHeader marks a lookup forwarded by another instance. An instance that
// receives one and does not own the profile either (the assignment moved
// on meanwhile) answers 421 instead of forwarding again, so a lookup
// crosses at most one hop.
const hopHeader = "X-Profiled-Forwarded-By"

// tokenEnv holds the API token when --api-token-file is not given.
const tokenEnv = "PROFILED_API_TOKEN"

// apiFlags are the settings of the profile API.
type apiFlags struct {
	advertiseAddr string
	tokenFile     string
}

func (a *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.advertiseAddr, "advertise-addr", "",
		"host:port where the other instances reach this one's HTTP server, for forwarded profile lookups "+
			"(default: the --http-listen address, or the host name and its port when listening on all interfaces)")
	fs.StringVar(&a.tokenFile, "api-token-file", "",
		"file holding the bearer token that /v1/ requires (re-read per request, so it can be rotated); default: $"+tokenEnv+", else no authentication")
}

// tokenSource returns the API token's reader, or nil when the API needs no
// token. A configured token that cannot be read now fails start-up.
func (a *apiFlags) tokenSource() (func() ([]byte, error), error) {
	var read func() ([]byte, error)
	switch {
	case a.tokenFile != "":
		path := a.tokenFile
		read = func() ([]byte, error) {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("reading the API token: %w", err)
			}
			b = bytes.TrimSpace(b)
			if len(b) == 0 {
				return nil, fmt.Errorf("the API token file %s is empty", path)
			}
			return b, nil
		}
	case os.Getenv(tokenEnv) != "":
		read = func() ([]byte, error) {
			if b := bytes.TrimSpace([]byte(os.Getenv(tokenEnv))); len(b) > 0 {
				return b, nil
			}
			return nil, errors.New("$" + tokenEnv + " is empty")
		}
	default:
		return nil, nil
	}
	if _, err := read(); err != nil {
		return nil, fmt.Errorf("--api-token-file: %w", err)
	}
	return read, nil
}

// advertised is the address other instances use to reach ln: the flag when
// given, else the listener's address, with the host name in place of an
// unspecified IP (0.0.0.0 or ::), which no other host can dial.
func advertised(flagValue string, ln net.Addr) (string, error) {
	if flagValue != "" {
		if _, _, err := net.SplitHostPort(flagValue); err != nil {
			return "", fmt.Errorf("--advertise-addr %q: want host:port: %w", flagValue, err)
		}
		return flagValue, nil
	}
	host, port, err := net.SplitHostPort(ln.String())
	if err != nil {
		return "", fmt.Errorf("listener address %s: %w", ln, err)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if host, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("no --advertise-addr and no host name: %w", err)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// api serves profile lookups (GET /v1/profiles/{id}), the pipeline's
// recent health (GET /v1/stats) and the inspector page.
type api struct {
	p     *processor.Pipeline
	log   *slog.Logger
	self  string                 // advertised address
	token func() ([]byte, error) // nil: no authentication
	stats *statsSampler          // nil: no /v1/stats
	page  *inspectorPage         // nil: no inspector
	proxy http.RoundTripper      // forwards lookups to owners
}

func newAPI(p *processor.Pipeline, log *slog.Logger, self string, token func() ([]byte, error), stats *statsSampler, page *inspectorPage) *api {
	return &api{
		p: p, log: log, self: self, token: token, stats: stats, page: page,
		proxy: &http.Transport{
			Proxy:                 nil, // instances talk directly, never through an HTTP proxy of the environment
			DialContext:           (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
			ResponseHeaderTimeout: 10 * time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		},
	}
}

func (a *api) register(mux *http.ServeMux) {
	mux.Handle("GET /v1/profiles/{id}", a.auth(http.HandlerFunc(a.profile)))
	if a.stats != nil {
		mux.Handle("GET /v1/stats", a.auth(http.HandlerFunc(a.stats.serve)))
	}
	if a.page != nil {
		a.page.register(mux)
	}
}

// auth requires the bearer token, when one is configured. Both sides are
// hashed before the constant-time comparison so that not even the token's
// length shows in the timing.
func (a *api) auth(h http.Handler) http.Handler {
	if a.token == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want, err := a.token()
		if err != nil {
			a.log.Error("API token unreadable; refusing API requests", "err", err)
			writeError(w, http.StatusInternalServerError, "the server cannot read its API token", "")
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		gs, ws := sha256.Sum256([]byte(got)), sha256.Sum256(want)
		if !ok || subtle.ConstantTimeCompare(gs[:], ws[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="profiled"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required", "")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// profile answers GET /v1/profiles/{id}: from this instance's state when
// it owns the profile, else from the owner, through a reverse proxy.
func (a *api) profile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" {
		writeError(w, http.StatusBadRequest, "no profile id", "")
		return
	}
	res, err := a.p.Lookup(r.Context(), id)
	var notOwner *processor.NotOwnerError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, res)
	case errors.Is(err, processor.ErrProfileNotFound):
		writeError(w, http.StatusNotFound, "no profile with this id", "")
	case errors.As(err, &notOwner):
		switch {
		case notOwner.Owner == "":
			writeError(w, http.StatusServiceUnavailable, err.Error(), "")
		case r.Header.Get(hopHeader) != "":
			// Forwarded here by an instance that thought we own it: the
			// assignment changed in between. Say who owns it now; the
			// client may ask again.
			writeError(w, http.StatusMisdirectedRequest, err.Error(), notOwner.Owner)
		default:
			a.forward(w, r, notOwner.Owner)
		}
	case errors.Is(err, processor.ErrNotReady):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error(), "")
	default:
		a.log.Warn("profile lookup failed", "profile_id", id, "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error(), "")
	}
}

// forward proxies the lookup to its owner. The caller's Authorization
// header goes along (every instance shares the token). When the owner
// cannot be reached the answer is 503 naming it, so that a client can
// retry or go there itself.
func (a *api) forward(w http.ResponseWriter, r *http.Request, owner string) {
	if _, _, err := net.SplitHostPort(owner); err != nil {
		writeError(w, http.StatusServiceUnavailable, "the owner advertises an unusable address", owner)
		return
	}
	target := &url.URL{Scheme: "http", Host: owner}
	rp := &httputil.ReverseProxy{
		Transport: a.proxy,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set(hopHeader, a.self)
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			a.log.Warn("forwarding a profile lookup to its owner failed", "owner", owner, "err", err)
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "the profile's owner did not answer", owner)
		},
	}
	a.log.Debug("forwarding profile lookup", "profile_id", r.PathValue("id"), "owner", owner)
	rp.ServeHTTP(w, r)
}

// apiError is the body of every error answer of /v1/.
type apiError struct {
	Error string `json:"error"`
	// Owner is the advertised address of the instance that owns the
	// profile, on 421 and on 503 when it could not be reached.
	Owner string `json:"owner,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg, owner string) {
	if owner != "" {
		w.Header().Set("X-Profiled-Owner", owner)
	}
	writeJSON(w, status, apiError{Error: msg, Owner: owner})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// Profiles are personal data: no cache keeps a copy.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
