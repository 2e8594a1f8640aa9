package esptest

import (
	"crypto/md5" //nolint:gosec // Mailchimp's subscriber hash is MD5
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"time"
)

// Mailchimp is a Marketing API v3 server for one audience. Its base URL for
// the connector is URL()+"/3.0".
type Mailchimp struct {
	*core
	list   string
	fields map[string]string // merge tag -> type: text, number, date, birthday, phone
	// members by subscriber hash; erased hashes may not come back.
	members map[string]*mcMember
	erased  map[string]bool
}

type mcMember struct {
	email  string
	status string
	merge  map[string]any
}

// MaxConnections is Mailchimp's limit of simultaneous connections per key.
const MaxConnections = 10

// NewMailchimp starts a server for audience list with the given merge
// fields (tag -> text, number, date, birthday or phone).
func NewMailchimp(o Options, list string, mergeFields map[string]string) *Mailchimp {
	m := &Mailchimp{list: list, fields: mergeFields, members: map[string]*mcMember{}, erased: map[string]bool{}}
	m.core = newCore(o, func(w http.ResponseWriter, _ time.Duration) {
		// No Retry-After or rate headers are documented for Mailchimp.
		mcProblem(w, http.StatusTooManyRequests, "Too Many Requests",
			"You have exceeded the limit of 10 simultaneous connections.", nil)
	}, func(w http.ResponseWriter) {
		mcProblem(w, http.StatusServiceUnavailable, "Service Unavailable", "Please try again later.", nil)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /3.0/lists/{list}", m.serve("POST /lists/{id}", m.auth, m.batch))
	mux.HandleFunc("POST /3.0/lists/{list}/members/{hash}/actions/delete-permanent",
		m.serve("POST delete-permanent", m.auth, m.deletePermanent))
	mux.HandleFunc("/", m.serve("other", m.auth, func(w http.ResponseWriter, _ *http.Request) {
		mcProblem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.", nil)
	}))
	m.srv = httptest.NewServer(mux)
	return m
}

func mcProblem(w http.ResponseWriter, status int, title, detail string, errs []map[string]string) {
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	body := map[string]any{"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title,
		"status": status, "detail": detail, "instance": "esptest"}
	if errs != nil {
		body["errors"] = errs
	}
	writeJSONRaw(w, status, body)
}

func writeJSONRaw(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	b, _ := jsonMarshal(v)
	_, _ = w.Write(b)
}

// auth checks HTTP Basic with any user and the key as password, and the
// 10-connection limit (a 429 beyond it).
func (m *Mailchimp) auth(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
	_, pw, ok := strings.Cut(string(raw), ":")
	if !strings.HasPrefix(h, "Basic ") || err != nil || !ok || pw != m.opts.APIKey {
		mcProblem(w, http.StatusUnauthorized, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter.", nil)
		return false
	}
	m.mu.Lock()
	over := m.inflight > MaxConnections
	if over {
		m.stats.Throttled++
	}
	m.mu.Unlock()
	if over {
		mcProblem(w, http.StatusTooManyRequests, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections.", nil)
		return false
	}
	return true
}

func mcHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(email))) //nolint:gosec // see the import
	return hex.EncodeToString(sum[:])
}

var (
	mcDateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	mcBirthdayRE = regexp.MustCompile(`^(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])$`)
	mcNumberRE   = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
)

func (m *Mailchimp) batch(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("list") != m.list {
		mcProblem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.", nil)
		return
	}
	b, ok := body(w, r, 10<<20, func(w http.ResponseWriter) {
		mcProblem(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large", "The request body is too large.", nil)
	})
	if !ok {
		return
	}
	var req struct {
		Members []struct {
			EmailAddress string            `json:"email_address"`
			Status       string            `json:"status"`
			StatusIfNew  string            `json:"status_if_new"`
			MergeFields  map[string]string `json:"merge_fields"`
		} `json:"members"`
		UpdateExisting bool `json:"update_existing"`
	}
	if err := decodeStrict(b, &req); err != nil {
		mcProblem(w, http.StatusBadRequest, "JSON Parse Error", err.Error(), nil)
		return
	}
	if len(req.Members) > 500 {
		mcProblem(w, http.StatusBadRequest, "Invalid Resource", "You may only add or update up to 500 members per call.", nil)
		return
	}
	skipMerge := r.URL.Query().Get("skip_merge_validation") == "true"
	m.count(len(req.Members))
	type itemErr = map[string]any
	var errs []itemErr
	var created, updated []map[string]any
	seen := map[string]bool{}
	statuses := map[string]bool{"subscribed": true, "unsubscribed": true, "cleaned": true, "pending": true, "transactional": true}
	for _, mem := range req.Members {
		email := strings.ToLower(strings.TrimSpace(mem.EmailAddress))
		fail := func(code, msg, field, fieldMsg string) {
			errs = append(errs, itemErr{"email_address": mem.EmailAddress, "error": msg, "error_code": code,
				"field": field, "field_message": fieldMsg})
		}
		h := mcHash(email)
		switch {
		case !ValidEmail(email):
			fail("ERROR_GENERIC", mem.EmailAddress+" looks fake or invalid, please enter a real email address.", "email_address", "invalid")
			continue
		case seen[h]:
			fail("ERROR_GENERIC", mem.EmailAddress+" is in the request more than once.", "email_address", "duplicate")
			continue
		case m.erased[h]:
			fail("ERROR_GENERIC", mem.EmailAddress+" was permanently deleted and cannot be re-imported.", "email_address", "deleted")
			continue
		case mem.Status != "" && !statuses[mem.Status], mem.StatusIfNew != "" && !statuses[mem.StatusIfNew]:
			fail("ERROR_GENERIC", "Invalid status.", "status", "invalid")
			continue
		}
		seen[h] = true
		if bad := m.checkMerge(mem.MergeFields, skipMerge); bad != "" {
			fail("ERROR_GENERIC", "Your merge fields were invalid.", bad, "Please enter a valid value")
			continue
		}
		m.mu.Lock()
		cur, exists := m.members[h]
		m.mu.Unlock()
		switch {
		case exists && !req.UpdateExisting:
			fail("ERROR_CONTACT_EXISTS", mem.EmailAddress+" is already a list member.", "email_address", "exists")
			continue
		case !exists && mem.StatusIfNew == "" && mem.Status == "":
			fail("ERROR_GENERIC", "status_if_new is required for new members.", "status_if_new", "required")
			continue
		}
		merge := map[string]any{}
		if exists {
			merge = cloneFields(cur.merge)
		}
		for k, v := range mem.MergeFields {
			merge[k] = v
		}
		status := mem.Status
		if status == "" {
			if exists {
				status = cur.status
			} else {
				status = mem.StatusIfNew
			}
		} else if !exists && mem.StatusIfNew != "" {
			status = mem.StatusIfNew
		}
		m.version(h, merge)
		m.mu.Lock()
		m.members[h] = &mcMember{email: email, status: status, merge: merge}
		m.mu.Unlock()
		out := map[string]any{"id": h, "email_address": email, "status": status}
		if exists {
			updated = append(updated, out)
		} else {
			created = append(created, out)
		}
	}
	writeJSONRaw(w, http.StatusOK, map[string]any{
		"new_members": nonNil(created), "updated_members": nonNil(updated), "errors": nonNil(errs),
		"total_created": len(created), "total_updated": len(updated), "error_count": len(errs), "_links": []any{},
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// checkMerge returns the first merge tag that is unknown or whose value
// does not fit its type ("" when all are fine). An empty value clears.
func (m *Mailchimp) checkMerge(fields map[string]string, skip bool) string {
	for tag, v := range fields {
		typ, ok := m.fields[tag]
		if !ok {
			if skip {
				continue
			}
			return tag
		}
		if v == "" {
			continue
		}
		switch typ {
		case "number":
			ok = mcNumberRE.MatchString(v)
		case "date":
			ok = mcDateRE.MatchString(v)
		case "birthday":
			ok = mcBirthdayRE.MatchString(v)
		case "phone":
			ok = strings.HasPrefix(v, "+")
		}
		if !ok || len(v) > 255 {
			return tag
		}
	}
	return ""
}

func (m *Mailchimp) deletePermanent(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("list") != m.list {
		mcProblem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.", nil)
		return
	}
	h := r.PathValue("hash")
	m.mu.Lock()
	_, ok := m.members[h]
	delete(m.members, h)
	if ok {
		m.erased[h] = true
	}
	m.mu.Unlock()
	if !ok {
		mcProblem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.", nil)
		return
	}
	m.resetVersion(h)
	w.WriteHeader(http.StatusNoContent)
}

// Contacts returns the audience's members by email.
func (m *Mailchimp) Contacts() map[string]Contact {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Contact{}
	for _, mem := range m.members {
		out[mem.email] = Contact{Key: mem.email, Email: mem.email, Status: mem.status,
			Subscribed: mem.status == "subscribed", Fields: cloneFields(mem.merge)}
	}
	return out
}

// Erased reports whether an address was permanently deleted.
func (m *Mailchimp) Erased(email string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.erased[mcHash(email)]
}
