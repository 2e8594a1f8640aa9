package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/dictionary"
)

// Change is what an adapter delivers for one profile: the newest version of
// it in the batch, with the attributes that changed in any of the versions
// the batch folded together.
type Change struct {
	ProfileID string
	Version   uint64
	UpdatedAt string // RFC 3339, as on the profiles topic
	// Deleted is set for a tombstone: delete the contact (or suppress it
	// where the ESP cannot delete).
	Deleted bool
	// Email is the contact's address; for a delete, the last one this
	// worker saw for the profile ("" when unknown, e.g. after a restart).
	Email string
	// PrevEmail is the address the contact had before this batch when it
	// changed ("" otherwise, or when unknown).
	PrevEmail string
	// Subscribed is true when the consent attribute is true.
	Subscribed bool
	// ConsentChanged is set when the consent attribute changed in the batch.
	ConsentChanged bool
	// Resubscribed is set when the profile has consent now and had none
	// before the batch (as far as this worker has seen): an ESP that keeps
	// consent as a suppression must lift it.
	Resubscribed bool
	// Full is set when every mapped field must be sent, not only the changed
	// ones: the contact's key (email) changed, or it was re-created.
	Full bool
	// Fields are the mapped ESP fields in configuration order.
	Fields []Field
	// Attributes is the whole profile (webhook), decoded with json.Number.
	Attributes map[string]any
	// Changed lists the changed attributes, sorted.
	Changed []string
	// Origin is the newest record folded into this change.
	Origin Origin
	// Records is how many records were folded into this change.
	Records int
}

// Field is one mapped ESP field.
type Field struct {
	Name string
	// Value is a JSON-ready value: string, json.Number, bool, or nil
	// (clear the field).
	Value any
	// Changed is set when the attribute changed in the batch (always for
	// $version and $updated_at).
	Changed bool
}

// SendFields returns the fields to send: all of them for a full update, or
// when partial is false; otherwise only the changed ones.
func (c *Change) SendFields(partial bool) []Field {
	if !partial || c.Full {
		return c.Fields
	}
	out := make([]Field, 0, len(c.Fields))
	for _, f := range c.Fields {
		if f.Changed {
			out = append(out, f)
		}
	}
	return out
}

// Origin locates a record on the profiles topic.
type Origin struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte // nil for a tombstone
}

// profileRecord is one value of the profiles topic.
type profileRecord struct {
	ProfileID  string         `json:"profile_id"`
	Version    uint64         `json:"version"`
	UpdatedAt  string         `json:"updated_at"`
	Attributes map[string]any `json:"attributes"`
	Changed    []string       `json:"changed"`
}

func decodeProfile(b []byte) (profileRecord, error) {
	var p profileRecord
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&p); err != nil {
		return p, fmt.Errorf("decoding profile: %w", err)
	}
	return p, nil
}

// Mapping turns profile updates into Changes for one configured sink.
type Mapping struct {
	email, consent string
	fields         []dictionary.SinkField
}

// NewMapping builds the mapping of a configured sink.
func NewMapping(s *dictionary.Sink) *Mapping {
	return &Mapping{email: s.Email, consent: s.Consent, fields: s.Fields}
}

// fold accumulates the records of one profile within a batch.
type fold struct {
	change *Change
	// start is the profile's email before the batch: the address the ESP
	// holds, which a delete must name (a newer one in the same batch was
	// never sent).
	start    string
	startOut bool // the profile had no consent before the batch
	changed  map[string]bool
	recs     int
	sawNew   bool // a value after a tombstone: the contact is re-created
	deleted  bool
}

// known is what a worker remembers of each profile of its partition: the
// last email (for deletes and address changes) and whether it was last
// seen without consent.
type known struct {
	emails   map[string]string
	optedOut map[string]bool
}

func newKnown() known { return known{emails: map[string]string{}, optedOut: map[string]bool{}} }

// coalesce folds a partition's records (in offset order) into one Change per
// profile, ordered by the offset of each profile's newest record. k is
// updated as the records are folded. Records that cannot be decoded become
// failures.
func (m *Mapping) coalesce(recs []*kgo.Record, k known) ([]*Change, []Failure) {
	emails := k.emails
	byID := map[string]*fold{}
	var order []*fold
	var fails []Failure
	for _, r := range recs {
		id := string(r.Key)
		f := byID[id]
		if f == nil {
			f = &fold{changed: map[string]bool{}, start: emails[id], startOut: k.optedOut[id]}
			byID[id] = f
			order = append(order, f)
		}
		f.recs++
		origin := Origin{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value}
		if r.Value == nil {
			f.deleted = true
			email := f.start
			if email == "" {
				email = emails[id]
			}
			f.change = &Change{ProfileID: id, Deleted: true, Email: email, Origin: origin}
			delete(emails, id)
			delete(k.optedOut, id)
			continue
		}
		p, err := decodeProfile(r.Value)
		if err != nil || p.ProfileID != id {
			if err == nil {
				err = fmt.Errorf("record key %q carries profile %q", id, p.ProfileID)
			}
			fails = append(fails, Failure{Change: &Change{ProfileID: id, Origin: origin}, Reason: err.Error()})
			continue
		}
		if f.deleted {
			f.sawNew = true
		}
		prev := emails[id]
		c := m.change(p, f.changed)
		c.Origin = origin
		if c.Subscribed {
			delete(k.optedOut, id)
		} else {
			k.optedOut[id] = true
		}
		if c.Email != "" {
			emails[id] = c.Email
		} else {
			// The address was removed: the contact at the old one is dealt
			// with now (PrevEmail), and a later delete has none to use.
			delete(emails, id)
		}
		if f.change != nil && !f.change.Deleted && f.change.PrevEmail != "" {
			prev = f.change.PrevEmail
		}
		if prev != "" && prev != c.Email {
			c.PrevEmail = prev
			c.Full = true
		}
		f.change = c
	}
	out := make([]*Change, 0, len(order))
	for _, f := range order {
		if f.change == nil {
			continue
		}
		c := f.change
		c.Records = f.recs
		if !c.Deleted {
			c.Changed = sortedKeys(f.changed)
			c.Full = c.Full || f.sawNew || f.changed[m.email]
			c.ConsentChanged = m.consent != "" && f.changed[m.consent]
			c.Resubscribed = c.Subscribed && f.startOut
			for i := range c.Fields {
				if from := m.fields[i].From; strings.HasPrefix(from, "$") {
					c.Fields[i].Changed = from != dictionary.FieldProfileID
				} else {
					c.Fields[i].Changed = f.changed[from]
				}
			}
		}
		out = append(out, c)
	}
	// Newest record last: adapters that split a batch keep this order.
	sortByOffset(out)
	return out, fails
}

func (m *Mapping) change(p profileRecord, changed map[string]bool) *Change {
	for _, a := range p.Changed {
		changed[a] = true
	}
	c := &Change{ProfileID: p.ProfileID, Version: p.Version, UpdatedAt: p.UpdatedAt, Attributes: p.Attributes}
	if m.email != "" {
		if s, ok := p.Attributes[m.email].(string); ok {
			c.Email = strings.ToLower(strings.TrimSpace(s))
		}
	}
	if m.consent != "" {
		c.Subscribed, _ = p.Attributes[m.consent].(bool)
	}
	c.Fields = make([]Field, len(m.fields))
	for i, f := range m.fields {
		var raw any
		switch f.From {
		case dictionary.FieldProfileID:
			raw = p.ProfileID
		case dictionary.FieldVersion:
			raw = json.Number(strconv.FormatUint(p.Version, 10))
		case dictionary.FieldUpdatedAt:
			raw = p.UpdatedAt
		default:
			raw = p.Attributes[f.From]
		}
		c.Fields[i] = Field{Name: f.Name, Value: convert(raw, f)}
	}
	return c
}

// convert renders an attribute value as its field asks. The profiles topic
// renders dates as YYYY-MM-DD, timestamps as RFC 3339 UTC, decimals as
// strings and counts as numbers (see schemas.Value.AppendJSON); a value that
// does not fit the conversion is sent as its text, so the ESP's own
// validation reports it.
func convert(v any, f dictionary.SinkField) any {
	if v == nil {
		return nil
	}
	kind := schemas.KindString
	switch {
	case f.Attr != nil:
		kind = f.Attr.Type
	case f.From == dictionary.FieldVersion:
		kind = schemas.KindInt
	case f.From == dictionary.FieldUpdatedAt:
		kind = schemas.KindTimestamp
	}
	as := f.As
	if as == "" {
		switch kind {
		case schemas.KindInt, schemas.KindFloat, schemas.KindDecimal:
			as = dictionary.AsNumber
		case schemas.KindBool:
			as = dictionary.AsBoolean
		default:
			as = dictionary.AsString
		}
	}
	text := textOf(v)
	switch as {
	case dictionary.AsNumber:
		if _, err := strconv.ParseFloat(text, 64); err == nil {
			return json.Number(text)
		}
	case dictionary.AsBoolean:
		if b, ok := v.(bool); ok {
			return b
		}
	case dictionary.AsDate:
		if len(text) >= 10 {
			return text[:10]
		}
	case dictionary.AsBirthday:
		if len(text) >= 10 {
			return text[5:7] + "/" + text[8:10]
		}
	case dictionary.AsTimestamp:
		if len(text) == 10 {
			return text + "T00:00:00Z"
		}
		if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return text
}

func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

// remember records what a profile record says into k, as coalesce would.
func (m *Mapping) remember(k known, id string, value []byte) {
	var p struct {
		Attributes map[string]any `json:"attributes"`
	}
	if value == nil || json.Unmarshal(value, &p) != nil {
		delete(k.emails, id)
		delete(k.optedOut, id)
		return
	}
	if s, _ := p.Attributes[m.email].(string); s != "" && m.email != "" {
		k.emails[id] = strings.ToLower(strings.TrimSpace(s))
	} else {
		delete(k.emails, id)
	}
	if consent, _ := p.Attributes[m.consent].(bool); consent || m.consent == "" {
		delete(k.optedOut, id)
	} else {
		k.optedOut[id] = true
	}
}
