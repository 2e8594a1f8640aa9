package esptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// SendGrid is a Marketing Campaigns v3 server: contacts, their async
// upsert and delete jobs, custom field definitions and the global
// suppression list.
type SendGrid struct {
	*core
	fields     map[string]sgField // custom fields by id
	contacts   map[string]*sgContact
	byExt      map[string]string // external_id -> email
	suppressed map[string]bool
	jobs       map[string]*sgJob
	nextID     map[string]int
}

type sgField struct{ id, name, typ string }

type sgContact struct {
	id, email, external string
	fields              map[string]any // reserved by name, custom by name
}

type sgJob struct {
	typ    string
	polls  int
	total  int
	errors []map[string]string
}

// NewSendGrid starts a server whose account has the given custom fields
// (name -> Text, Number or Date).
func NewSendGrid(o Options, customFields map[string]string) *SendGrid {
	s := &SendGrid{fields: map[string]sgField{}, contacts: map[string]*sgContact{}, byExt: map[string]string{},
		suppressed: map[string]bool{}, jobs: map[string]*sgJob{}, nextID: map[string]int{}}
	i := 0
	for name, typ := range customFields {
		i++
		id := fmt.Sprintf("e%d_%s", i, typ[:1])
		s.fields[id] = sgField{id: id, name: name, typ: typ}
	}
	s.core = newCore(o, func(w http.ResponseWriter, d time.Duration) {
		w.Header().Set("X-RateLimit-Limit", "600")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", epochIn(d))
		writeJSON(w, http.StatusTooManyRequests, sgErrors(nil, "too many requests"))
	}, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"errors": []map[string]any{{"message": "service unavailable"}}})
	})
	mux := http.NewServeMux()
	route := func(pattern, op string, h http.HandlerFunc) { mux.HandleFunc(pattern, s.serve(op, s.auth, h)) }
	route("GET /v3/marketing/field_definitions", "GET field_definitions", s.fieldDefinitions)
	route("PUT /v3/marketing/contacts", "PUT contacts", s.upsert)
	route("GET /v3/marketing/contacts/imports/{id}", "GET imports", s.job)
	route("POST /v3/marketing/contacts/search/emails", "POST search/emails", s.search)
	route("DELETE /v3/marketing/contacts", "DELETE contacts", s.deleteContacts)
	route("POST /v3/asm/suppressions/global", "POST suppressions", s.suppress)
	route("DELETE /v3/asm/suppressions/global/{email}", "DELETE suppression", s.unsuppress)
	mux.HandleFunc("GET /errors/{id}", s.serve("GET errors", nil, s.errorsFile))
	mux.HandleFunc("/", s.serve("other", s.auth, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, sgErrors(nil, "resource not found"))
	}))
	s.srv = httptest.NewServer(mux)
	return s
}

func sgErrors(field *string, msg string) map[string]any {
	return map[string]any{"errors": []map[string]any{{"field": field, "message": msg}}}
}

func (s *SendGrid) auth(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+s.opts.APIKey {
		writeJSON(w, http.StatusUnauthorized, sgErrors(nil, "authorization required"))
		return false
	}
	w.Header().Set("X-RateLimit-Limit", "600")
	w.Header().Set("X-RateLimit-Remaining", "599")
	w.Header().Set("X-RateLimit-Reset", epochIn(time.Second))
	return true
}

var sgReserved = map[string]int{"first_name": 50, "last_name": 50, "address_line_1": 100, "address_line_2": 100,
	"city": 60, "state_province_region": 50, "postal_code": 60, "country": 50}

func (s *SendGrid) fieldDefinitions(w http.ResponseWriter, _ *http.Request) {
	var custom []map[string]string
	for _, f := range s.fields {
		custom = append(custom, map[string]string{"id": f.id, "name": f.name, "field_type": f.typ})
	}
	var reserved []map[string]string
	i := 0
	for name := range sgReserved {
		reserved = append(reserved, map[string]string{"id": fmt.Sprintf("_rf%d_T", i), "name": name, "field_type": "Text"})
		i++
	}
	writeJSON(w, http.StatusOK, map[string]any{"custom_fields": nonNil(custom), "reserved_fields": reserved})
}

func (s *SendGrid) newID(prefix string) string {
	s.nextID[prefix]++
	return prefix + strconv.Itoa(s.nextID[prefix])
}

func (s *SendGrid) upsert(w http.ResponseWriter, r *http.Request) {
	b, ok := body(w, r, 6_000_000, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusRequestEntityTooLarge, sgErrors(nil, "request body is larger than 6 MB"))
	})
	if !ok {
		return
	}
	var req struct {
		ListIDs  []string                     `json:"list_ids"`
		Contacts []map[string]json.RawMessage `json:"contacts"`
	}
	if err := decodeStrict(b, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, sgErrors(nil, err.Error()))
		return
	}
	if len(req.Contacts) < 1 || len(req.Contacts) > 30000 {
		f := "contacts"
		writeJSON(w, http.StatusBadRequest, sgErrors(&f, "contacts must hold 1 to 30000 items"))
		return
	}
	s.count(len(req.Contacts))
	// Synchronous validation: the schema. Invalid addresses are found by
	// the job, as the spec words it.
	type parsed struct {
		email, external string
		fields          map[string]any
	}
	var items []parsed
	var errs []map[string]any
	for i, raw := range req.Contacts {
		p := parsed{fields: map[string]any{}}
		field := func(k string) *string { f := fmt.Sprintf("contacts[%d].%s", i, k); return &f }
		for k, v := range raw {
			switch {
			case k == "email" || k == "external_id":
				var str string
				if json.Unmarshal(v, &str) != nil || len(str) > 254 {
					errs = append(errs, map[string]any{"field": field(k), "message": "must be a string of at most 254 characters"})
					continue
				}
				if k == "email" {
					p.email = strings.ToLower(str)
				} else {
					p.external = str
				}
			case sgReserved[k] > 0:
				var str string
				if json.Unmarshal(v, &str) != nil || len(str) > sgReserved[k] {
					errs = append(errs, map[string]any{"field": field(k), "message": fmt.Sprintf("must be a string of at most %d characters", sgReserved[k])})
					continue
				}
				p.fields[k] = str
			case k == "custom_fields":
				var cf map[string]any
				d := json.NewDecoder(strings.NewReader(string(v)))
				d.UseNumber()
				if d.Decode(&cf) != nil {
					errs = append(errs, map[string]any{"field": field(k), "message": "must be an object"})
					continue
				}
				for id, val := range cf {
					def, ok := s.fields[id]
					if !ok {
						errs = append(errs, map[string]any{"field": field("custom_fields." + id), "message": "custom field does not exist"})
						continue
					}
					p.fields[def.name] = val
				}
			default:
				errs = append(errs, map[string]any{"field": field(k), "message": "unknown field"})
			}
		}
		if p.email == "" && p.external == "" {
			errs = append(errs, map[string]any{"field": field("email"), "message": "at least one identifier is required"})
		}
		items = append(items, p)
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": errs})
		return
	}
	job := &sgJob{typ: "upsert", total: len(items)}
	s.mu.Lock()
	for _, p := range items {
		if bad := s.badValue(p.fields); p.email != "" && !ValidEmail(p.email) || bad != "" {
			reason := "invalid email"
			if bad != "" {
				reason = "invalid value for custom field " + bad
			}
			job.errors = append(job.errors, map[string]string{"email": p.email, "error": reason})
			continue
		}
		// Matched by external_id, else by email; the email may change.
		var c *sgContact
		if e, ok := s.byExt[p.external]; ok && p.external != "" {
			c = s.contacts[e]
			if p.email != "" && p.email != e {
				delete(s.contacts, e)
				c.email = p.email
				s.contacts[p.email] = c
			}
		} else if c = s.contacts[p.email]; c == nil {
			c = &sgContact{id: s.newID("c-"), email: p.email, fields: map[string]any{}}
			s.contacts[p.email] = c
		}
		if p.external != "" {
			c.external = p.external
			s.byExt[p.external] = c.email
		}
		for k, v := range p.fields {
			c.fields[k] = v
		}
		s.mu.Unlock()
		s.version(c.id, c.fields)
		s.mu.Lock()
	}
	id := s.newID("job-")
	s.jobs[id] = job
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": id})
}

// badValue returns the first custom field whose value does not fit its type.
func (s *SendGrid) badValue(fields map[string]any) string {
	for _, def := range s.fields {
		v, ok := fields[def.name]
		if !ok || v == "" {
			continue
		}
		text := fmt.Sprint(v)
		switch def.typ {
		case "Number":
			if _, err := strconv.ParseFloat(text, 64); err != nil {
				return def.name
			}
		case "Date":
			if _, err := time.Parse(time.DateOnly, text); err != nil {
				return def.name
			}
		}
	}
	return ""
}

func (s *SendGrid) job(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j, ok := s.jobs[r.PathValue("id")]
	if ok {
		j.polls++
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, sgErrors(nil, "job not found"))
		return
	}
	status := "pending"
	if j.polls >= s.opts.JobPolls {
		switch {
		case len(j.errors) == 0:
			status = "completed"
		case len(j.errors) == j.total:
			status = "failed"
		default:
			status = "errored"
		}
	}
	res := map[string]any{"requested_count": j.total, "errored_count": len(j.errors)}
	if status != "pending" && len(j.errors) > 0 {
		res["errors_url"] = s.URL() + "/errors/" + r.PathValue("id")
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "status": status, "job_type": j.typ, "results": res})
}

func (s *SendGrid) errorsFile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j, ok := s.jobs[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(j.errors))
}

func (s *SendGrid) search(w http.ResponseWriter, r *http.Request) {
	b, ok := body(w, r, 1<<20, func(w http.ResponseWriter) { writeJSON(w, http.StatusBadRequest, sgErrors(nil, "too large")) })
	if !ok {
		return
	}
	var req struct {
		Emails []string `json:"emails"`
	}
	if err := decodeStrict(b, &req); err != nil || len(req.Emails) == 0 || len(req.Emails) > 100 {
		writeJSON(w, http.StatusBadRequest, sgErrors(nil, "emails must hold 1 to 100 addresses"))
		return
	}
	result := map[string]any{}
	found := 0
	s.mu.Lock()
	for _, e := range req.Emails {
		if !ValidEmail(e) {
			s.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, sgErrors(nil, "invalid email "+e))
			return
		}
		if c, ok := s.contacts[strings.ToLower(e)]; ok {
			found++
			result[e] = map[string]any{"contact": map[string]any{"id": c.id, "email": c.email}}
		} else {
			result[e] = map[string]any{"error": "contact not found"}
		}
	}
	s.mu.Unlock()
	if found == 0 {
		writeJSON(w, http.StatusNotFound, sgErrors(nil, "no contacts found"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
}

func (s *SendGrid) deleteContacts(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RequestURI()) > 8150 {
		w.WriteHeader(http.StatusRequestURITooLong)
		return
	}
	ids := strings.Split(r.URL.Query().Get("ids"), ",")
	s.mu.Lock()
	for _, id := range ids {
		for e, c := range s.contacts {
			if c.id == id {
				delete(s.contacts, e)
				delete(s.byExt, c.external)
				s.mu.Unlock()
				s.resetVersion(c.id)
				s.mu.Lock()
			}
		}
	}
	jid := s.newID("job-")
	s.jobs[jid] = &sgJob{typ: "delete", total: len(ids)}
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": jid})
}

func (s *SendGrid) suppress(w http.ResponseWriter, r *http.Request) {
	b, ok := body(w, r, 1<<20, func(w http.ResponseWriter) { writeJSON(w, http.StatusBadRequest, sgErrors(nil, "too large")) })
	if !ok {
		return
	}
	var req struct {
		RecipientEmails []string `json:"recipient_emails"`
	}
	if err := decodeStrict(b, &req); err != nil || len(req.RecipientEmails) == 0 {
		writeJSON(w, http.StatusBadRequest, sgErrors(nil, "recipient_emails is required"))
		return
	}
	s.mu.Lock()
	for _, e := range req.RecipientEmails {
		s.suppressed[strings.ToLower(e)] = true
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, req)
}

func (s *SendGrid) unsuppress(w http.ResponseWriter, r *http.Request) {
	e := strings.ToLower(r.PathValue("email"))
	s.mu.Lock()
	ok := s.suppressed[e]
	delete(s.suppressed, e)
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, sgErrors(nil, "email not suppressed"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Contacts returns the contacts by email; Subscribed means not on the
// global suppression list.
func (s *SendGrid) Contacts() map[string]Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Contact{}
	for e, c := range s.contacts {
		status := "subscribed"
		if s.suppressed[e] {
			status = "suppressed"
		}
		f := cloneFields(c.fields)
		f["external_id"] = c.external
		out[e] = Contact{Key: e, Email: e, Subscribed: !s.suppressed[e], Status: status, Fields: f}
	}
	return out
}
