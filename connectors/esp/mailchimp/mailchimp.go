// Package mailchimp is the Mailchimp Marketing API v3 connector: members of
// one audience, keyed by the MD5 of the lower-cased email, upserted with the
// synchronous batch endpoint POST /lists/{id} (at most 500 members, per-item
// errors in a 200 response), erased with actions/delete-permanent.
// Mailchimp allows 10 concurrent connections per API key.
package mailchimp

import (
	"context"
	"crypto/md5" //nolint:gosec // Mailchimp's subscriber hash is defined as MD5
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/profiled/profiled/connectors/sink"
	"github.com/profiled/profiled/schemas/dictionary"
)

// MaxMembers is the most members one batch request may carry.
const MaxMembers = 500

// Adapter delivers to one Mailchimp audience.
type Adapter struct {
	c    *sink.Client
	base string // .../3.0
	list string
	// header returns the request headers, credentials included; a closure,
	// so that printing the adapter cannot show the key.
	header func() http.Header
	limits sink.Limits
}

// New builds the adapter; the API key is read now.
func New(cfg *dictionary.Sink, c *sink.Client) (*Adapter, error) {
	key, err := cfg.APIKey.Reveal()
	if err != nil {
		return nil, fmt.Errorf("api_key (%s): %w", cfg.APIKey, err)
	}
	base := cfg.URL
	if base == "" {
		_, dc, ok := strings.Cut(key, "-")
		if !ok || dc == "" {
			return nil, errors.New("api_key has no data-center suffix (such as -us21) and no url is set; set url: https://<dc>.api.mailchimp.com/3.0")
		}
		base = "https://" + dc + ".api.mailchimp.com/3.0"
	}
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("profiled:"+key)))
	h.Set("Content-Type", "application/json")
	lim, _ := dictionary.LimitsOf(dictionary.SinkMailchimp)
	return &Adapter{c: c, base: strings.TrimRight(base, "/"), list: cfg.ListID, header: func() http.Header { return h.Clone() },
		limits: sink.LimitsFor(cfg, MaxMembers, lim.MaxBytes)}, nil
}

// Limits implements sink.Adapter.
func (a *Adapter) Limits() sink.Limits { return a.limits }

// SubscriberHash is Mailchimp's member id: the MD5 of the lower-cased email.
func SubscriberHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(email))) //nolint:gosec // see the import
	return hex.EncodeToString(sum[:])
}

type member struct {
	EmailAddress string            `json:"email_address"`
	Status       string            `json:"status"`
	StatusIfNew  string            `json:"status_if_new"`
	MergeFields  map[string]string `json:"merge_fields,omitempty"`
}

type batchRequest struct {
	Members        []member `json:"members"`
	UpdateExisting bool     `json:"update_existing"`
}

type batchResponse struct {
	Errors []struct {
		EmailAddress string `json:"email_address"`
		Error        string `json:"error"`
		ErrorCode    string `json:"error_code"`
		Field        string `json:"field"`
		FieldMessage string `json:"field_message"`
	} `json:"errors"`
}

// Send implements sink.Adapter.
func (a *Adapter) Send(ctx context.Context, batch []*sink.Change) ([]sink.Failure, error) {
	var fails []sink.Failure
	var ups, dels []*sink.Change
	for _, c := range batch {
		switch {
		case c.Deleted && c.Email == "":
			fails = append(fails, sink.Failure{Change: c, Reason: "cannot erase the Mailchimp member: the deleted profile's email " +
				"was not seen by this sink instance (Mailchimp keys members by email); erase it by hand"})
		case c.Deleted:
			dels = append(dels, c)
		case c.Email != "" || c.PrevEmail != "":
			ups = append(ups, c)
		}
		// A profile without an email (now or before) cannot be a member:
		// nothing to do.
	}
	if len(ups) > 0 {
		f, err := a.upsert(ctx, ups)
		if err != nil {
			return nil, err
		}
		fails = append(fails, f...)
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

func (a *Adapter) upsert(ctx context.Context, ups []*sink.Change) ([]sink.Failure, error) {
	emails := map[string]bool{}
	for _, c := range ups {
		if c.Email != "" {
			emails[c.Email] = true
		}
	}
	type item struct {
		m member
		c *sink.Change
	}
	var items []item
	for _, c := range ups {
		status := "unsubscribed"
		if c.Subscribed {
			status = "subscribed"
		}
		if c.Email != "" {
			m := member{EmailAddress: c.Email, Status: status, StatusIfNew: status}
			if fs := c.SendFields(true); len(fs) > 0 {
				m.MergeFields = make(map[string]string, len(fs))
				for _, f := range fs {
					m.MergeFields[f.Name] = sink.Text(f.Value)
				}
			}
			items = append(items, item{m, c})
		}
		// The profile moved to another address: the member at the old one
		// no longer belongs to anybody who consented, so it is
		// unsubscribed (unless another profile of the batch has it now).
		if c.PrevEmail != "" && !emails[c.PrevEmail] {
			emails[c.PrevEmail] = true
			items = append(items, item{member{EmailAddress: c.PrevEmail, Status: "unsubscribed", StatusIfNew: "unsubscribed"}, nil})
		}
	}
	size := func(it item) int { b, _ := json.Marshal(it.m); return len(b) + 1 }
	var fails []sink.Failure
	for _, chunk := range sink.Chunk(items, a.limits.MaxItems, a.limits.MaxBytes-64, size) {
		req := batchRequest{UpdateExisting: true}
		byEmail := map[string]*sink.Change{}
		for _, it := range chunk {
			req.Members = append(req.Members, it.m)
			if it.c != nil {
				byEmail[it.m.EmailAddress] = it.c
			}
		}
		body, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("encoding members: %w", err)
		}
		u := a.base + "/lists/" + url.PathEscape(a.list) + "?skip_merge_validation=false&skip_duplicate_check=false"
		resp, err := a.c.Do(ctx, sink.Request{Op: "batch_upsert", Method: http.MethodPost, URL: u, Header: a.header(), Body: body})
		var he *sink.HTTPError
		if errors.As(err, &he) && he.Status == http.StatusBadRequest {
			// The whole request was refused (e.g. an unknown merge tag):
			// every member of it goes to the dead letters with the reason.
			var cs []*sink.Change
			for _, it := range chunk {
				if it.c != nil {
					cs = append(cs, it.c)
				}
			}
			fails = append(fails, sink.FailAll(cs, string(he.Body))...)
			continue
		}
		if err != nil {
			return nil, err
		}
		var br batchResponse
		if err := json.Unmarshal(resp.Body, &br); err != nil {
			return nil, fmt.Errorf("batch_upsert: decoding the response: %w", err)
		}
		for _, e := range br.Errors {
			c := byEmail[strings.ToLower(e.EmailAddress)]
			if c == nil {
				continue // the old address of a moved profile
			}
			reason := e.ErrorCode + ": " + e.Error
			if e.Field != "" {
				reason += " (" + e.Field + ": " + e.FieldMessage + ")"
			}
			fails = append(fails, sink.Failure{Change: c, Reason: reason})
		}
	}
	return fails, nil
}

// erase deletes the member permanently; a member that is not there is
// already gone.
func (a *Adapter) erase(ctx context.Context, c *sink.Change) ([]sink.Failure, error) {
	u := a.base + "/lists/" + url.PathEscape(a.list) + "/members/" + SubscriberHash(c.Email) + "/actions/delete-permanent"
	_, err := a.c.Do(ctx, sink.Request{Op: "delete_permanent", Method: http.MethodPost, URL: u, Header: a.header()})
	var he *sink.HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusNotFound:
		return nil, nil
	case errors.As(err, &he) && he.Status < 500:
		return []sink.Failure{{Change: c, Reason: string(he.Body)}}, nil
	case err != nil:
		return nil, err
	}
	return nil, nil
}
