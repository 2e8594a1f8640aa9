// Package klaviyo is the Klaviyo connector (revisioned API, JSON:API
// bodies): profiles upserted with bulk import jobs (POST
// /api/profile-bulk-import-jobs, at most 10,000 profiles or 5 MB, polled to
// completion, per-profile errors read from import-errors), keyed by
// external_id = profile id; consent given and withdrawn with subscription
// bulk jobs on the configured list; deletes with data-privacy deletion
// jobs.
package klaviyo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/profiled/profiled/connectors/sink"
	"github.com/profiled/profiled/schemas/dictionary"
)

// DefaultURL is Klaviyo's API.
const DefaultURL = "https://a.klaviyo.com"

// The documented maxima of the jobs.
const (
	MaxImport      = 10000
	MaxSubscribe   = 1000
	MaxUnsubscribe = 100
)

// Standard are the profile attributes Klaviyo defines; any other field is a
// custom property. "location.<key>" fields go into the location object.
var Standard = []string{"first_name", "last_name", "phone_number", "organization", "title", "locale", "image"}

// Adapter delivers to one Klaviyo account.
type Adapter struct {
	c    *sink.Client
	base string
	list string
	// header returns the request headers, credentials included; a closure,
	// so that printing the adapter cannot show the key.
	header func() http.Header
	poll   time.Duration
	limits sink.Limits
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
	rev := cfg.Revision
	if rev == "" {
		rev = dictionary.DefaultKlaviyoRevision
	}
	h := http.Header{}
	h.Set("Authorization", "Klaviyo-API-Key "+key)
	h.Set("Revision", rev)
	h.Set("Content-Type", "application/vnd.api+json")
	h.Set("Accept", "application/vnd.api+json")
	// RudderStack keeps 400 KB of headroom under the 5 MB cap.
	return &Adapter{c: c, base: strings.TrimRight(base, "/"), list: cfg.ListID, header: func() http.Header { return h.Clone() }, poll: poll,
		limits: sink.LimitsFor(cfg, MaxImport, 4_600_000)}, nil
}

// Limits implements sink.Adapter.
func (a *Adapter) Limits() sink.Limits { return a.limits }

// Send implements sink.Adapter.
func (a *Adapter) Send(ctx context.Context, batch []*sink.Change) ([]sink.Failure, error) {
	ups, dels := sink.SplitDeleted(batch)
	var fails []sink.Failure
	if len(ups) > 0 {
		f, err := a.importProfiles(ctx, ups, true)
		if err != nil {
			return nil, err
		}
		fails = append(fails, f...)
		if err := a.consent(ctx, ups, f); err != nil {
			return nil, err
		}
	}
	for _, c := range dels {
		f, err := a.erase(ctx, c)
		if err != nil {
			return nil, err
		}
		fails = append(fails, f...)
	}
	return fails, nil
}

func isStandard(name string) bool {
	for _, s := range Standard {
		if s == name {
			return true
		}
	}
	return false
}

func profile(c *sink.Change) map[string]any {
	attrs := map[string]any{"external_id": c.ProfileID}
	if c.Email != "" {
		attrs["email"] = c.Email
	}
	props := map[string]any{}
	loc := map[string]any{}
	for _, f := range c.SendFields(true) {
		switch {
		case isStandard(f.Name):
			if f.Value == nil {
				attrs[f.Name] = nil
			} else {
				attrs[f.Name] = sink.Text(f.Value)
			}
		case strings.HasPrefix(f.Name, "location."):
			loc[strings.TrimPrefix(f.Name, "location.")] = f.Value
		default:
			props[f.Name] = f.Value // null clears the property
		}
	}
	if len(props) > 0 {
		attrs["properties"] = props
	}
	if len(loc) > 0 {
		attrs["location"] = loc
	}
	return map[string]any{"type": "profile", "attributes": attrs}
}

var pointerRE = regexp.MustCompile(`^/data/attributes/profiles/data/(\d+)(/|$)`)

// importProfiles runs bulk import jobs over ups. Klaviyo validates a job
// all-or-nothing: a 400 points at the bad profiles, which go to the dead
// letters, and the rest is imported again (once: a second 400 fails it).
func (a *Adapter) importProfiles(ctx context.Context, ups []*sink.Change, retry400 bool) ([]sink.Failure, error) {
	type item struct {
		c    *sink.Change
		body []byte
	}
	items := make([]item, len(ups))
	for i, c := range ups {
		b, err := json.Marshal(profile(c))
		if err != nil {
			return nil, fmt.Errorf("encoding profile: %w", err)
		}
		items[i] = item{c, b}
	}
	var fails []sink.Failure
	for _, chunk := range sink.Chunk(items, a.limits.MaxItems, a.limits.MaxBytes-1024, func(it item) int { return len(it.body) + 1 }) {
		body := []byte(`{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":[`)
		byExt := map[string]*sink.Change{}
		cs := make([]*sink.Change, len(chunk))
		for i, it := range chunk {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, it.body...)
			byExt[it.c.ProfileID] = it.c
			cs[i] = it.c
		}
		body = append(body, `]}}}}`...)
		resp, err := a.c.Do(ctx, sink.Request{Op: "bulk_import", Method: http.MethodPost,
			URL: a.base + "/api/profile-bulk-import-jobs", Header: a.header(), Body: body})
		var he *sink.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusBadRequest {
			bad, reasons := pointed(he.Body, len(cs))
			if len(bad) == 0 || !retry400 {
				fails = append(fails, sink.FailAll(cs, string(he.Body))...)
				continue
			}
			var rest []*sink.Change
			for i, c := range cs {
				if bad[i] {
					fails = append(fails, sink.Failure{Change: c, Reason: reasons[i]})
				} else {
					rest = append(rest, c)
				}
			}
			if len(rest) > 0 {
				f, err := a.importProfiles(ctx, rest, false)
				if err != nil {
					return nil, err
				}
				fails = append(fails, f...)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		var job struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(resp.Body, &job); err != nil || job.Data.ID == "" {
			return nil, fmt.Errorf("bulk_import: no job id in the response")
		}
		f, err := a.wait(ctx, job.Data.ID, byExt)
		if err != nil {
			return nil, err
		}
		fails = append(fails, f...)
	}
	return fails, nil
}

// pointed reads a JSON:API error document and returns the profiles its
// errors point at, with their reasons.
func pointed(body []byte, n int) (map[int]bool, map[int]string) {
	var doc struct {
		Errors []struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
			Source struct {
				Pointer string `json:"pointer"`
			} `json:"source"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(body, &doc)
	bad, reasons := map[int]bool{}, map[int]string{}
	for _, e := range doc.Errors {
		m := pointerRE.FindStringSubmatch(e.Source.Pointer)
		if m == nil {
			return nil, nil // an error about the request itself
		}
		i, err := strconv.Atoi(m[1])
		if err != nil || i >= n {
			return nil, nil
		}
		bad[i] = true
		reasons[i] = strings.TrimSpace(reasons[i] + " " + e.Code + ": " + e.Detail + " (" + e.Source.Pointer + ")")
	}
	return bad, reasons
}

// wait polls an import job to its end and returns the profiles it failed.
func (a *Adapter) wait(ctx context.Context, id string, byExt map[string]*sink.Change) ([]sink.Failure, error) {
	for {
		resp, err := a.c.Do(ctx, sink.Request{Op: "job_status", Method: http.MethodGet,
			URL: a.base + "/api/profile-bulk-import-jobs/" + url.PathEscape(id), Header: a.header()})
		if err != nil {
			return nil, err
		}
		var job struct {
			Data struct {
				Attributes struct {
					Status      string `json:"status"`
					FailedCount int    `json:"failed_count"`
				} `json:"attributes"`
			} `json:"data"`
		}
		if err := json.Unmarshal(resp.Body, &job); err != nil {
			return nil, fmt.Errorf("job_status: decoding the response: %w", err)
		}
		switch job.Data.Attributes.Status {
		case "complete":
			if job.Data.Attributes.FailedCount == 0 {
				return nil, nil
			}
			return a.importErrors(ctx, id, byExt)
		case "cancelled":
			// Not done: the batch is retried whole.
			return nil, fmt.Errorf("bulk import job %s was cancelled", id)
		}
		if err := waitFor(ctx, a.poll); err != nil {
			return nil, fmt.Errorf("waiting for job %s: %w", id, err)
		}
	}
}

func waitFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// importErrors reads a job's per-profile errors, following the pages.
func (a *Adapter) importErrors(ctx context.Context, id string, byExt map[string]*sink.Change) ([]sink.Failure, error) {
	var fails []sink.Failure
	next := a.base + "/api/profile-bulk-import-jobs/" + url.PathEscape(id) + "/import-errors"
	for next != "" {
		resp, err := a.c.Do(ctx, sink.Request{Op: "import_errors", Method: http.MethodGet, URL: next, Header: a.header()})
		if err != nil {
			return nil, err
		}
		var page struct {
			Data []struct {
				Attributes struct {
					Code            string `json:"code"`
					Title           string `json:"title"`
					Detail          string `json:"detail"`
					OriginalPayload struct {
						ExternalID string `json:"external_id"`
					} `json:"original_payload"`
				} `json:"attributes"`
			} `json:"data"`
			Links struct {
				Next string `json:"next"`
			} `json:"links"`
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return nil, fmt.Errorf("import_errors: decoding the response: %w", err)
		}
		for _, e := range page.Data {
			if c := byExt[e.Attributes.OriginalPayload.ExternalID]; c != nil {
				fails = append(fails, sink.Failure{Change: c, Reason: e.Attributes.Code + ": " + e.Attributes.Detail})
			}
		}
		next = page.Links.Next
	}
	return fails, nil
}

// consent subscribes the profiles that have consent (every time it may
// have become true: it changed, or the contact is new to this address) and
// unsubscribes those that withdrew it. Both jobs answer 202 without a job
// to poll.
func (a *Adapter) consent(ctx context.Context, ups []*sink.Change, failed []sink.Failure) error {
	skip := map[*sink.Change]bool{}
	for _, f := range failed {
		skip[f.Change] = true
	}
	var sub, unsub []*sink.Change
	for _, c := range ups {
		if skip[c] || !(c.ConsentChanged || c.Full) {
			continue
		}
		switch {
		case c.Subscribed && c.Email != "":
			sub = append(sub, c)
		case !c.Subscribed && (c.Email != "" || c.PrevEmail != ""):
			unsub = append(unsub, c)
		}
	}
	for _, job := range []struct {
		cs      []*sink.Change
		max     int
		typ, op string
		consent string
	}{
		{sub, MaxSubscribe, "profile-subscription-bulk-create-job", "subscribe", "SUBSCRIBED"},
		{unsub, MaxUnsubscribe, "profile-subscription-bulk-delete-job", "unsubscribe", "UNSUBSCRIBED"},
	} {
		for _, chunk := range sink.Chunk(job.cs, job.max, 1<<20, func(*sink.Change) int { return 200 }) {
			profiles := make([]any, len(chunk))
			for i, c := range chunk {
				email := c.Email
				if email == "" {
					email = c.PrevEmail // the address was removed with the consent
				}
				profiles[i] = map[string]any{"type": "profile", "attributes": map[string]any{
					"email": email,
					"subscriptions": map[string]any{"email": map[string]any{"marketing": map[string]any{
						"consent": job.consent}}},
				}}
			}
			body, err := json.Marshal(map[string]any{"data": map[string]any{
				"type":          job.typ,
				"attributes":    map[string]any{"custom_source": "profiled", "profiles": map[string]any{"data": profiles}},
				"relationships": map[string]any{"list": map[string]any{"data": map[string]any{"type": "list", "id": a.list}}},
			}})
			if err != nil {
				return fmt.Errorf("encoding %s job: %w", job.op, err)
			}
			path := "/api/profile-subscription-bulk-create-jobs"
			if job.op == "unsubscribe" {
				path = "/api/profile-subscription-bulk-delete-jobs"
			}
			if _, err := a.c.Do(ctx, sink.Request{Op: job.op, Method: http.MethodPost, URL: a.base + path,
				Header: a.header(), Body: body}); err != nil {
				return err
			}
		}
	}
	return nil
}

// erase requests the deletion of a profile by Klaviyo's id, looked up by
// external_id (the profile id): the email the sink last saw may not be the
// one Klaviyo holds. A profile that is not found is already gone.
func (a *Adapter) erase(ctx context.Context, c *sink.Change) ([]sink.Failure, error) {
	filter := `equals(external_id,"` + strings.ReplaceAll(c.ProfileID, `"`, `\"`) + `")`
	resp, err := a.c.Do(ctx, sink.Request{Op: "profile_lookup", Method: http.MethodGet,
		URL: a.base + "/api/profiles?filter=" + url.QueryEscape(filter), Header: a.header()})
	if err != nil {
		return nil, err
	}
	var found struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &found); err != nil {
		return nil, fmt.Errorf("profile_lookup: decoding the response: %w", err)
	}
	if len(found.Data) == 0 {
		return nil, nil
	}
	ident := map[string]any{"id": found.Data[0].ID}
	body, err := json.Marshal(map[string]any{"data": map[string]any{
		"type": "data-privacy-deletion-job",
		"attributes": map[string]any{"profile": map[string]any{"data": map[string]any{
			"type": "profile", "attributes": ident}}},
	}})
	if err != nil {
		return nil, fmt.Errorf("encoding deletion job: %w", err)
	}
	_, err = a.c.Do(ctx, sink.Request{Op: "delete", Method: http.MethodPost,
		URL: a.base + "/api/data-privacy-deletion-jobs", Header: a.header(), Body: body})
	var he *sink.HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusNotFound:
		return nil, nil
	case errors.As(err, &he):
		return []sink.Failure{{Change: c, Reason: string(he.Body)}}, nil
	case err != nil:
		return nil, err
	}
	return nil, nil
}
