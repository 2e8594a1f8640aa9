// Package braze is the Braze connector: user attributes upserted with POST
// /users/track (at most 75 attribute objects a request; partial failures
// come back as errors with the index of the object), keyed by external_id =
// profile id; consent as the email_subscribe attribute; deletes with POST
// /users/delete (at most 50 external ids).
package braze

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/profiled/profiled/connectors/sink"
	"github.com/profiled/profiled/schemas/dictionary"
)

// The documented maxima.
const (
	MaxAttributes = 75
	MaxDelete     = 50
)

// Adapter delivers to one Braze workspace.
type Adapter struct {
	c    *sink.Client
	base string
	// header returns the request headers, credentials included; a closure,
	// so that printing the adapter cannot show the key.
	header func() http.Header
	limits sink.Limits
}

// New builds the adapter; the REST API key is read now.
func New(cfg *dictionary.Sink, c *sink.Client) (*Adapter, error) {
	key, err := cfg.APIKey.Reveal()
	if err != nil {
		return nil, fmt.Errorf("api_key (%s): %w", cfg.APIKey, err)
	}
	if cfg.URL == "" {
		return nil, errors.New("url (the instance's REST endpoint) is required")
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+key)
	h.Set("Content-Type", "application/json")
	lim, _ := dictionary.LimitsOf(dictionary.SinkBraze)
	return &Adapter{c: c, base: strings.TrimRight(cfg.URL, "/"), header: func() http.Header { return h.Clone() },
		limits: sink.LimitsFor(cfg, MaxAttributes, lim.MaxBytes)}, nil
}

// Limits implements sink.Adapter.
func (a *Adapter) Limits() sink.Limits { return a.limits }

// Send implements sink.Adapter.
func (a *Adapter) Send(ctx context.Context, batch []*sink.Change) ([]sink.Failure, error) {
	ups, dels := sink.SplitDeleted(batch)
	var fails []sink.Failure
	for _, chunk := range sink.Chunk(ups, a.limits.MaxItems, a.limits.MaxBytes-1024, func(c *sink.Change) int {
		b, _ := json.Marshal(attributes(c))
		return len(b) + 1
	}) {
		f, err := a.track(ctx, chunk)
		if err != nil {
			return nil, err
		}
		fails = append(fails, f...)
	}
	for _, chunk := range sink.Chunk(dels, MaxDelete, 1<<20, func(c *sink.Change) int { return len(c.ProfileID) + 3 }) {
		ids := make([]string, len(chunk))
		for i, c := range chunk {
			ids[i] = c.ProfileID
		}
		body, _ := json.Marshal(map[string][]string{"external_ids": ids})
		_, err := a.c.Do(ctx, sink.Request{Op: "users_delete", Method: http.MethodPost, URL: a.base + "/users/delete",
			Header: a.header(), Body: body})
		var he *sink.HTTPError
		switch {
		case errors.As(err, &he) && he.Status == http.StatusNotFound: // RudderStack: already gone
		case errors.As(err, &he):
			fails = append(fails, sink.FailAll(chunk, string(he.Body))...)
		case err != nil:
			return nil, err
		}
	}
	return fails, nil
}

// attributes is one user attributes object. email_subscribe is always
// sent: a user Braze creates is "subscribed" by default, which only
// consent may allow.
func attributes(c *sink.Change) map[string]any {
	o := map[string]any{"external_id": c.ProfileID}
	switch {
	case c.Email != "":
		o["email"] = c.Email
	case c.PrevEmail != "":
		o["email"] = nil // the address was removed
	}
	if c.Subscribed {
		o["email_subscribe"] = "opted_in"
	} else {
		o["email_subscribe"] = "unsubscribed"
	}
	for _, f := range c.SendFields(true) {
		o[f.Name] = f.Value // null removes the attribute
	}
	return o
}

func (a *Adapter) track(ctx context.Context, chunk []*sink.Change) ([]sink.Failure, error) {
	objs := make([]any, len(chunk))
	for i, c := range chunk {
		objs[i] = attributes(c)
	}
	body, err := json.Marshal(map[string]any{"attributes": objs})
	if err != nil {
		return nil, fmt.Errorf("encoding attributes: %w", err)
	}
	resp, err := a.c.Do(ctx, sink.Request{Op: "users_track", Method: http.MethodPost, URL: a.base + "/users/track",
		Header: a.header(), Body: body})
	var he *sink.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusBadRequest {
		return sink.FailAll(chunk, string(he.Body)), nil
	}
	if err != nil {
		return nil, err
	}
	var r struct {
		Message string `json:"message"`
		Errors  []struct {
			Type       string `json:"type"`
			InputArray string `json:"input_array"`
			Index      int    `json:"index"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return nil, fmt.Errorf("users_track: decoding the response: %w", err)
	}
	var fails []sink.Failure
	for _, e := range r.Errors {
		if e.InputArray == "attributes" && e.Index >= 0 && e.Index < len(chunk) {
			fails = append(fails, sink.Failure{Change: chunk[e.Index], Reason: e.Type})
		}
	}
	return fails, nil
}
