// Package webhook is the generic connector: each batch is one JSON POST to
// a configured URL, signed with HMAC-SHA256 when a secret is set.
//
// Body:
//
//	{"connector":"hook","contacts":[{"profile_id":"42","version":7,"updated_at":"...",
//	  "deleted":false,"email":"a@b.com","subscribed":true,"changed":["email"],
//	  "fields":{...}}]}
//
// "fields" holds the mapped fields when the connector maps any, else every
// attribute of the profile. The signature header is
// X-Profiled-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">,
// so a receiver can reject replays. A 2xx answer acknowledges the batch; a
// 200 or 207 answer may reject items with {"errors":[{"index":i,"message":"..."}]}.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/profiled/profiled/connectors/sink"
	"github.com/profiled/profiled/schemas/dictionary"
)

// SignatureHeader carries the HMAC signature.
const SignatureHeader = "X-Profiled-Signature"

// Adapter posts batches to one URL.
type Adapter struct {
	c    *sink.Client
	name string
	url  string
	// header returns the request headers (they may hold secrets); a closure,
	// so that printing the adapter cannot show them.
	header func() http.Header
	sign   func(ts string, body []byte) string // nil: unsigned
	mapped bool
	limits sink.Limits
}

// New builds the adapter; the secret and header secrets are read now.
func New(cfg *dictionary.Sink, c *sink.Client) (*Adapter, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("url is required")
	}
	h := http.Header{}
	for k, s := range cfg.Headers {
		v, err := s.Reveal()
		if err != nil {
			return nil, fmt.Errorf("headers.%s (%s): %w", k, s, err)
		}
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	lim, _ := dictionary.LimitsOf(dictionary.SinkWebhook)
	a := &Adapter{c: c, name: cfg.Name, url: cfg.URL, header: func() http.Header { return h.Clone() }, mapped: len(cfg.Fields) > 0,
		limits: sink.LimitsFor(cfg, lim.MaxItems, lim.MaxBytes)}
	if !cfg.Secret.IsZero() {
		key, err := cfg.Secret.Reveal()
		if err != nil {
			return nil, fmt.Errorf("secret (%s): %w", cfg.Secret, err)
		}
		// The key lives only in this closure, never in a printable field.
		a.sign = func(ts string, body []byte) string { return Sign([]byte(key), ts, body) }
	}
	return a, nil
}

// Sign computes the signature header's value.
func Sign(key []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Limits implements sink.Adapter.
func (a *Adapter) Limits() sink.Limits { return a.limits }

// Contact is one item of a webhook batch.
type Contact struct {
	ProfileID  string         `json:"profile_id"`
	Version    uint64         `json:"version,omitempty"`
	UpdatedAt  string         `json:"updated_at,omitempty"`
	Deleted    bool           `json:"deleted"`
	Email      string         `json:"email,omitempty"`
	Subscribed bool           `json:"subscribed"`
	Changed    []string       `json:"changed,omitempty"`
	Fields     map[string]any `json:"fields,omitempty"`
}

// Batch is the body of a webhook request.
type Batch struct {
	Connector string    `json:"connector"`
	Contacts  []Contact `json:"contacts"`
}

// Send implements sink.Adapter.
func (a *Adapter) Send(ctx context.Context, batch []*sink.Change) ([]sink.Failure, error) {
	var fails []sink.Failure
	for _, chunk := range sink.Chunk(batch, a.limits.MaxItems, a.limits.MaxBytes, func(c *sink.Change) int {
		b, _ := json.Marshal(a.contact(c))
		return len(b) + 1
	}) {
		body := Batch{Connector: a.name, Contacts: make([]Contact, len(chunk))}
		for i, c := range chunk {
			body.Contacts[i] = a.contact(c)
		}
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding batch: %w", err)
		}
		h := a.header()
		if a.sign != nil {
			h.Set(SignatureHeader, a.sign(strconv.FormatInt(time.Now().Unix(), 10), b))
		}
		resp, err := a.c.Do(ctx, sink.Request{Op: "post", Method: http.MethodPost, URL: a.url, Header: h, Body: b})
		if err != nil {
			return nil, err
		}
		var r struct {
			Errors []struct {
				Index   int    `json:"index"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if len(resp.Body) > 0 && json.Unmarshal(resp.Body, &r) == nil {
			for _, e := range r.Errors {
				if e.Index >= 0 && e.Index < len(chunk) {
					fails = append(fails, sink.Failure{Change: chunk[e.Index], Reason: e.Message})
				}
			}
		}
	}
	return fails, nil
}

func (a *Adapter) contact(c *sink.Change) Contact {
	ct := Contact{ProfileID: c.ProfileID, Version: c.Version, UpdatedAt: c.UpdatedAt, Deleted: c.Deleted,
		Email: c.Email, Subscribed: c.Subscribed, Changed: c.Changed}
	if c.Deleted {
		return ct
	}
	if a.mapped {
		ct.Fields = make(map[string]any, len(c.Fields))
		for _, f := range c.Fields {
			ct.Fields[f.Name] = f.Value
		}
	} else {
		ct.Fields = c.Attributes
	}
	return ct
}
