package dictionary

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/profiled/profiled/schemas"
)

// This file reads the sinks: section: the ESP connectors that drain the
// profiles topic. Each entry is one connector, run by
// `profiled sink --connector NAME`:
//
//	sinks:
//	  - name: mailchimp              # required, unique; names the consumer group <group>.sink.<name>
//	    type: mailchimp              # required: mailchimp | sendgrid | klaviyo | braze | webhook
//	    url: https://us21.api.mailchimp.com/3.0   # base URL; default per type (mailchimp: from the
//	                                 # key's data center); required for braze (the instance) and webhook
//	    api_key: {env: MAILCHIMP_API_KEY}          # a secret; required except for webhook
//	    list_id: a1b2c3d4e5          # mailchimp: the audience (required); klaviyo: the list
//	                                 # consent is given for (required)
//	    # list_ids: [uuid, ...]      # sendgrid: lists contacts are added to (optional)
//	    # revision: "2026-07-15"     # klaviyo: API revision header; default 2026-07-15
//	    # secret: {env: HOOK_KEY}    # webhook: HMAC-SHA256 key of the signature header (optional)
//	    # headers: {X-Team: crm, Authorization: {env: HOOK_AUTH}}  # webhook: extra headers,
//	                                 # each a plain string or a secret
//	    email: email                 # attribute holding the email address; default email
//	    consent: marketing_opt_in    # bool attribute: true subscribes, anything else unsubscribes;
//	                                 # required except for webhook
//	    fields:                      # ESP field <- profile attribute, in file order
//	      FNAME: first_name
//	      BIRTHDAY: {from: birth_date, as: birthday}  # as: string|number|boolean|date|timestamp|birthday
//	      PROFILE: $profile_id       # $profile_id, $version and $updated_at name the update itself
//	    batch: {max_items: 500, max_bytes: 4194304, max_wait: 1s}  # defaults and maxima per type
//	    rate: {requests_per_second: 10, burst: 10, concurrency: 10} # per ESP account; defaults per type
//	    retry: {initial_backoff: 200ms, max_backoff: 30s, max_attempts: 0}  # 0: retry until it works
//
// Nothing here reads a secret: they are read when the connector starts.

// The connector types.
const (
	SinkMailchimp = "mailchimp"
	SinkSendGrid  = "sendgrid"
	SinkKlaviyo   = "klaviyo"
	SinkBraze     = "braze"
	SinkWebhook   = "webhook"
)

// The pseudo-attributes a field may be mapped from: properties of the update
// rather than attributes of the profile.
const (
	FieldProfileID = "$profile_id"
	FieldVersion   = "$version"
	FieldUpdatedAt = "$updated_at"
)

// The conversions a field may ask for (as:).
const (
	AsString    = "string"
	AsNumber    = "number"
	AsBoolean   = "boolean"
	AsDate      = "date"      // YYYY-MM-DD
	AsTimestamp = "timestamp" // RFC 3339, UTC
	AsBirthday  = "birthday"  // MM/DD (Mailchimp birthday fields)
)

// DefaultKlaviyoRevision is the Klaviyo API revision sent when none is set.
const DefaultKlaviyoRevision = "2026-07-15"

// Sink is one configured ESP connector.
type Sink struct {
	Name string
	Type string // one of the Sink* constants
	// URL is the API's base URL (webhook: the endpoint); "" means the
	// type's default.
	URL      string
	APIKey   Secret            // zero for webhook
	Secret   Secret            // webhook: HMAC-SHA256 key; zero: unsigned
	Headers  map[string]Secret // webhook: extra headers (plain values are literal secrets)
	ListID   string            // mailchimp audience, klaviyo list
	ListIDs  []string          // sendgrid lists
	Revision string            // klaviyo
	// Email is the attribute holding the contact's email address ("" when
	// the profiles have none and the type does not need one).
	Email string
	// Consent is the bool attribute that says whether the profile may be
	// subscribed to marketing ("" for webhook without consent).
	Consent string
	Fields  []SinkField
	Batch   SinkBatch
	Rate    SinkRate
	Retry   SinkRetry
	Line    int
}

// SinkField maps one profile attribute (or pseudo-attribute) onto an ESP
// field.
type SinkField struct {
	Name string     // the ESP's field: merge tag, custom field name, attribute
	From string     // attribute name or one of the Field* pseudo-attributes
	Attr *Attribute // nil for pseudo-attributes
	As   string     // conversion; "" means by the attribute's type
	Line int
}

// SinkBatch bounds one request.
type SinkBatch struct {
	MaxItems int           // contacts per request
	MaxBytes int           // request body bytes
	MaxWait  time.Duration // how long a partial batch may wait for more updates
}

// SinkRate limits requests to the ESP account.
type SinkRate struct {
	PerSecond   float64 // token bucket refill, requests per second
	Burst       int     // token bucket size
	Concurrency int     // requests in flight at once
}

// SinkRetry sets how failed requests are retried (429, 5xx, network).
type SinkRetry struct {
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	MaxAttempts    int // 0: retry until the request succeeds or the sink stops
}

// SinkLimits are the documented limits and the defaults of a connector type.
type SinkLimits struct {
	MaxItems, MaxBytes int // hard maxima of one request
	Batch              SinkBatch
	Rate               SinkRate
}

// sinkLimits are the ESPs' documented request limits (see
// ../shared/docs/esp-apis.md) and conservative defaults below them.
var sinkLimits = map[string]SinkLimits{
	// POST /lists/{id}: at most 500 members; no byte limit is published, a
	// request must finish within Mailchimp's 120 s; 10 connections per key.
	SinkMailchimp: {MaxItems: 500, MaxBytes: 10 << 20,
		Batch: SinkBatch{MaxItems: 500, MaxBytes: 4 << 20, MaxWait: time.Second},
		Rate:  SinkRate{PerSecond: 10, Burst: 10, Concurrency: 10}},
	// PUT /v3/marketing/contacts: 30,000 contacts or 6 MB; about 600/min.
	SinkSendGrid: {MaxItems: 30000, MaxBytes: 6_000_000,
		Batch: SinkBatch{MaxItems: 5000, MaxBytes: 5_500_000, MaxWait: 2 * time.Second},
		Rate:  SinkRate{PerSecond: 5, Burst: 10, Concurrency: 4}},
	// POST /api/profile-bulk-import-jobs: 10,000 profiles or 5 MB; 10/s
	// burst, 150/min steady (RudderStack keeps 4.6 MB of headroom).
	SinkKlaviyo: {MaxItems: 10000, MaxBytes: 5_000_000,
		Batch: SinkBatch{MaxItems: 1000, MaxBytes: 4_600_000, MaxWait: 2 * time.Second},
		Rate:  SinkRate{PerSecond: 2.5, Burst: 10, Concurrency: 4}},
	// POST /users/track: 75 attribute objects (50 on MAU plans: set
	// max_items); 3,000 requests per 3 s.
	SinkBraze: {MaxItems: 75, MaxBytes: 4 << 20,
		Batch: SinkBatch{MaxItems: 75, MaxBytes: 4 << 20, MaxWait: time.Second},
		Rate:  SinkRate{PerSecond: 500, Burst: 100, Concurrency: 16}},
	// A receiver of ours: no external limit; a batch is one JSON array.
	SinkWebhook: {MaxItems: 10000, MaxBytes: 16 << 20,
		Batch: SinkBatch{MaxItems: 500, MaxBytes: 1 << 20, MaxWait: time.Second},
		Rate:  SinkRate{PerSecond: 20, Burst: 20, Concurrency: 4}},
}

// LimitsOf returns the limits and defaults of a connector type.
func LimitsOf(typ string) (SinkLimits, bool) {
	l, ok := sinkLimits[typ]
	return l, ok
}

var (
	sinkTypes = []string{SinkMailchimp, SinkSendGrid, SinkKlaviyo, SinkBraze, SinkWebhook}
	sinkKeys  = []string{"name", "type", "url", "api_key", "list_id", "list_ids", "revision", "secret", "headers",
		"email", "consent", "fields", "batch", "rate", "retry"}
	sinkFieldKeys = []string{"from", "as"}
	sinkBatchKeys = []string{"max_items", "max_bytes", "max_wait"}
	sinkRateKeys  = []string{"requests_per_second", "burst", "concurrency"}
	sinkRetryKeys = []string{"initial_backoff", "max_backoff", "max_attempts"}
	asNames       = []string{AsString, AsNumber, AsBoolean, AsDate, AsTimestamp, AsBirthday}
	pseudoFields  = []string{FieldProfileID, FieldVersion, FieldUpdatedAt}

	// sinkTypeKeys names the keys only some types take.
	sinkTypeKeys = map[string][]string{
		"api_key":  {SinkMailchimp, SinkSendGrid, SinkKlaviyo, SinkBraze},
		"list_id":  {SinkMailchimp, SinkKlaviyo},
		"list_ids": {SinkSendGrid},
		"revision": {SinkKlaviyo},
		"secret":   {SinkWebhook},
		"headers":  {SinkWebhook},
	}

	sinkNameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	mailchimpTagRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,9}$`)
	headerNameRE   = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

func (p *parser) sinks(e entry) {
	if e.value == nil {
		return
	}
	items, ok := p.list(e.value, e.line, "sinks")
	if !ok {
		return
	}
	names := map[string]int{}
	for i, it := range items {
		what := fmt.Sprintf("sinks[%d]", i)
		if n := p.peekName(it); n != "" {
			what = "sinks." + n
		}
		if s := p.sink(it, lineOf(it, e.line), what, names); s != nil {
			p.f.Sinks = append(p.f.Sinks, s)
		}
	}
}

func (p *parser) sink(n ast.Node, line int, what string, names map[string]int) *Sink {
	// Sinks hold secrets: a wrong value is described by its kind only.
	o, ok := p.quietObject(n, line, what, false, sinkKeys...)
	if !ok {
		return nil
	}
	s := &Sink{Line: line}
	if x, has := o.get("name"); has {
		if v, ok := p.name(x.value, x.line, what+".name"); ok {
			switch {
			case !sinkNameRE.MatchString(v) || len(v) > 100:
				p.errorf(lineOf(x.value, x.line), "%s.name: %s is not a valid connector name (lower-case letters, digits, _ and -; "+
					"it becomes part of the consumer group's name)", what, clip(v))
			case names[v] > 0:
				p.errorf(lineOf(x.value, x.line), "%s.name: connector %q is defined twice (first at line %d)", what, v, names[v])
			default:
				names[v] = lineOf(x.value, x.line)
				s.Name = v
			}
		}
	} else if o.unknown == 0 {
		p.errorf(line, "%s: missing required key \"name\"", what)
	}
	if x, has := o.get("type"); has {
		s.Type, _ = p.choice(x.value, x.line, what+".type", "connector type", sinkTypes)
	} else if o.unknown == 0 {
		p.errorf(line, "%s: missing required key \"type\" (want %s)", what, oneOfText(sinkTypes))
	}
	lim, known := sinkLimits[s.Type]
	s.Batch, s.Rate = lim.Batch, lim.Rate
	s.Retry = SinkRetry{InitialBackoff: 200 * time.Millisecond, MaxBackoff: 30 * time.Second}
	if s.Type == SinkKlaviyo {
		s.Revision = DefaultKlaviyoRevision
	}
	// Keys that only some types take.
	for key, types := range sinkTypeKeys {
		if x, has := o.get(key); has && known && !contains(types, s.Type) {
			p.errorf(x.line, "%s.%s: type %s takes no %s (it is for %s)", what, key, s.Type, key, oneOfText(types))
		}
	}
	if x, has := o.get("url"); has {
		if u, ok := p.quietStr(x.value, x.line, what+".url"); ok {
			if _, why := checkRegistryURL(u); why != "" {
				p.errorf(lineOf(x.value, x.line), "%s.url: %s", what, why)
			} else {
				s.URL = strings.TrimRight(u, "/")
			}
		}
	} else if known && (s.Type == SinkBraze || s.Type == SinkWebhook) {
		hint := "the endpoint that receives the batches"
		if s.Type == SinkBraze {
			hint = "your instance's REST endpoint, e.g. https://rest.iad-01.braze.com"
		}
		p.errorf(line, "%s: missing required key \"url\" (%s)", what, hint)
	}
	if x, has := o.get("api_key"); has {
		s.APIKey, _ = p.secret(x, what+".api_key")
	} else if known && contains(sinkTypeKeys["api_key"], s.Type) {
		p.errorf(line, "%s: missing required key \"api_key\" (a secret: {env: NAME} or {file: PATH})", what)
	}
	if x, has := o.get("list_id"); has {
		s.ListID, _ = p.name(x.value, x.line, what+".list_id")
	} else if known && contains(sinkTypeKeys["list_id"], s.Type) {
		p.errorf(line, "%s: missing required key \"list_id\" (the %s)", what,
			map[string]string{SinkMailchimp: "audience id", SinkKlaviyo: "list that marketing consent is given for"}[s.Type])
	}
	if x, has := o.get("list_ids"); has {
		items, _ := p.list(x.value, x.line, what+".list_ids")
		for i, it := range items {
			if v, ok := p.name(it, lineOf(it, x.line), fmt.Sprintf("%s.list_ids[%d]", what, i)); ok {
				s.ListIDs = append(s.ListIDs, v)
			}
		}
	}
	if x, has := o.get("revision"); has {
		if v, ok := p.quietStr(x.value, x.line, what+".revision"); ok {
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				p.errorf(lineOf(x.value, x.line), "%s.revision: want a date such as \"%s\" (in quotes), got %s", what, DefaultKlaviyoRevision, clip(v))
			} else {
				s.Revision = v
			}
		}
	}
	if x, has := o.get("secret"); has {
		s.Secret, _ = p.secret(x, what+".secret")
	}
	if x, has := o.get("headers"); has {
		s.Headers = p.sinkHeaders(x, what+".headers")
	}
	s.Email = p.sinkAttr(o, "email", what, s.Type, schemas.KindString)
	s.Consent = p.sinkAttr(o, "consent", what, s.Type, schemas.KindBool)
	if x, has := o.get("fields"); has {
		s.Fields = p.sinkFields(x, what+".fields", s.Type)
	}
	if x, has := o.get("batch"); has {
		p.sinkBatch(x, what+".batch", s, lim, known)
	}
	if x, has := o.get("rate"); has {
		p.sinkRate(x, what+".rate", s)
	}
	if x, has := o.get("retry"); has {
		p.sinkRetry(x, what+".retry", s)
	}
	if s.Name == "" || s.Type == "" {
		return nil
	}
	return s
}

// sinkAttr reads email: or consent:, which name a profile attribute of the
// given kind, and applies the defaults: email defaults to the attribute
// "email"; consent is required except for webhooks.
func (p *parser) sinkAttr(o obj, key, what, typ string, kind schemas.Kind) string {
	x, has := o.get(key)
	if !has {
		switch {
		case typ == "" || o.unknown > 0:
		case key == "email":
			if a, ok := p.f.Attributes["email"]; ok && a.Type == schemas.KindString {
				return "email"
			}
			if typ != SinkBraze && typ != SinkWebhook {
				p.errorf(o.line, "%s: missing required key \"email\": %s keys contacts by email address; "+
					"name the string attribute that holds it", what, typ)
			}
		case typ != SinkWebhook:
			p.errorf(o.line, "%s: missing required key \"consent\": name the bool attribute that says whether "+
				"the profile agreed to marketing email (e.g. marketing_opt_in); without it nobody is subscribed", what)
		}
		return ""
	}
	name, ok := p.name(x.value, x.line, what+"."+key)
	if !ok {
		return ""
	}
	a, ok := p.f.Attributes[name]
	if !ok {
		p.unknown(lineOf(x.value, x.line), what+"."+key, "attribute", name, p.f.Names)
		return ""
	}
	if a.Type != kind {
		p.errorf(lineOf(x.value, x.line), "%s.%s: attribute %s is of type %s; want a %s attribute", what, key, name, a.Type, kind)
		return ""
	}
	return name
}

func (p *parser) sinkHeaders(x entry, what string) map[string]Secret {
	entries, ok := p.mapping(x.value, x.line, what)
	if !ok {
		return nil
	}
	out := map[string]Secret{}
	for _, h := range entries {
		hw := what + "." + h.key
		if !headerNameRE.MatchString(h.key) {
			p.errorf(h.line, "%s: %s is not a valid HTTP header name", what, clip(h.key))
			continue
		}
		switch p.resolve(h.value).(type) {
		case *ast.MappingNode, *ast.MappingValueNode:
			if sec, ok := p.secret(h, hw); ok {
				out[h.key] = sec
			}
		default:
			if v, ok := p.quietStr(h.value, h.line, hw); ok {
				out[h.key] = LiteralSecret(v)
			}
		}
	}
	return out
}

func (p *parser) sinkFields(x entry, what, typ string) []SinkField {
	entries, ok := p.mapping(x.value, x.line, what)
	if !ok {
		return nil
	}
	var out []SinkField
	for _, e := range entries {
		fw := what + "." + e.key
		f := SinkField{Name: e.key, Line: e.line}
		if why := checkFieldName(typ, e.key); why != "" {
			p.errorf(e.line, "%s: %s", fw, why)
			continue
		}
		switch p.resolve(e.value).(type) {
		case *ast.MappingNode, *ast.MappingValueNode:
			o, _ := p.object(e.value, e.line, fw, sinkFieldKeys...)
			if y, has := o.get("from"); has {
				f.From, _ = p.name(y.value, y.line, fw+".from")
			} else if o.unknown == 0 {
				p.errorf(e.line, "%s: missing required key \"from\" (the attribute to send)", fw)
			}
			if y, has := o.get("as"); has {
				f.As, _ = p.choice(y.value, y.line, fw+".as", "conversion", asNames)
			}
		default:
			f.From, _ = p.name(e.value, e.line, fw)
		}
		if f.From == "" {
			continue
		}
		if strings.HasPrefix(f.From, "$") {
			if !contains(pseudoFields, f.From) {
				p.errorf(e.line, "%s: unknown pseudo-attribute %s (want %s)", fw, clip(f.From), oneOfText(pseudoFields))
				continue
			}
		} else {
			a, ok := p.f.Attributes[f.From]
			if !ok {
				p.unknown(e.line, fw, "attribute", f.From, p.f.Names)
				continue
			}
			f.Attr = a
		}
		if why := checkConversion(f); why != "" {
			p.errorf(e.line, "%s: %s", fw, why)
			continue
		}
		out = append(out, f)
	}
	return out
}

// checkFieldName says what is wrong with an ESP field name for a type ("" if
// nothing).
func checkFieldName(typ, name string) string {
	switch typ {
	case SinkMailchimp:
		if !mailchimpTagRE.MatchString(name) {
			return "a Mailchimp merge tag is 1 to 10 upper-case letters, digits and _, starting with a letter (e.g. FNAME)"
		}
	case SinkSendGrid, SinkKlaviyo, SinkBraze:
		if strings.TrimSpace(name) == "" || len(name) > 100 {
			return "want a field name of 1 to 100 characters"
		}
	}
	return ""
}

// checkConversion says why a field's conversion cannot apply to its
// attribute ("" if it can).
func checkConversion(f SinkField) string {
	if f.As == "" || f.As == AsString {
		return ""
	}
	var k schemas.Kind
	switch {
	case f.Attr != nil:
		k = f.Attr.Type
	case f.From == FieldVersion:
		k = schemas.KindInt
	case f.From == FieldUpdatedAt:
		k = schemas.KindTimestamp
	default:
		k = schemas.KindString
	}
	ok := false
	switch f.As {
	case AsNumber:
		ok = isNumeric(k)
	case AsBoolean:
		ok = k == schemas.KindBool
	case AsDate, AsBirthday:
		ok = k == schemas.KindDate || k == schemas.KindTimestamp
	case AsTimestamp:
		ok = k == schemas.KindTimestamp || k == schemas.KindDate
	}
	if !ok {
		return fmt.Sprintf("as: %s does not apply to %s, which is of type %s", f.As, f.From, k)
	}
	return ""
}

func (p *parser) sinkBatch(x entry, what string, s *Sink, lim SinkLimits, known bool) {
	o, _ := p.object(x.value, x.line, what, sinkBatchKeys...)
	maxItems, maxBytes := int64(1_000_000), int64(1<<30)
	if known {
		maxItems, maxBytes = int64(lim.MaxItems), int64(lim.MaxBytes)
	}
	if y, has := o.get("max_items"); has {
		if n, ok := p.integer(y.value, y.line, what+".max_items", 1, maxItems); ok {
			s.Batch.MaxItems = int(n)
		}
	}
	if y, has := o.get("max_bytes"); has {
		if n, ok := p.integer(y.value, y.line, what+".max_bytes", 1024, maxBytes); ok {
			s.Batch.MaxBytes = int(n)
		}
	}
	if y, has := o.get("max_wait"); has {
		if d, ok := p.duration(y, what+".max_wait", "500ms or 2s"); ok {
			s.Batch.MaxWait = d
		}
	}
}

func (p *parser) sinkRate(x entry, what string, s *Sink) {
	o, _ := p.object(x.value, x.line, what, sinkRateKeys...)
	if y, has := o.get("requests_per_second"); has {
		if f, ok := p.positiveNumber(y, what+".requests_per_second"); ok {
			s.Rate.PerSecond = f
		}
	}
	if y, has := o.get("burst"); has {
		if n, ok := p.integer(y.value, y.line, what+".burst", 1, 100_000); ok {
			s.Rate.Burst = int(n)
		}
	}
	if y, has := o.get("concurrency"); has {
		if n, ok := p.integer(y.value, y.line, what+".concurrency", 1, 1000); ok {
			s.Rate.Concurrency = int(n)
		}
	}
}

func (p *parser) sinkRetry(x entry, what string, s *Sink) {
	o, _ := p.object(x.value, x.line, what, sinkRetryKeys...)
	if y, has := o.get("initial_backoff"); has {
		if d, ok := p.duration(y, what+".initial_backoff", "200ms or 1s"); ok {
			s.Retry.InitialBackoff = d
		}
	}
	if y, has := o.get("max_backoff"); has {
		if d, ok := p.duration(y, what+".max_backoff", "30s or 5m"); ok {
			s.Retry.MaxBackoff = d
		}
	}
	if y, has := o.get("max_attempts"); has {
		if n, ok := p.integer(y.value, y.line, what+".max_attempts", 0, 1_000_000); ok {
			s.Retry.MaxAttempts = int(n)
		}
	}
	if s.Retry.MaxBackoff < s.Retry.InitialBackoff {
		p.errorf(o.line, "%s: max_backoff (%s) is shorter than initial_backoff (%s)", what, s.Retry.MaxBackoff, s.Retry.InitialBackoff)
	}
}

// positiveNumber reads a number greater than zero.
func (p *parser) positiveNumber(x entry, what string) (float64, bool) {
	sc, ok := p.scalarOf(x.value, x.line, what)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(sc.text, 64)
	if !sc.isNum || err != nil || f <= 0 || f > 1e9 {
		p.errorf(lineOf(x.value, x.line), "%s: want a number greater than zero, got %s", what, clip(sc.text))
		return 0, false
	}
	return f, true
}
