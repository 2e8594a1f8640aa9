package esptest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type call struct {
	name   string
	method string
	path   string
	header map[string]string
	body   string
	status int
	frag   string // in the response body
}

func do(t *testing.T, base string, c call) {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, bytes.NewReader([]byte(c.body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != c.status || !strings.Contains(string(b), c.frag) {
		t.Errorf("%s: %d %s, want %d with %q", c.name, resp.StatusCode, b, c.status, c.frag)
	}
}

func members(n int, email func(i int) string) string {
	var b strings.Builder
	b.WriteString(`{"update_existing":true,"members":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"email_address":%q,"status":"subscribed","status_if_new":"subscribed"}`, email(i))
	}
	b.WriteString("]}")
	return b.String()
}

// TestMailchimpIsStrict: what the Marketing API rejects, the server
// rejects, the way the API does.
func TestMailchimpIsStrict(t *testing.T) {
	s := NewMailchimp(Options{APIKey: "k-us1"}, "L1", map[string]string{"FNAME": "text", "BDAY": "birthday"})
	defer s.Close()
	auth := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("any:k-us1"))}
	bad := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("any:nope"))}
	one := `{"update_existing":true,"members":[{"email_address":"a@b.com","status":"subscribed","status_if_new":"subscribed","merge_fields":{"FNAME":"A","BDAY":"02/30"}}]}`
	for _, c := range []call{
		{"wrong key", "POST", "/3.0/lists/L1", bad, one, 401, "API Key Invalid"},
		{"unknown list", "POST", "/3.0/lists/L2", auth, one, 404, "Resource Not Found"},
		{"unknown key in body", "POST", "/3.0/lists/L1", auth, `{"members":[],"upsert":true}`, 400, "JSON Parse Error"},
		{"501 members", "POST", "/3.0/lists/L1", auth, members(501, func(i int) string { return fmt.Sprintf("u%d@x.com", i) }), 400, "up to 500"},
		{"per-item errors in a 200", "POST", "/3.0/lists/L1", auth,
			members(3, func(i int) string { return []string{"ok@x.com", "bad@x.invalid", "ok@x.com"}[i] }), 200, `"error_count":2`},
		{"unknown merge tag", "POST", "/3.0/lists/L1", auth,
			`{"update_existing":true,"members":[{"email_address":"c@b.com","status":"subscribed","status_if_new":"subscribed","merge_fields":{"NOPE":"x"}}]}`,
			200, `"field":"NOPE"`},
		{"erase a member that is not there", "POST", "/3.0/lists/L1/members/" + mcHash("zz@x.com") + "/actions/delete-permanent", auth, "", 404, ""},
	} {
		do(t, s.URL(), c)
	}
	if c, ok := s.Contacts()["ok@x.com"]; !ok || !c.Subscribed {
		t.Errorf("the valid member was not stored: %+v", s.Contacts())
	}
	do(t, s.URL(), call{"erase", "POST", "/3.0/lists/L1/members/" + mcHash("ok@x.com") + "/actions/delete-permanent", auth, "", 204, ""})
	do(t, s.URL(), call{"re-import an erased address", "POST", "/3.0/lists/L1", auth,
		members(1, func(int) string { return "ok@x.com" }), 200, "permanently deleted"})
}

func TestSendGridIsStrict(t *testing.T) {
	s := NewSendGrid(Options{APIKey: "SG.k", JobPolls: 1}, map[string]string{"plan": "Text"})
	defer s.Close()
	auth := map[string]string{"Authorization": "Bearer SG.k"}
	for _, c := range []call{
		{"no key", "PUT", "/v3/marketing/contacts", nil, `{"contacts":[{"email":"a@b.com"}]}`, 401, "authorization required"},
		{"no contacts", "PUT", "/v3/marketing/contacts", auth, `{"contacts":[]}`, 400, "1 to 30000"},
		{"no identifier", "PUT", "/v3/marketing/contacts", auth, `{"contacts":[{"first_name":"A"}]}`, 400, "identifier"},
		{"custom field by name", "PUT", "/v3/marketing/contacts", auth, `{"contacts":[{"email":"a@b.com","custom_fields":{"plan":"x"}}]}`, 400, "custom field does not exist"},
		{"first_name too long", "PUT", "/v3/marketing/contacts", auth, `{"contacts":[{"email":"a@b.com","first_name":"` + strings.Repeat("x", 51) + `"}]}`, 400, "at most 50"},
		{"accepted as a job", "PUT", "/v3/marketing/contacts", auth, `{"contacts":[{"email":"a@b.com"},{"email":"b@x.invalid"}]}`, 202, "job_id"},
		{"job finished with errors", "GET", "/v3/marketing/contacts/imports/job-1", auth, "", 200, `"status":"errored"`},
		{"search for nobody", "POST", "/v3/marketing/contacts/search/emails", auth, `{"emails":["zz@x.com"]}`, 404, ""},
		{"ids too long for the URL", "DELETE", "/v3/marketing/contacts?ids=" + strings.Repeat("a", 8200), auth, "", 414, ""},
	} {
		do(t, s.URL(), c)
	}
	s.Storm429(1)
	req, _ := http.NewRequest("GET", s.URL()+"/v3/marketing/field_definitions", nil)
	req.Header.Set("Authorization", "Bearer SG.k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("X-RateLimit-Reset") == "" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("429: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestKlaviyoIsStrict(t *testing.T) {
	s := NewKlaviyo(Options{APIKey: "pk"}, "L")
	defer s.Close()
	h := map[string]string{"Authorization": "Klaviyo-API-Key pk", "Revision": "2026-07-15", "Content-Type": "application/vnd.api+json"}
	noRev := map[string]string{"Authorization": "Klaviyo-API-Key pk", "Content-Type": "application/vnd.api+json"}
	job := func(profiles string) string {
		return `{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":[` + profiles + `]}}}}`
	}
	for _, c := range []call{
		{"no key", "GET", "/api/profiles?filter=equals(external_id,\"1\")", nil, "", 401, "not_authenticated"},
		{"no revision", "GET", "/api/profiles?filter=equals(external_id,\"1\")", noRev, "", 400, "revision"},
		{"one bad profile fails the job", "POST", "/api/profile-bulk-import-jobs", h,
			job(`{"type":"profile","attributes":{"email":"a@b.com"}},{"type":"profile","attributes":{"email":"x@y.invalid"}}`),
			400, "/data/attributes/profiles/data/1/attributes/email"},
		{"unknown attribute", "POST", "/api/profile-bulk-import-jobs", h,
			job(`{"type":"profile","attributes":{"email":"a@b.com","plan":"x"}}`), 400, "unknown profile attribute"},
		{"unsubscribe of 101", "POST", "/api/profile-subscription-bulk-delete-jobs", h,
			`{"data":{"type":"profile-subscription-bulk-delete-job","attributes":{"profiles":{"data":[` +
				strings.TrimSuffix(strings.Repeat(`{"type":"profile","attributes":{"email":"a@b.com"}},`, 101), ",") +
				`]}},"relationships":{"list":{"data":{"type":"list","id":"L"}}}}}`, 400, "at most 100"},
		{"deletion with two identifiers", "POST", "/api/data-privacy-deletion-jobs", h,
			`{"data":{"type":"data-privacy-deletion-job","attributes":{"profile":{"data":{"type":"profile","attributes":{"email":"a@b.com","id":"x"}}}}}}`,
			400, "exactly one"},
		{"a good job", "POST", "/api/profile-bulk-import-jobs", h,
			job(`{"type":"profile","attributes":{"email":"a@b.com","external_id":"1","phone_number":"555"}}`), 202, `"status":"queued"`},
		{"polled once", "GET", "/api/profile-bulk-import-jobs/job-000001", h, "", 200, `"status":"processing"`},
		{"polled twice", "GET", "/api/profile-bulk-import-jobs/job-000001", h, "", 200, `"failed_count":1`},
		{"its errors", "GET", "/api/profile-bulk-import-jobs/job-000001/import-errors", h, "", 200, "Invalid phone number format"},
	} {
		do(t, s.URL(), c)
	}
	s.Storm429(1)
	req, _ := http.NewRequest("GET", s.URL()+"/api/profiles?filter=equals(external_id,\"1\")", nil)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || resp.Header.Get("RateLimit-Limit") != "" {
		t.Errorf("429: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestBrazeIsStrict(t *testing.T) {
	s := NewBraze(Options{APIKey: "rk"})
	defer s.Close()
	h := map[string]string{"Authorization": "Bearer rk"}
	many := func(n int) string {
		return `{"attributes":[` + strings.TrimSuffix(strings.Repeat(`{"external_id":"1"},`, n), ",") + `]}`
	}
	for _, c := range []call{
		{"no key", "POST", "/users/track", nil, many(1), 401, "Invalid API key"},
		{"76 attributes", "POST", "/users/track", h, many(76), 400, "Max Input Length Exceeded"},
		{"per-item error", "POST", "/users/track", h, `{"attributes":[{"external_id":"1","email":"a@b.com"},{"external_id":"2","email":"nope"}]}`,
			201, `"index":1`},
		{"51 deletes", "POST", "/users/delete", h, `{"external_ids":[` + strings.TrimSuffix(strings.Repeat(`"1",`, 51), ",") + `]}`, 400, "max number"},
		{"two identifier types", "POST", "/users/delete", h, `{"external_ids":["1"],"braze_ids":["x"]}`, 400, "one identifier type"},
	} {
		do(t, s.URL(), c)
	}
	if len(s.Contacts()) != 1 {
		t.Errorf("contacts %+v", s.Contacts())
	}
}

func TestWebhookChecksSignature(t *testing.T) {
	s := NewWebhook(Options{APIKey: "key"})
	defer s.Close()
	body := `{"connector":"c","contacts":[{"profile_id":"1","deleted":false,"subscribed":true}]}`
	ts := fmt.Sprint(time.Now().Unix())
	old := fmt.Sprint(time.Now().Add(-time.Hour).Unix())
	sign := func(key, ts string) string {
		return "t=" + ts + ",v1=" + hmacHex(key, ts+"."+body)
	}
	do(t, s.URL(), call{"unsigned", "POST", "", nil, body, 401, "bad signature"})
	do(t, s.URL(), call{"wrong key", "POST", "", map[string]string{"X-Profiled-Signature": sign("other", ts)}, body, 401, ""})
	do(t, s.URL(), call{"replayed", "POST", "", map[string]string{"X-Profiled-Signature": sign("key", old)}, body, 401, ""})
	do(t, s.URL(), call{"signed", "POST", "", map[string]string{"X-Profiled-Signature": sign("key", ts)}, body, 200, `"errors":[]`})
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
