package esptest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// Webhook is a receiver of the webhook connector's batches (see package
// connectors/esp/webhook for the format). With Options.APIKey set it
// verifies the X-Profiled-Signature HMAC and rejects stale timestamps.
type Webhook struct {
	*core
	contacts map[string]Contact // by profile id
	headers  http.Header        // of the last request
}

// NewWebhook starts a receiver.
func NewWebhook(o Options) *Webhook {
	h := &Webhook{contacts: map[string]Contact{}}
	h.core = newCore(o, func(w http.ResponseWriter, d time.Duration) {
		w.Header().Set("Retry-After", secondsOf(d))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "slow down"})
	}, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "unavailable"})
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", h.serve("POST /hook", nil, h.receive))
	h.srv = httptest.NewServer(mux)
	return h
}

// verify checks the signature "t=<unix>,v1=<hex>" over "<t>.<body>".
func (h *Webhook) verify(r *http.Request, body []byte) bool {
	if h.opts.APIKey == "" {
		return true
	}
	var ts, sig string
	for _, part := range strings.Split(r.Header.Get("X-Profiled-Signature"), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(t, 0)).Abs() > 5*time.Minute {
		return false
	}
	m := hmac.New(sha256.New, []byte(h.opts.APIKey))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(sig))
}

func (h *Webhook) receive(w http.ResponseWriter, r *http.Request) {
	b, ok := body(w, r, 16<<20, func(w http.ResponseWriter) { w.WriteHeader(http.StatusRequestEntityTooLarge) })
	if !ok {
		return
	}
	if !h.verify(r, b) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad signature"})
		return
	}
	var req struct {
		Connector string `json:"connector"`
		Contacts  []struct {
			ProfileID  string         `json:"profile_id"`
			Version    json.Number    `json:"version"`
			UpdatedAt  string         `json:"updated_at"`
			Deleted    bool           `json:"deleted"`
			Email      string         `json:"email"`
			Subscribed bool           `json:"subscribed"`
			Changed    []string       `json:"changed"`
			Fields     map[string]any `json:"fields"`
		} `json:"contacts"`
	}
	if err := decodeStrict(b, &req); err != nil || req.Connector == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid batch"})
		return
	}
	h.count(len(req.Contacts))
	var errs []any
	for i, c := range req.Contacts {
		if c.Email != "" && !ValidEmail(c.Email) {
			errs = append(errs, map[string]any{"index": i, "message": "invalid email address " + c.Email})
			continue
		}
		if c.Deleted {
			h.mu.Lock()
			delete(h.contacts, c.ProfileID)
			h.mu.Unlock()
			h.resetVersion(c.ProfileID)
			continue
		}
		h.version(c.ProfileID, map[string]any{"version": c.Version.String()})
		h.mu.Lock()
		h.contacts[c.ProfileID] = Contact{Key: c.ProfileID, Email: c.Email, Subscribed: c.Subscribed, Fields: c.Fields}
		h.headers = r.Header.Clone()
		h.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, map[string]any{"errors": nonNil(errs)})
}

// URL is the endpoint to configure.
func (h *Webhook) URL() string { return h.srv.URL + "/hook" }

// Header returns a header of the last accepted request.
func (h *Webhook) Header(name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.headers.Get(name)
}

// Contacts returns the contacts by profile id.
func (h *Webhook) Contacts() map[string]Contact {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]Contact, len(h.contacts))
	for k, c := range h.contacts {
		c.Fields = cloneFields(c.Fields)
		out[k] = c
	}
	return out
}
