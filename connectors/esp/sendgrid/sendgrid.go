// Package sendgrid is the Twilio SendGrid Marketing Campaigns connector:
// contacts upserted with the asynchronous PUT /v3/marketing/contacts job
// (keyed by the lower-cased email, with the profile id as external_id;
// custom fields referenced by id, looked up by name once), consent kept
// with the global suppression list (there is no consent field on a
// contact), deletes through search/emails and the DELETE job. Jobs are
// polled to their end and their per-contact errors read before the batch
// counts as delivered.
package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/profiled/profiled/connectors/sink"
	"github.com/profiled/profiled/schemas/dictionary"
)

// DefaultURL is SendGrid's API.
const DefaultURL = "https://api.sendgrid.com"

// Reserved are the contact fields sent by name rather than as custom fields.
var Reserved = []string{"first_name", "last_name", "address_line_1", "address_line_2", "city",
	"state_province_region", "postal_code", "country"}

// Adapter delivers to one SendGrid account.
type Adapter struct {
	c     *sink.Client
	base  string
	lists []string
	// header returns the request headers, credentials included; a closure,
	// so that printing the adapter cannot show the key.
	header func() http.Header
	poll   time.Duration
	limits sink.Limits

	once     sync.Mutex
	fieldIDs map[string]string // custom field name -> id
}

// New builds the adapter; the API key is read now.
func New(cfg *dictionary.Sink, c *sink.Client, poll time.Duration) (*Adapter, error) {
	key, err := cfg.APIKey.Reveal()
	if err != nil {
		return nil, fmt.Errorf("api_key (%s): %w", cfg.APIKey, err)
	}
	base := cfg.URL
	if base == "" {
		base = DefaultURL
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+key)
	h.Set("Content-Type", "application/json")
	lim, _ := dictionary.LimitsOf(dictionary.SinkSendGrid)
	return &Adapter{c: c, base: strings.TrimRight(base, "/"), lists: cfg.ListIDs, header: func() http.Header { return h.Clone() }, poll: poll,
		limits: sink.LimitsFor(cfg, lim.MaxItems, lim.MaxBytes)}, nil
}

// Limits implements sink.Adapter.
func (a *Adapter) Limits() sink.Limits { return a.limits }

// Send implements sink.Adapter.
func (a *Adapter) Send(ctx context.Context, batch []*sink.Change) ([]sink.Failure, error) {
	if err := a.loadFields(ctx, batch); err != nil {
		return nil, err
	}
	var fails []sink.Failure
	var ups, dels, moved []*sink.Change
	for _, c := range batch {
		switch {
		case c.Deleted && c.Email == "":
			fails = append(fails, sink.Failure{Change: c, Reason: "cannot delete the SendGrid contact: the deleted profile's email " +
				"was not seen by this sink instance; delete it by hand"})
		case c.Deleted:
			dels = append(dels, c)
		case c.Email != "":
			ups = append(ups, c)
		case c.PrevEmail != "":
			moved = append(moved, c) // the address was removed
		}
	}
	var f []sink.Failure
	if len(ups) > 0 {
		var err error
		if f, err = a.upsert(ctx, ups); err != nil {
			return nil, err
		}
		fails = append(fails, f...)
	}
	if err := a.consent(ctx, append(ups, moved...), f); err != nil {
		return nil, err
	}
	if len(dels) > 0 {
		if err := a.remove(ctx, dels); err != nil {
			return nil, err
		}
	}
	return fails, nil
}

// loadFields reads the custom field definitions once, so that contacts can
// name custom fields by id as the API wants.
func (a *Adapter) loadFields(ctx context.Context, batch []*sink.Change) error {
	a.once.Lock()
	defer a.once.Unlock()
	if a.fieldIDs != nil {
		return nil
	}
	resp, err := a.c.Do(ctx, sink.Request{Op: "field_definitions", Method: http.MethodGet,
		URL: a.base + "/v3/marketing/field_definitions", Header: a.header()})
	if err != nil {
		return err
	}
	var defs struct {
		CustomFields []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"custom_fields"`
	}
	if err := json.Unmarshal(resp.Body, &defs); err != nil {
		return fmt.Errorf("field_definitions: decoding the response: %w", err)
	}
	ids := map[string]string{}
	for _, f := range defs.CustomFields {
		ids[strings.ToLower(f.Name)] = f.ID
	}
	// Every upsert carries the same fields, in configuration order.
	i := slices.IndexFunc(batch, func(c *sink.Change) bool { return !c.Deleted })
	if i < 0 {
		return nil // checked with the first upsert
	}
	for _, f := range batch[i].Fields {
		if !isReserved(f.Name) && ids[strings.ToLower(f.Name)] == "" {
			return sink.Fatal(fmt.Errorf("field %q is neither a reserved field nor a custom field of the account; "+
				"create it in SendGrid (Marketing > Custom Fields) or fix the mapping", f.Name))
		}
	}
	a.fieldIDs = ids
	return nil
}

func isReserved(name string) bool {
	for _, r := range Reserved {
		if r == name {
			return true
		}
	}
	return false
}

func (a *Adapter) contact(c *sink.Change) map[string]any {
	ct := map[string]any{"email": c.Email, "external_id": c.ProfileID}
	custom := map[string]any{}
	for _, f := range c.SendFields(true) {
		v := f.Value
		if v == nil {
			v = "" // the API clears a field with an empty value
		}
		if isReserved(f.Name) {
			ct[f.Name] = sink.Text(v)
		} else {
			custom[a.fieldIDs[strings.ToLower(f.Name)]] = v
		}
	}
	if len(custom) > 0 {
		ct["custom_fields"] = custom
	}
	return ct
}

func (a *Adapter) upsert(ctx context.Context, ups []*sink.Change) ([]sink.Failure, error) {
	type item struct {
		c    *sink.Change
		body []byte
	}
	items := make([]item, len(ups))
	for i, c := range ups {
		b, err := json.Marshal(a.contact(c))
		if err != nil {
			return nil, fmt.Errorf("encoding contact: %w", err)
		}
		items[i] = item{c, b}
	}
	var fails []sink.Failure
	for _, chunk := range sink.Chunk(items, a.limits.MaxItems, a.limits.MaxBytes-1024, func(it item) int { return len(it.body) + 1 }) {
		var body []byte
		body = append(body, `{"list_ids":`...)
		lists := a.lists
		if lists == nil {
			lists = []string{}
		}
		lb, _ := json.Marshal(lists)
		body = append(body, lb...)
		body = append(body, `,"contacts":[`...)
		byEmail := map[string]*sink.Change{}
		for i, it := range chunk {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, it.body...)
			byEmail[it.c.Email] = it.c
		}
		body = append(body, "]}"...)
		resp, err := a.c.Do(ctx, sink.Request{Op: "contacts_upsert", Method: http.MethodPut,
			URL: a.base + "/v3/marketing/contacts", Header: a.header(), Body: body})
		var he *sink.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusBadRequest {
			f, rerr := a.badRequest(ctx, chunk2changes(chunk, func(it item) *sink.Change { return it.c }), he)
			if rerr != nil {
				return nil, rerr
			}
			fails = append(fails, f...)
			continue
		}
		if err != nil {
			return nil, err
		}
		var job struct {
			JobID string `json:"job_id"`
		}
		if err := json.Unmarshal(resp.Body, &job); err != nil || job.JobID == "" {
			return nil, fmt.Errorf("contacts_upsert: no job_id in the response (%d bytes)", len(resp.Body))
		}
		f, err := a.wait(ctx, job.JobID, byEmail)
		if err != nil {
			return nil, err
		}
		fails = append(fails, f...)
	}
	return fails, nil
}

func chunk2changes[T any](items []T, c func(T) *sink.Change) []*sink.Change {
	out := make([]*sink.Change, len(items))
	for i, it := range items {
		out[i] = c(it)
	}
	return out
}

// badRequest handles a 400 on an upsert: validation errors name the
// contacts (field "contacts[3].email"); those go to the dead letters and
// the rest is sent again. An error that names no contact fails the chunk.
func (a *Adapter) badRequest(ctx context.Context, cs []*sink.Change, he *sink.HTTPError) ([]sink.Failure, error) {
	var body struct {
		Errors []struct {
			Field   *string `json:"field"`
			Message string  `json:"message"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(he.Body, &body)
	bad := map[int]string{}
	for _, e := range body.Errors {
		var i int
		if e.Field != nil {
			if _, err := fmt.Sscanf(*e.Field, "contacts[%d]", &i); err == nil && i >= 0 && i < len(cs) {
				bad[i] += e.Message + "; "
				continue
			}
		}
		return sink.FailAll(cs, string(he.Body)), nil
	}
	if len(bad) == 0 {
		return sink.FailAll(cs, string(he.Body)), nil
	}
	var fails []sink.Failure
	var rest []*sink.Change
	for i, c := range cs {
		if r, ok := bad[i]; ok {
			fails = append(fails, sink.Failure{Change: c, Reason: strings.TrimSuffix(r, "; ")})
		} else {
			rest = append(rest, c)
		}
	}
	if len(rest) > 0 {
		f, err := a.upsert(ctx, rest)
		if err != nil {
			return nil, err
		}
		fails = append(fails, f...)
	}
	return fails, nil
}

type jobStatus struct {
	Status  string `json:"status"`
	Results struct {
		ErroredCount int    `json:"errored_count"`
		ErrorsURL    string `json:"errors_url"`
	} `json:"results"`
}

// wait polls a job until it is no longer pending and returns the contacts
// it rejected.
func (a *Adapter) wait(ctx context.Context, id string, byEmail map[string]*sink.Change) ([]sink.Failure, error) {
	for {
		resp, err := a.c.Do(ctx, sink.Request{Op: "job_status", Method: http.MethodGet,
			URL: a.base + "/v3/marketing/contacts/imports/" + url.PathEscape(id), Header: a.header()})
		if err != nil {
			return nil, err
		}
		var st jobStatus
		if err := json.Unmarshal(resp.Body, &st); err != nil {
			return nil, fmt.Errorf("job_status: decoding the response: %w", err)
		}
		switch st.Status {
		case "completed":
			return nil, nil
		case "errored", "failed":
			return a.jobErrors(ctx, st, byEmail)
		}
		t := time.NewTimer(a.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for job %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// jobErrors reads a finished job's errors file: a JSON list of
// {"email", "error"} (the real API's file format is not documented in
// esp-apis.md; this is the test server's).
func (a *Adapter) jobErrors(ctx context.Context, st jobStatus, byEmail map[string]*sink.Change) ([]sink.Failure, error) {
	if st.Results.ErrorsURL == "" {
		// Nothing to attribute: the whole job failed.
		cs := make([]*sink.Change, 0, len(byEmail))
		for _, c := range byEmail {
			cs = append(cs, c)
		}
		return sink.FailAll(cs, "SendGrid job "+st.Status+" without an errors file"), nil
	}
	resp, err := a.c.Do(ctx, sink.Request{Op: "job_errors", Method: http.MethodGet, URL: st.Results.ErrorsURL, Header: a.header()})
	if err != nil {
		return nil, err
	}
	var errs []struct {
		Email string `json:"email"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(resp.Body, &errs); err != nil {
		return nil, fmt.Errorf("job_errors: decoding the errors file: %w", err)
	}
	var fails []sink.Failure
	for _, e := range errs {
		if c := byEmail[strings.ToLower(e.Email)]; c != nil {
			fails = append(fails, sink.Failure{Change: c, Reason: e.Error})
		}
	}
	return fails, nil
}

// consent puts contacts without consent on the global suppression list
// (every time: a new contact must not be mailable) and takes those whose
// consent was just given off it.
func (a *Adapter) consent(ctx context.Context, ups []*sink.Change, failed []sink.Failure) error {
	skip := map[*sink.Change]bool{}
	for _, f := range failed {
		skip[f.Change] = true
	}
	var suppress []string
	for _, c := range ups {
		if skip[c] {
			continue
		}
		if c.PrevEmail != "" {
			suppress = append(suppress, c.PrevEmail)
		}
		switch {
		case c.Email == "":
		case !c.Subscribed:
			suppress = append(suppress, c.Email)
		case c.Resubscribed:
			// Only a profile this sink saw without consent can be on the
			// list: there is no bulk removal, one call per address.
			_, err := a.c.Do(ctx, sink.Request{Op: "unsuppress", Method: http.MethodDelete,
				URL: a.base + "/v3/asm/suppressions/global/" + url.PathEscape(c.Email), Header: a.header()})
			var he *sink.HTTPError
			if err != nil && !(errors.As(err, &he) && he.Status == http.StatusNotFound) {
				return err
			}
		}
	}
	for _, chunk := range sink.Chunk(suppress, 1000, 1<<20, func(s string) int { return len(s) + 3 }) {
		body, _ := json.Marshal(map[string][]string{"recipient_emails": chunk})
		if _, err := a.c.Do(ctx, sink.Request{Op: "suppress", Method: http.MethodPost,
			URL: a.base + "/v3/asm/suppressions/global", Header: a.header(), Body: body}); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes contacts: their ids come from search/emails (at most 100
// addresses a call), then the DELETE job, polled to its end. Contacts that
// are not found are already gone.
func (a *Adapter) remove(ctx context.Context, dels []*sink.Change) error {
	emails := make([]string, len(dels))
	for i, c := range dels {
		emails[i] = c.Email
	}
	var ids []string
	for _, chunk := range sink.Chunk(emails, 100, 1<<20, func(s string) int { return len(s) + 3 }) {
		body, _ := json.Marshal(map[string][]string{"emails": chunk})
		resp, err := a.c.Do(ctx, sink.Request{Op: "search_emails", Method: http.MethodPost,
			URL: a.base + "/v3/marketing/contacts/search/emails", Header: a.header(), Body: body})
		var he *sink.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusNotFound {
			continue
		}
		if err != nil {
			return err
		}
		var res struct {
			Result map[string]struct {
				Contact *struct {
					ID string `json:"id"`
				} `json:"contact"`
			} `json:"result"`
		}
		if err := json.Unmarshal(resp.Body, &res); err != nil {
			return fmt.Errorf("search_emails: decoding the response: %w", err)
		}
		for _, r := range res.Result {
			if r.Contact != nil {
				ids = append(ids, r.Contact.ID)
			}
		}
	}
	// The id list goes into the URL, which nginx cuts at about 8 KB.
	for _, chunk := range sink.Chunk(ids, 100, 7000, func(s string) int { return len(s) + 1 }) {
		resp, err := a.c.Do(ctx, sink.Request{Op: "contacts_delete", Method: http.MethodDelete,
			URL: a.base + "/v3/marketing/contacts?ids=" + url.QueryEscape(strings.Join(chunk, ",")), Header: a.header()})
		if err != nil {
			return err
		}
		var job struct {
			JobID string `json:"job_id"`
		}
		if err := json.Unmarshal(resp.Body, &job); err != nil || job.JobID == "" {
			return fmt.Errorf("contacts_delete: no job_id in the response")
		}
		if _, err := a.wait(ctx, job.JobID, nil); err != nil {
			return err
		}
	}
	return nil
}
