package esptest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Braze is a REST API server: /users/track (attributes only) and
// /users/delete, keyed by external_id.
type Braze struct {
	*core
	users map[string]map[string]any // external_id -> attributes
}

// NewBraze starts a server.
func NewBraze(o Options) *Braze {
	z := &Braze{users: map[string]map[string]any{}}
	z.core = newCore(o, func(w http.ResponseWriter, d time.Duration) {
		// RudderStack: on 429 the X-RateLimit-* headers are replaced by
		// X-Ratelimit-Retry-After.
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
			w.Header().Del(h)
		}
		w.Header().Set("X-Ratelimit-Retry-After", secondsOf(d))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Rate Limited", "errors": []any{}})
	}, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"message": "Service Unavailable", "errors": []any{}})
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /users/track", z.serve("POST /users/track", z.auth, z.track))
	mux.HandleFunc("POST /users/delete", z.serve("POST /users/delete", z.auth, z.remove))
	mux.HandleFunc("/", z.serve("other", z.auth, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "errors": []any{}})
	}))
	z.srv = httptest.NewServer(mux)
	return z
}

func (z *Braze) auth(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+z.opts.APIKey {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Invalid API key", "errors": []any{}})
		return false
	}
	w.Header().Set("X-RateLimit-Limit", "3000")
	w.Header().Set("X-RateLimit-Remaining", "2999")
	w.Header().Set("X-RateLimit-Reset", epochIn(3*time.Second))
	return true
}

var brazeSubscribe = map[string]bool{"opted_in": true, "subscribed": true, "unsubscribed": true}

func (z *Braze) track(w http.ResponseWriter, r *http.Request) {
	b, ok := body(w, r, 4<<20, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"message": "Payload Too Large", "errors": []any{}})
	})
	if !ok {
		return
	}
	var req struct {
		Attributes []map[string]any `json:"attributes"`
		Events     []map[string]any `json:"events"`
		Purchases  []map[string]any `json:"purchases"`
	}
	if err := decodeStrict(b, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Bad Request: " + err.Error(), "errors": []any{}})
		return
	}
	if len(req.Attributes) > 75 || len(req.Events) > 75 || len(req.Purchases) > 75 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Max Input Length Exceeded", "errors": []any{}})
		return
	}
	z.count(len(req.Attributes))
	var errs []any
	fail := func(i int, typ string) {
		errs = append(errs, map[string]any{"type": typ, "input_array": "attributes", "index": i})
	}
	processed := 0
	for i, a := range req.Attributes {
		ext, _ := a["external_id"].(string)
		if ext == "" {
			fail(i, "Missing identifier: external_id, user_alias, braze_id, email or phone is required")
			continue
		}
		if e, ok := a["email"]; ok && e != nil {
			if s, _ := e.(string); !ValidEmail(s) {
				fail(i, "'email' is not a valid email")
				continue
			}
		}
		if s, ok := a["email_subscribe"]; ok {
			if v, _ := s.(string); !brazeSubscribe[v] {
				fail(i, "'email_subscribe' must be opted_in, subscribed or unsubscribed")
				continue
			}
		}
		if dob, ok := a["dob"].(string); ok && len(dob) != 10 {
			fail(i, "'dob' must be YYYY-MM-DD")
			continue
		}
		z.mu.Lock()
		u := z.users[ext]
		if u == nil {
			u = map[string]any{}
			z.users[ext] = u
		}
		for k, v := range a {
			if k == "external_id" {
				continue
			}
			if v == nil {
				delete(u, k) // null removes the attribute
			} else {
				u[k] = v
			}
		}
		z.mu.Unlock()
		z.version(ext, a)
		processed++
	}
	resp := map[string]any{"message": "success", "attributes_processed": processed}
	if len(errs) > 0 {
		resp["errors"] = errs
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (z *Braze) remove(w http.ResponseWriter, r *http.Request) {
	b, ok := body(w, r, 1<<20, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"message": "Payload Too Large", "errors": []any{}})
	})
	if !ok {
		return
	}
	var req map[string]json.RawMessage
	if err := decodeStrict(b, &req); err != nil || len(req) != 1 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Exactly one identifier type per request", "errors": []any{}})
		return
	}
	var ids []string
	if err := json.Unmarshal(req["external_ids"], &ids); err != nil || len(ids) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "external_ids must be a non-empty list", "errors": []any{}})
		return
	}
	if len(ids) > 50 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "The max number of external_ids and aliases per request was exceeded", "errors": []any{}})
		return
	}
	n := 0
	z.mu.Lock()
	for _, id := range ids {
		if _, ok := z.users[id]; ok {
			delete(z.users, id)
			n++
		}
	}
	z.mu.Unlock()
	for _, id := range ids {
		z.resetVersion(id)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"deleted": n, "message": "success"})
}

// Contacts returns the users by external_id; Subscribed means
// email_subscribe is opted_in (explicit consent).
func (z *Braze) Contacts() map[string]Contact {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := map[string]Contact{}
	for id, u := range z.users {
		f := cloneFields(u)
		email, _ := f["email"].(string)
		status, _ := f["email_subscribe"].(string)
		delete(f, "email")
		delete(f, "email_subscribe")
		out[id] = Contact{Key: id, Email: strings.ToLower(email), Status: status, Subscribed: status == "opted_in", Fields: f}
	}
	return out
}
