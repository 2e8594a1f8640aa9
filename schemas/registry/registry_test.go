package registry_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/schemas/registry"
	"github.com/profiled/profiled/schemas/tlstest"
)

func basicHeader(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

func newClient(t *testing.T, r dictionary.Registry) *sr.Client {
	t.Helper()
	cl, err := registry.NewClient(r)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return cl
}

func check(t *testing.T, cl *sr.Client) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	return registry.Check(ctx, cl)
}

// wantKind asserts err is a *registry.Error of kind whose message contains
// every fragment.
func wantKind(t *testing.T, err error, kind string, frags ...string) {
	t.Helper()
	e, ok := errors.AsType[*registry.Error](err)
	if !ok {
		t.Fatalf("error = %v (%T), want *registry.Error of kind %s", err, err, kind)
	}
	if e.Kind != kind {
		t.Errorf("kind = %s, want %s: %v", e.Kind, kind, err)
	}
	t.Logf("%s", err)
	for _, f := range frags {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q\ndoes not contain %q", err, f)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// --- basic authentication ---

func TestBasicAuth(t *testing.T) {
	reg := srfake.New(srfake.WithAuth(basicHeader("SRKEY", "right-password")))
	defer reg.Close()

	t.Setenv("PROFILED_TEST_SR_SECRET", "right-password")
	cl := newClient(t, dictionary.Registry{URLs: []string{reg.URL()},
		Basic: &dictionary.BasicAuth{Username: "SRKEY", Password: dictionary.Secret{Env: "PROFILED_TEST_SR_SECRET"}}})
	if err := check(t, cl); err != nil {
		t.Fatalf("Check with the right password: %v", err)
	}
	// The client works beyond Check: register and read back a schema.
	schema := sr.Schema{Schema: `{"type":"record","name":"P","fields":[{"name":"id","type":"string"}]}`}
	ss, err := cl.CreateSchema(t.Context(), "profiles-value", schema)
	if err != nil {
		t.Fatalf("CreateSchema: %v", err)
	}
	if got, err := cl.SchemaByID(t.Context(), ss.ID); err != nil || got.Schema != schema.Schema {
		t.Errorf("SchemaByID = %+v, %v", got, err)
	}

	wrong := newClient(t, dictionary.Registry{URLs: []string{reg.URL()},
		Basic: &dictionary.BasicAuth{Username: "SRKEY", Password: dictionary.LiteralSecret("wrong-password")}})
	err = check(t, wrong)
	wantKind(t, err, registry.KindAuth, "the registry at "+reg.URL()+" rejected the credentials (basic user SRKEY)", "HTTP 403")
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("the message shows the password: %v", err)
	}
	if re, ok := errors.AsType[*sr.ResponseError](err); !ok || re.StatusCode != http.StatusForbidden {
		t.Errorf("cause = %v, want the registry's 403", err)
	}

	// No credentials at all: srfake answers 401.
	none := newClient(t, dictionary.Registry{URLs: []string{reg.URL()}})
	wantKind(t, check(t, none), registry.KindAuth, "requires credentials, and neither registry.basic nor registry.bearer is set: HTTP 401")
}

// The password is read for every request: rewriting the file is enough.
func TestBasicPasswordFileRotation(t *testing.T) {
	reg := srfake.New(srfake.WithAuth(basicHeader("SRKEY", "second")))
	defer reg.Close()
	pw := filepath.Join(t.TempDir(), "sr-password")
	writeFile(t, pw, "first\n")
	cl := newClient(t, dictionary.Registry{URLs: []string{reg.URL()},
		Basic: &dictionary.BasicAuth{Username: "SRKEY", Password: dictionary.Secret{File: pw}}})
	err := check(t, cl)
	wantKind(t, err, registry.KindAuth, "basic user SRKEY")
	if strings.Contains(err.Error(), "first") {
		t.Errorf("the message shows the password: %v", err)
	}
	writeFile(t, pw, "second\n")
	if err := check(t, cl); err != nil {
		t.Errorf("after rotation: %v", err)
	}
}

// --- bearer tokens ---

// tokenGate accepts one bearer token, which the test changes, and records
// the Authorization headers it sees.
type tokenGate struct {
	mu     sync.Mutex
	accept string
	seen   []string
}

func (g *tokenGate) set(tok string) { g.mu.Lock(); g.accept = tok; g.mu.Unlock() }

func (g *tokenGate) last() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.seen) == 0 {
		return ""
	}
	return g.seen[len(g.seen)-1]
}

func (g *tokenGate) intercept(w http.ResponseWriter, r *http.Request) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := r.Header.Get("Authorization")
	g.seen = append(g.seen, h)
	if h == "Bearer "+g.accept {
		return false // on to the registry
	}
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"error_code":40101,"message":"Unauthorized"}`))
	return true
}

func TestBearerTokenFileRotation(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	gate := &tokenGate{accept: "tok-1"}
	reg.Intercept(gate.intercept)

	tokFile := filepath.Join(t.TempDir(), "sr-token")
	writeFile(t, tokFile, "tok-1\n")
	cl := newClient(t, dictionary.Registry{URLs: []string{reg.URL()}, Bearer: dictionary.Secret{File: tokFile}})
	if err := check(t, cl); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := gate.last(); got != "Bearer tok-1" {
		t.Errorf("Authorization = %q", got)
	}

	// The registry moves on to a new token before the file is rewritten.
	gate.set("tok-2")
	err := check(t, cl)
	wantKind(t, err, registry.KindAuth, "rejected the credentials (bearer token from file "+tokFile+")", "HTTP 401", "error_code 40101")
	if strings.Contains(err.Error(), "tok-") {
		t.Errorf("the message shows a token: %v", err)
	}

	// The sidecar writes the new token; the same client uses it at once.
	writeFile(t, tokFile, "tok-2\n")
	if err := check(t, cl); err != nil {
		t.Fatalf("Check after rotation: %v", err)
	}
	if got := gate.last(); got != "Bearer tok-2" {
		t.Errorf("Authorization after rotation = %q", got)
	}

	// A token file that disappears is a config error naming the file.
	if err := os.Remove(tokFile); err != nil {
		t.Fatal(err)
	}
	err = check(t, cl)
	wantKind(t, err, registry.KindConfig, "registry.bearer: cannot read the bearer token (secret(file:"+tokFile+"))")
	if !errors.Is(err, dictionary.ErrSecretMissing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap ErrSecretMissing and ErrNotExist", err)
	}
}

func TestBearerTokenFromEnv(t *testing.T) {
	reg := srfake.New(srfake.WithAuth("Bearer env-token"))
	defer reg.Close()
	t.Setenv("PROFILED_TEST_SR_TOKEN", "env-token")
	cl := newClient(t, dictionary.Registry{URLs: []string{reg.URL()}, Bearer: dictionary.Secret{Env: "PROFILED_TEST_SR_TOKEN"}})
	if err := check(t, cl); err != nil {
		t.Fatalf("Check: %v", err)
	}
	t.Setenv("PROFILED_TEST_SR_TOKEN", "other-token")
	wantKind(t, check(t, cl), registry.KindAuth, "bearer token from environment variable PROFILED_TEST_SR_TOKEN")
}

// Credentials go only to the configured hosts: a redirect elsewhere does
// not carry them.
func TestCredentialsStayOnRegistryHosts(t *testing.T) {
	var mu sync.Mutex
	elsewhere := ""
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhere = r.Header.Get("Authorization")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		_, _ = w.Write([]byte("[]"))
	}))
	defer other.Close()
	reg := srfake.New(srfake.WithAuth("Bearer t0k"))
	defer reg.Close()
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		return true
	})
	cl := newClient(t, dictionary.Registry{URLs: []string{reg.URL()}, Bearer: dictionary.LiteralSecret("t0k")})
	if err := check(t, cl); err != nil {
		t.Fatalf("Check: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if elsewhere != "" {
		t.Errorf("the other host got Authorization %q", elsewhere)
	}
}

// --- TLS ---

// tlsRegistry serves a srfake registry over TLS with httptest's server
// certificate (valid for 127.0.0.1 and example.com); caFile trusts it.
func tlsRegistry(t *testing.T, clientCAs *x509.CertPool, opts ...srfake.Option) (srv *httptest.Server, caFile string) {
	t.Helper()
	srv = httptest.NewUnstartedServer(srfake.NewRegistry(opts...).Handler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are expected
	if clientCAs != nil {
		srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs, MinVersion: tls.VersionTLS12}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "registry-ca.pem")
	writeFile(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	return srv, caFile
}

func TestTLS(t *testing.T) {
	srv, caFile := tlsRegistry(t, nil, srfake.WithAuth(basicHeader("SRKEY", "pw")))
	basic := &dictionary.BasicAuth{Username: "SRKEY", Password: dictionary.LiteralSecret("pw")}

	t.Run("ca file", func(t *testing.T) {
		cl := newClient(t, dictionary.Registry{URLs: []string{srv.URL}, TLS: &dictionary.TLS{CAFile: caFile}, Basic: basic})
		if err := check(t, cl); err != nil {
			t.Fatalf("Check: %v", err)
		}
		hc, _ := cl.OptValue(sr.HTTPClient).(*http.Client)
		if hc == nil || hc.Timeout != dictionary.DefaultRegistryTimeout {
			t.Errorf("http client = %+v, want the default timeout", hc)
		}
	})
	t.Run("server name", func(t *testing.T) {
		cl := newClient(t, dictionary.Registry{URLs: []string{srv.URL}, TLS: &dictionary.TLS{CAFile: caFile, ServerName: "example.com"}, Basic: basic})
		if err := check(t, cl); err != nil {
			t.Fatalf("Check: %v", err)
		}
		cl = newClient(t, dictionary.Registry{URLs: []string{srv.URL}, TLS: &dictionary.TLS{CAFile: caFile, ServerName: "sr.wrong.example"}, Basic: basic})
		wantKind(t, check(t, cl), registry.KindTLS, "not valid for that name", "registry.tls.server_name")
	})
	t.Run("system roots", func(t *testing.T) {
		cl := newClient(t, dictionary.Registry{URLs: []string{srv.URL}, Basic: basic})
		wantKind(t, check(t, cl), registry.KindTLS,
			"the registry's certificate at "+srv.URL+" is not trusted by the system roots: set registry.tls.ca_file")
	})
	t.Run("another CA", func(t *testing.T) {
		other := tlstest.NewCA(t, "other")
		cl := newClient(t, dictionary.Registry{URLs: []string{srv.URL}, TLS: &dictionary.TLS{CAFile: other.CAFile}, Basic: basic})
		wantKind(t, check(t, cl), registry.KindTLS, "is not trusted by CA file "+other.CAFile)
	})
	t.Run("insecure skip verify", func(t *testing.T) {
		cl := newClient(t, dictionary.Registry{URLs: []string{srv.URL}, TLS: &dictionary.TLS{InsecureSkipVerify: true}, Basic: basic})
		if err := check(t, cl); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
	t.Run("http to a TLS server", func(t *testing.T) {
		plainURL := "http://" + strings.TrimPrefix(srv.URL, "https://")
		cl := newClient(t, dictionary.Registry{URLs: []string{plainURL}, Basic: basic})
		wantKind(t, check(t, cl), registry.KindTLS, "the registry at "+plainURL+" speaks TLS: write its URL with https://")
	})
	t.Run("https to a plain server", func(t *testing.T) {
		plain := srfake.New()
		defer plain.Close()
		tlsURL := "https://" + strings.TrimPrefix(plain.URL(), "http://")
		cl := newClient(t, dictionary.Registry{URLs: []string{tlsURL}})
		wantKind(t, check(t, cl), registry.KindTLS, "answered a TLS handshake in plain HTTP")
	})
}

func TestMutualTLS(t *testing.T) {
	clients := tlstest.NewCA(t, "clients")
	pool := x509.NewCertPool()
	pool.AddCert(clients.Cert)
	srv, caFile := tlsRegistry(t, pool)
	client := clients.Issue(t, "profiled", false, time.Now().Add(time.Hour))
	certFile, keyFile := client.CertFile, client.KeyFile

	cl := newClient(t, dictionary.Registry{URLs: []string{srv.URL}, TLS: &dictionary.TLS{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}})
	if err := check(t, cl); err != nil {
		t.Fatalf("Check with a client certificate: %v", err)
	}
	cl = newClient(t, dictionary.Registry{URLs: []string{srv.URL}, TLS: &dictionary.TLS{CAFile: caFile}})
	wantKind(t, check(t, cl), registry.KindTLS, "rejected the TLS handshake", "registry.tls.cert_file")
}

// --- network and status ---

func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func TestNetwork(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		u := refusedURL(t)
		cl := newClient(t, dictionary.Registry{URLs: []string{u}})
		wantKind(t, check(t, cl), registry.KindNetwork, "connection refused by "+u)
	})
	t.Run("unresolvable", func(t *testing.T) {
		u := "http://registry.invalid:8081"
		cl := newClient(t, dictionary.Registry{URLs: []string{u}})
		wantKind(t, check(t, cl), registry.KindNetwork, u)
	})
	t.Run("all URLs", func(t *testing.T) {
		a, b := refusedURL(t), refusedURL(t)
		cl := newClient(t, dictionary.Registry{URLs: []string{a, b}})
		wantKind(t, check(t, cl), registry.KindNetwork, "connection refused by "+b, "all 2 registry URLs were tried")
	})
	t.Run("failover", func(t *testing.T) {
		reg := srfake.New()
		defer reg.Close()
		cl := newClient(t, dictionary.Registry{URLs: []string{refusedURL(t), reg.URL()}})
		if err := check(t, cl); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		cl := newClient(t, dictionary.Registry{URLs: []string{srv.URL}, Timeout: 200 * time.Millisecond})
		wantKind(t, check(t, cl), registry.KindNetwork, "the registry at "+srv.URL+" did not answer within 200ms (registry.timeout)")
	})
}

func TestStatus(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	cl := newClient(t, dictionary.Registry{URLs: []string{reg.URL()}})

	reg.Intercept(func(w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error_code":50001,"message":"Error in the backend data store"}`))
		return true
	})
	err := check(t, cl)
	wantKind(t, err, registry.KindRegistry, "the registry at "+reg.URL()+" answered HTTP 500 Internal Server Error (error_code 50001)",
		"Error in the backend data store")
	if re, ok := errors.AsType[*sr.ResponseError](err); !ok || re.ErrorCode != 50001 || !errors.Is(re.SchemaError(), sr.ErrStoreError) {
		t.Errorf("cause = %#v", re)
	}

	// A proxy's HTML page: the message keeps the status and a clipped body.
	reg.ClearInterceptors()
	reg.Intercept(func(w http.ResponseWriter, _ *http.Request) bool {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>" + strings.Repeat("bad gateway ", 200) + "</html>"))
		return true
	})
	err = check(t, cl)
	wantKind(t, err, registry.KindRegistry, "answered HTTP 502 Bad Gateway: <html>bad gateway")
	if len(err.Error()) > 600 {
		t.Errorf("message not clipped (%d bytes)", len(err.Error()))
	}

	// A URL that is not the registry's (wrong path prefix).
	reg.ClearInterceptors()
	wrong := reg.URL() + "/not-the-registry"
	cl = newClient(t, dictionary.Registry{URLs: []string{wrong}})
	wantKind(t, check(t, cl), registry.KindRegistry, "the registry at "+wrong+" answered HTTP 404", "is this the URL of a Schema Registry")
}

// --- settings that cannot work ---

func TestNewClientConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	writeFile(t, notPEM, "not a certificate\n")
	cases := []struct {
		name  string
		r     dictionary.Registry
		frags []string
	}{
		{"no URLs", dictionary.Registry{}, []string{"registry.urls: no URL given"}},
		{"missing CA file", dictionary.Registry{URLs: []string{"https://sr"}, TLS: &dictionary.TLS{CAFile: filepath.Join(dir, "nope.pem")}},
			[]string{"registry.tls.ca_file: cannot read CA file " + filepath.Join(dir, "nope.pem")}},
		{"CA file without PEM", dictionary.Registry{URLs: []string{"https://sr"}, TLS: &dictionary.TLS{CAFile: notPEM}},
			[]string{"CA file " + notPEM + " holds no PEM certificate"}},
		{"missing client cert", dictionary.Registry{URLs: []string{"https://sr"}, TLS: &dictionary.TLS{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "c.key")}},
			[]string{"registry.tls.cert_file: cannot read client certificate"}},
		{"cert without key", dictionary.Registry{URLs: []string{"https://sr"}, TLS: &dictionary.TLS{CertFile: "/c.pem"}},
			[]string{"mTLS takes both or neither"}},
		{"tls with http", dictionary.Registry{URLs: []string{"http://sr"}, TLS: &dictionary.TLS{}},
			[]string{"TLS settings apply to https URLs only"}},
		{"mixed schemes", dictionary.Registry{URLs: []string{"https://a", "http://b"}}, []string{"mixes http and https"}},
		{"credentials in a URL", dictionary.Registry{URLs: []string{"https://SRKEY:hunter2@sr"}}, []string{"holds user information"}},
		{"not a URL", dictionary.Registry{URLs: []string{"sr:8081"}}, []string{"is not an http:// or https:// URL"}},
		{"basic and bearer", dictionary.Registry{URLs: []string{"http://sr"}, Basic: &dictionary.BasicAuth{Username: "u", Password: dictionary.LiteralSecret("p")},
			Bearer: dictionary.LiteralSecret("t")}, []string{"has both basic and bearer"}},
		{"basic without password", dictionary.Registry{URLs: []string{"http://sr"}, Basic: &dictionary.BasicAuth{Username: "u"}},
			[]string{"needs a password"}},
		{"password env unset", dictionary.Registry{URLs: []string{"http://sr"},
			Basic: &dictionary.BasicAuth{Username: "SRKEY", Password: dictionary.Secret{Env: "PROFILED_TEST_UNSET_SR"}}},
			[]string{"registry.basic.password: cannot read the password of user SRKEY (secret(env:PROFILED_TEST_UNSET_SR))",
				"environment variable PROFILED_TEST_UNSET_SR is not set"}},
		{"token file missing", dictionary.Registry{URLs: []string{"http://sr"}, Bearer: dictionary.Secret{File: filepath.Join(dir, "token")}},
			[]string{"registry.bearer: cannot read the bearer token (secret(file:" + filepath.Join(dir, "token") + "))"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := registry.NewClient(tc.r)
			if cl != nil {
				t.Error("got a client along with the error")
			}
			wantKind(t, err, registry.KindConfig, tc.frags...)
			if strings.Contains(fmt.Sprint(err), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	// The settings are not modified (sr.URLs rewrites its argument), and
	// an upper-case scheme is not taken for a missing one.
	urls := []string{"HTTP://sr:8081/prefix"}
	cl := newClient(t, dictionary.Registry{URLs: urls})
	if urls[0] != "HTTP://sr:8081/prefix" {
		t.Errorf("settings changed: urls = %q", urls)
	}
	if got, _ := cl.OptValue(sr.URLs).([]string); len(got) != 1 || got[0] != "http://sr:8081/prefix" {
		t.Errorf("client urls = %q", got)
	}
}

func TestCheckNilClient(t *testing.T) {
	wantKind(t, registry.Check(t.Context(), nil), registry.KindConfig, "no client")
}

// --- nothing prints a secret ---

func TestNoSecretInOutput(t *testing.T) {
	const pw, tok = "hunter2-pw", "hunter2-tok"
	reg := srfake.New(srfake.WithAuth(basicHeader("SRKEY", pw)))
	defer reg.Close()
	settings := []dictionary.Registry{
		{URLs: []string{reg.URL()}, Basic: &dictionary.BasicAuth{Username: "SRKEY", Password: dictionary.LiteralSecret(pw)}, Timeout: time.Second},
		{URLs: []string{reg.URL()}, Bearer: dictionary.LiteralSecret(tok)},
	}
	// The clients are printed before they make a request: fmt walks into
	// an http.Transport's internals (some verbs follow pointers), which its
	// connection goroutines write to once requests are made.
	var values []any
	var clients []*sr.Client
	for _, s := range settings {
		cl := newClient(t, s)
		clients = append(clients, cl)
		hc, _ := cl.OptValue(sr.HTTPClient).(*http.Client)
		values = append(values, s, &s, cl, *cl, cl.Opts(), hc, *hc, hc.Transport,
			cl.OptValues(sr.BasicAuth), cl.OptValues(sr.BearerToken), cl.OptValues(sr.PreReq))
	}
	var out []string
	for _, x := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out = append(out, fmt.Sprintf(verb, x))
		}
		if b, err := json.Marshal(x); err == nil {
			out = append(out, string(b))
		}
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(h)
		for i, x := range values {
			l.Info("registry", "i", i, "value", x)
		}
		l.Info("registry", "settings", settings[0], slog.Any("bearer", settings[1]))
	}
	out = append(out, logs.String())
	// The errors of a check, with the right and with a wrong credential.
	for _, cl := range clients {
		err := check(t, cl)
		out = append(out, fmt.Sprintf("%v|%+v|%#v", err, err, err))
	}
	for _, o := range out {
		for _, secret := range []string{pw, tok, base64.StdEncoding.EncodeToString([]byte("SRKEY:" + pw))} {
			if strings.Contains(o, secret) || strings.Contains(o, fmt.Sprintf("%x", secret)) {
				t.Errorf("%q shows in %q", secret, o)
			}
		}
	}
	// The check itself works: the settings show what is not secret.
	if got := fmt.Sprintf("%+v", *settings[0].Basic); !strings.Contains(got, "SRKEY") || !strings.Contains(got, "secret(inline)") {
		t.Errorf("%%+v of the basic settings = %s", got)
	}
}
