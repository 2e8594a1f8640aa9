package esptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"time"
)

// Klaviyo is a server of Klaviyo's revisioned JSON:API: bulk profile
// import jobs, subscription jobs on one list, profile lookup by
// external_id, and data-privacy deletion jobs.
type Klaviyo struct {
	*core
	list     string
	profiles map[string]*kvProfile // by Klaviyo id
	jobs     map[string]*kvJob
	nextID   map[string]int
}

type kvProfile struct {
	id, email, external string
	consent             string // "", SUBSCRIBED, UNSUBSCRIBED
	fields              map[string]any
}

type kvJob struct {
	polls  int
	total  int
	errors []map[string]any
}

// NewKlaviyo starts a server with one list.
func NewKlaviyo(o Options, list string) *Klaviyo {
	k := &Klaviyo{list: list, profiles: map[string]*kvProfile{}, jobs: map[string]*kvJob{}, nextID: map[string]int{}}
	k.core = newCore(o, func(w http.ResponseWriter, d time.Duration) {
		// On a 429 the RateLimit-* headers are replaced by Retry-After.
		for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			w.Header().Del(h)
		}
		w.Header().Set("Retry-After", secondsOf(d))
		kvError(w, http.StatusTooManyRequests, "throttled", "Request was throttled.", "Request was throttled. Expected available in 1 second.", "")
	}, func(w http.ResponseWriter) {
		kvError(w, http.StatusServiceUnavailable, "service_unavailable", "Service unavailable.", "Try again later.", "")
	})
	mux := http.NewServeMux()
	route := func(pattern, op string, h http.HandlerFunc) { mux.HandleFunc(pattern, k.serve(op, k.auth, h)) }
	route("POST /api/profile-bulk-import-jobs", "POST bulk-import", k.bulkImport)
	route("GET /api/profile-bulk-import-jobs/{id}", "GET bulk-import", k.job)
	route("GET /api/profile-bulk-import-jobs/{id}/import-errors", "GET import-errors", k.importErrors)
	route("POST /api/profile-subscription-bulk-create-jobs", "POST subscribe", k.subscription(true))
	route("POST /api/profile-subscription-bulk-delete-jobs", "POST unsubscribe", k.subscription(false))
	route("GET /api/profiles", "GET profiles", k.lookup)
	route("POST /api/data-privacy-deletion-jobs", "POST deletion", k.deletion)
	mux.HandleFunc("/", k.serve("other", k.auth, func(w http.ResponseWriter, _ *http.Request) {
		kvError(w, http.StatusNotFound, "not_found", "Not found.", "The resource was not found.", "")
	}))
	k.srv = httptest.NewServer(mux)
	return k
}

func kvError(w http.ResponseWriter, status int, code, title, detail, pointer string) {
	e := map[string]any{"id": "esptest", "status": status, "code": code, "title": title, "detail": detail}
	if pointer != "" {
		e["source"] = map[string]string{"pointer": pointer}
	}
	w.Header().Set("Content-Type", "application/vnd.api+json")
	writeJSONRaw(w, status, map[string]any{"errors": []any{e}})
}

var kvRevisionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$`)

func (k *Klaviyo) auth(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Klaviyo-API-Key "+k.opts.APIKey {
		kvError(w, http.StatusUnauthorized, "not_authenticated", "Authentication credentials were not provided.", "Missing or invalid private key.", "")
		return false
	}
	if !kvRevisionRE.MatchString(r.Header.Get("Revision")) {
		kvError(w, http.StatusBadRequest, "invalid", "Invalid input.", "The revision header is missing or invalid.", "")
		return false
	}
	if r.Method == http.MethodPost {
		ct := r.Header.Get("Content-Type")
		if !strings.HasPrefix(ct, "application/vnd.api+json") && !strings.HasPrefix(ct, "application/json") {
			kvError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type.", ct, "")
			return false
		}
	}
	w.Header().Set("RateLimit-Limit", "10, 10;w=1, 150;w=60")
	w.Header().Set("RateLimit-Remaining", "9")
	w.Header().Set("RateLimit-Reset", "1")
	return true
}

func (k *Klaviyo) newID(prefix string) string {
	k.nextID[prefix]++
	return fmt.Sprintf("%s%06d", prefix, k.nextID[prefix])
}

var e164RE = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)

var kvStandard = map[string]bool{"first_name": true, "last_name": true, "phone_number": true, "organization": true,
	"title": true, "locale": true, "image": true}

func (k *Klaviyo) bulkImport(w http.ResponseWriter, r *http.Request) {
	b, ok := body(w, r, 5_000_000, func(w http.ResponseWriter) {
		kvError(w, http.StatusRequestEntityTooLarge, "too_large", "Payload too large.", "The maximum allowed payload size is 5MB.", "")
	})
	if !ok {
		return
	}
	var req struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Profiles struct {
					Data []struct {
						Type       string                     `json:"type"`
						Attributes map[string]json.RawMessage `json:"attributes"`
					} `json:"data"`
				} `json:"profiles"`
			} `json:"attributes"`
			Relationships json.RawMessage `json:"relationships"`
		} `json:"data"`
	}
	if err := decodeStrict(b, &req); err != nil || req.Data.Type != "profile-bulk-import-job" {
		kvError(w, http.StatusBadRequest, "invalid", "Invalid input.", "want a profile-bulk-import-job document", "/data")
		return
	}
	profiles := req.Data.Attributes.Profiles.Data
	if len(profiles) == 0 || len(profiles) > 10000 {
		kvError(w, http.StatusBadRequest, "invalid", "Invalid input.", "profiles must hold 1 to 10000 items", "/data/attributes/profiles/data")
		return
	}
	k.count(len(profiles))
	// Validated all-or-nothing: one bad profile fails the request, and
	// every error points at its profile.
	var errs []any
	type parsed struct {
		email, external string
		fields          map[string]any
	}
	items := make([]parsed, len(profiles))
	for i, p := range profiles {
		ptr := fmt.Sprintf("/data/attributes/profiles/data/%d", i)
		bad := func(field, detail string) {
			errs = append(errs, map[string]any{"id": "esptest", "code": "invalid", "title": "Invalid input.", "detail": detail,
				"source": map[string]string{"pointer": ptr + "/attributes/" + field}})
		}
		if p.Type != "profile" {
			bad("type", "type must be profile")
			continue
		}
		it := parsed{fields: map[string]any{}}
		for key, raw := range p.Attributes {
			var v any
			d := json.NewDecoder(strings.NewReader(string(raw)))
			d.UseNumber()
			if d.Decode(&v) != nil {
				bad(key, "invalid value")
				continue
			}
			switch {
			case key == "email":
				s, _ := v.(string)
				if !ValidEmail(s) {
					bad(key, "Invalid email address")
				}
				it.email = strings.ToLower(s)
			case key == "external_id":
				it.external, _ = v.(string)
			case key == "properties":
				props, ok := v.(map[string]any)
				if !ok {
					bad(key, "properties must be an object")
				}
				for pk, pv := range props {
					it.fields[pk] = pv
				}
			case key == "location":
				loc, ok := v.(map[string]any)
				if !ok {
					bad(key, "location must be an object")
				}
				for lk, lv := range loc {
					it.fields["location."+lk] = lv
				}
			case kvStandard[key]:
				if v != nil {
					if _, ok := v.(string); !ok {
						bad(key, key+" must be a string")
					}
				}
				it.fields[key] = v
			default:
				bad(key, "unknown profile attribute "+key)
			}
		}
		if it.email == "" && it.external == "" && p.Attributes["phone_number"] == nil {
			bad("email", "one of email, phone_number or external_id is required")
		}
		items[i] = it
	}
	if len(errs) > 0 {
		w.Header().Set("Content-Type", "application/vnd.api+json")
		writeJSONRaw(w, http.StatusBadRequest, map[string]any{"errors": errs})
		return
	}
	job := &kvJob{total: len(items)}
	for _, it := range items {
		// Found to be invalid while the job runs: phone numbers.
		if ph, ok := it.fields["phone_number"].(string); ok && !e164RE.MatchString(ph) {
			job.errors = append(job.errors, map[string]any{"type": "import-error", "id": k.newID("err-"),
				"attributes": map[string]any{"code": "invalid", "title": "Invalid input.", "detail": "Invalid phone number format",
					"source":           map[string]string{"pointer": "/data/attributes/phone_number"},
					"original_payload": map[string]any{"email": it.email, "external_id": it.external}}})
			continue
		}
		k.upsertProfile(it.email, it.external, it.fields)
	}
	k.mu.Lock()
	id := k.newID("job-")
	k.jobs[id] = job
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.api+json")
	writeJSONRaw(w, http.StatusAccepted, k.jobDoc(id, job, "queued"))
}

// upsertProfile matches by external_id, else by email.
func (k *Klaviyo) upsertProfile(email, external string, fields map[string]any) {
	k.mu.Lock()
	var p *kvProfile
	for _, q := range k.profiles {
		if external != "" && q.external == external {
			p = q
			break
		}
	}
	if p == nil && email != "" {
		for _, q := range k.profiles {
			if q.email == email {
				p = q
				break
			}
		}
	}
	if p == nil {
		p = &kvProfile{id: k.newID("01K"), fields: map[string]any{}}
		k.profiles[p.id] = p
	}
	if email != "" {
		p.email = email
	}
	if external != "" {
		p.external = external
	}
	for f, v := range fields {
		if v == nil {
			delete(p.fields, f) // null clears
		} else {
			p.fields[f] = v
		}
	}
	id := p.id
	snapshot := cloneFields(fields)
	k.mu.Unlock()
	k.version(id, snapshot)
}

func (k *Klaviyo) jobDoc(id string, j *kvJob, status string) map[string]any {
	return map[string]any{"data": map[string]any{"type": "profile-bulk-import-job", "id": id,
		"attributes": map[string]any{"status": status, "total_count": j.total, "completed_count": j.total - len(j.errors),
			"failed_count": len(j.errors), "created_at": time.Now().UTC().Format(time.RFC3339)},
		"links": map[string]string{"self": k.URL() + "/api/profile-bulk-import-jobs/" + id}}}
}

func (k *Klaviyo) job(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	k.mu.Lock()
	j, ok := k.jobs[id]
	if ok {
		j.polls++
	}
	k.mu.Unlock()
	if !ok {
		kvError(w, http.StatusNotFound, "not_found", "Not found.", "No such job.", "")
		return
	}
	status := "processing"
	if j.polls >= k.opts.JobPolls {
		status = "complete"
	}
	w.Header().Set("Content-Type", "application/vnd.api+json")
	writeJSONRaw(w, http.StatusOK, k.jobDoc(id, j, status))
}

func (k *Klaviyo) importErrors(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	j, ok := k.jobs[r.PathValue("id")]
	k.mu.Unlock()
	if !ok {
		kvError(w, http.StatusNotFound, "not_found", "Not found.", "No such job.", "")
		return
	}
	w.Header().Set("Content-Type", "application/vnd.api+json")
	writeJSONRaw(w, http.StatusOK, map[string]any{"data": nonNil(j.errors), "links": map[string]any{"next": nil}})
}

func (k *Klaviyo) subscription(subscribe bool) http.HandlerFunc {
	typ, maxN, consent := "profile-subscription-bulk-create-job", 1000, "SUBSCRIBED"
	if !subscribe {
		typ, maxN, consent = "profile-subscription-bulk-delete-job", 100, "UNSUBSCRIBED"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		b, ok := body(w, r, 5_000_000, func(w http.ResponseWriter) {
			kvError(w, http.StatusRequestEntityTooLarge, "too_large", "Payload too large.", "", "")
		})
		if !ok {
			return
		}
		var req struct {
			Data struct {
				Type       string `json:"type"`
				Attributes struct {
					CustomSource     string `json:"custom_source"`
					HistoricalImport bool   `json:"historical_import"`
					Profiles         struct {
						Data []struct {
							Type       string `json:"type"`
							Attributes struct {
								Email         string `json:"email"`
								Subscriptions struct {
									Email struct {
										Marketing struct {
											Consent string `json:"consent"`
										} `json:"marketing"`
									} `json:"email"`
								} `json:"subscriptions"`
							} `json:"attributes"`
						} `json:"data"`
					} `json:"profiles"`
				} `json:"attributes"`
				Relationships struct {
					List struct {
						Data struct {
							Type string `json:"type"`
							ID   string `json:"id"`
						} `json:"data"`
					} `json:"list"`
				} `json:"relationships"`
			} `json:"data"`
		}
		if err := decodeStrict(b, &req); err != nil || req.Data.Type != typ {
			kvError(w, http.StatusBadRequest, "invalid", "Invalid input.", "want a "+typ+" document", "/data")
			return
		}
		ps := req.Data.Attributes.Profiles.Data
		if len(ps) == 0 || len(ps) > maxN {
			kvError(w, http.StatusBadRequest, "invalid", "Invalid input.", fmt.Sprintf("at most %d profiles", maxN), "/data/attributes/profiles/data")
			return
		}
		if rel := req.Data.Relationships.List.Data; rel.Type != "list" || rel.ID != k.list {
			kvError(w, http.StatusNotFound, "not_found", "Not found.", "List not found.", "/data/relationships/list")
			return
		}
		for i, p := range ps {
			if !ValidEmail(p.Attributes.Email) || p.Attributes.Subscriptions.Email.Marketing.Consent != consent {
				kvError(w, http.StatusBadRequest, "invalid", "Invalid input.", "invalid email or consent",
					fmt.Sprintf("/data/attributes/profiles/data/%d", i))
				return
			}
		}
		k.mu.Lock()
		for _, p := range ps {
			e := strings.ToLower(p.Attributes.Email)
			var found *kvProfile
			for _, q := range k.profiles {
				if q.email == e {
					found = q
				}
			}
			if found == nil {
				found = &kvProfile{id: k.newID("01K"), email: e, fields: map[string]any{}}
				k.profiles[found.id] = found
			}
			found.consent = consent
		}
		k.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}
}

var kvFilterRE = regexp.MustCompile(`^equals\(external_id,"((?:[^"\\]|\\.)*)"\)$`)

func (k *Klaviyo) lookup(w http.ResponseWriter, r *http.Request) {
	m := kvFilterRE.FindStringSubmatch(r.URL.Query().Get("filter"))
	if m == nil {
		kvError(w, http.StatusBadRequest, "invalid", "Invalid input.", "unsupported filter", "")
		return
	}
	ext := strings.ReplaceAll(m[1], `\"`, `"`)
	var data []any
	k.mu.Lock()
	for _, p := range k.profiles {
		if p.external == ext {
			data = append(data, map[string]any{"type": "profile", "id": p.id})
		}
	}
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.api+json")
	writeJSONRaw(w, http.StatusOK, map[string]any{"data": nonNil(data)})
}

func (k *Klaviyo) deletion(w http.ResponseWriter, r *http.Request) {
	b, ok := body(w, r, 100_000, func(w http.ResponseWriter) {
		kvError(w, http.StatusRequestEntityTooLarge, "too_large", "Payload too large.", "", "")
	})
	if !ok {
		return
	}
	var req struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Profile struct {
					Data struct {
						Type       string            `json:"type"`
						Attributes map[string]string `json:"attributes"`
					} `json:"data"`
				} `json:"profile"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := decodeStrict(b, &req); err != nil || req.Data.Type != "data-privacy-deletion-job" {
		kvError(w, http.StatusBadRequest, "invalid", "Invalid input.", "want a data-privacy-deletion-job document", "/data")
		return
	}
	ident := req.Data.Attributes.Profile.Data.Attributes
	if len(ident) != 1 {
		kvError(w, http.StatusBadRequest, "invalid", "Invalid input.", "exactly one of email, phone_number or id", "/data/attributes/profile")
		return
	}
	k.mu.Lock()
	var gone []string
	for id, p := range k.profiles {
		if (ident["email"] != "" && p.email == strings.ToLower(ident["email"])) || (ident["id"] != "" && id == ident["id"]) {
			delete(k.profiles, id)
			gone = append(gone, id)
		}
	}
	k.mu.Unlock()
	for _, id := range gone {
		k.resetVersion(id)
	}
	w.WriteHeader(http.StatusAccepted)
}

// Contacts returns the profiles by external_id (profiles created by a
// subscription alone, without one, by "email:<address>").
func (k *Klaviyo) Contacts() map[string]Contact {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string]Contact{}
	for _, p := range k.profiles {
		key := p.external
		if key == "" {
			key = "email:" + p.email
		}
		out[key] = Contact{Key: key, Email: p.email, Subscribed: p.consent == "SUBSCRIBED", Status: p.consent, Fields: cloneFields(p.fields)}
	}
	return out
}
