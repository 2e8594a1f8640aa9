package esp_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/profiled/profiled/connectors/esp/esptest"
)

// server is what the tests need of every ESP test server.
type server interface {
	Contacts() map[string]esptest.Contact
	Stats() esptest.Stats
	Storm429(n int)
	Burst5xx(n int)
	ClearFaults()
	Close()
}

// limits are the sink's rate settings in a test.
type limits struct {
	rate        float64
	burst, conc int
	maxItems    int
}

var fastLimits = limits{rate: 400, burst: 40, conc: 8}

// connector is one connector type under test: how to start its server,
// how to configure the sink, and what the server must end up holding for a
// final profile.
type connector struct {
	name string
	// keyByEmail: the ESP keys contacts by email (else by profile id).
	keyByEmail bool
	start      func(o esptest.Options) (server, string)
	yaml       func(url string, l limits) string
	// fields gives the expected text of each ESP field for a profile.
	fields map[string]func(p profile) string
	// allFields: the server holds every attribute (webhook).
	allFields    bool
	versionField string
}

const apiKey = "test-key-us1"

func attr(name string) func(p profile) string {
	return func(p profile) string { return txt(p.Attributes[name]) }
}

func version(p profile) string { return strconv.FormatUint(p.Version, 10) }

func birthday(p profile) string {
	s := txt(p.Attributes["birth_date"])
	if len(s) < 10 {
		return ""
	}
	return s[5:7] + "/" + s[8:10]
}

func common(l limits) string {
	s := fmt.Sprintf("    rate: {requests_per_second: %g, burst: %d, concurrency: %d}\n"+
		"    retry: {initial_backoff: 20ms, max_backoff: 400ms}\n", l.rate, l.burst, l.conc)
	if l.maxItems > 0 {
		s += fmt.Sprintf("    batch: {max_wait: 100ms, max_items: %d}\n", l.maxItems)
	} else {
		s += "    batch: {max_wait: 100ms}\n"
	}
	return s
}

var connectors = []connector{
	{
		name: "mailchimp", keyByEmail: true, versionField: "VERSION",
		start: func(o esptest.Options) (server, string) {
			s := esptest.NewMailchimp(o, "list1", map[string]string{"FNAME": "text", "LNAME": "text", "PHONE": "phone",
				"COUNTRY": "text", "BIRTHDAY": "birthday", "ORDERS": "number", "LTV": "number", "VERSION": "number"})
			return s, s.URL() + "/3.0"
		},
		yaml: func(url string, l limits) string {
			return `  - name: mc
    type: mailchimp
    url: ` + url + `
    api_key: {value: ` + apiKey + `, insecure_plaintext: true}
    list_id: list1
    consent: marketing_opt_in
    fields: {FNAME: first_name, LNAME: last_name, PHONE: phone, COUNTRY: country,
             BIRTHDAY: {from: birth_date, as: birthday}, ORDERS: order_count, LTV: lifetime_value, VERSION: $version}
` + common(l)
		},
		fields: map[string]func(profile) string{"FNAME": attr("first_name"), "LNAME": attr("last_name"), "PHONE": attr("phone"),
			"COUNTRY": attr("country"), "BIRTHDAY": birthday, "ORDERS": attr("order_count"), "LTV": attr("lifetime_value"),
			"VERSION": version},
	},
	{
		name: "sendgrid", keyByEmail: true, versionField: "version",
		start: func(o esptest.Options) (server, string) {
			s := esptest.NewSendGrid(o, map[string]string{"phone": "Text", "birth_date": "Date", "order_count": "Number",
				"lifetime_value": "Number", "version": "Number"})
			return s, s.URL()
		},
		yaml: func(url string, l limits) string {
			return `  - name: sg
    type: sendgrid
    url: ` + url + `
    api_key: {value: ` + apiKey + `, insecure_plaintext: true}
    consent: marketing_opt_in
    fields: {first_name: first_name, last_name: last_name, country: country, phone: phone, birth_date: birth_date,
             order_count: order_count, lifetime_value: lifetime_value, version: $version}
` + common(l)
		},
		fields: map[string]func(profile) string{"first_name": attr("first_name"), "last_name": attr("last_name"),
			"country": attr("country"), "phone": attr("phone"), "birth_date": attr("birth_date"),
			"order_count": attr("order_count"), "lifetime_value": attr("lifetime_value"), "version": version,
			"external_id": func(p profile) string { return p.ProfileID }},
	},
	{
		name: "klaviyo", versionField: "profile_version",
		start: func(o esptest.Options) (server, string) {
			s := esptest.NewKlaviyo(o, "LIST1")
			return s, s.URL()
		},
		yaml: func(url string, l limits) string {
			return `  - name: kv
    type: klaviyo
    url: ` + url + `
    api_key: {value: ` + apiKey + `, insecure_plaintext: true}
    list_id: LIST1
    consent: marketing_opt_in
    fields: {first_name: first_name, last_name: last_name, phone_number: phone, location.country: country,
             birth_date: birth_date, order_count: order_count, lifetime_value: lifetime_value, profile_version: $version}
` + common(l)
		},
		fields: map[string]func(profile) string{"first_name": attr("first_name"), "last_name": attr("last_name"),
			"phone_number": attr("phone"), "location.country": attr("country"), "birth_date": attr("birth_date"),
			"order_count": attr("order_count"), "lifetime_value": attr("lifetime_value"), "profile_version": version},
	},
	{
		name: "braze", versionField: "profile_version",
		start: func(o esptest.Options) (server, string) {
			s := esptest.NewBraze(o)
			return s, s.URL()
		},
		yaml: func(url string, l limits) string {
			return `  - name: bz
    type: braze
    url: ` + url + `
    api_key: {value: ` + apiKey + `, insecure_plaintext: true}
    consent: marketing_opt_in
    fields: {first_name: first_name, last_name: last_name, phone: phone, country: country, dob: birth_date,
             order_count: order_count, lifetime_value: lifetime_value, profile_version: $version}
` + common(l)
		},
		fields: map[string]func(profile) string{"first_name": attr("first_name"), "last_name": attr("last_name"),
			"phone": attr("phone"), "country": attr("country"), "dob": attr("birth_date"),
			"order_count": attr("order_count"), "lifetime_value": attr("lifetime_value"), "profile_version": version},
	},
	{
		name: "webhook", allFields: true, versionField: "version",
		start: func(o esptest.Options) (server, string) {
			s := esptest.NewWebhook(o)
			return s, s.URL()
		},
		yaml: func(url string, l limits) string {
			return `  - name: hook
    type: webhook
    url: ` + url + `
    secret: {value: ` + apiKey + `, insecure_plaintext: true}
    consent: marketing_opt_in
    headers: {X-Source: profiled}
` + common(l)
		},
	},
}

// history is what the whole topic says beyond the final state: the last
// email of each deleted profile, and the emails more than one profile ever
// held (whose contact an email-keyed ESP cannot attribute to one profile).
type history struct {
	lastEmail map[string]string
	shared    map[string]bool
}

func (e *env) history() history {
	e.t.Helper()
	holders := map[string]map[string]bool{}
	h := history{lastEmail: map[string]string{}, shared: map[string]bool{}}
	for _, r := range e.readAll("profiles") {
		if r.Value == nil {
			continue
		}
		var p profile
		mustUnmarshal(e.t, r.Value, &p)
		email := strings.ToLower(txt(p.Attributes["email"]))
		if email == "" {
			continue
		}
		h.lastEmail[p.ProfileID] = email
		if holders[email] == nil {
			holders[email] = map[string]bool{}
		}
		holders[email][p.ProfileID] = true
		if len(holders[email]) > 1 {
			h.shared[email] = true
		}
	}
	return h
}

// check compares the server's contacts with the final profiles: every
// profile is there with its mapped fields and subscription status,
// deleted profiles are gone, and nothing else is subscribed.
func (e *env) check(c connector, srv server, hist history, skip map[string]bool) {
	e.t.Helper()
	final, deleted := e.finalState()
	for id := range skip {
		delete(final, id)
	}
	got := srv.Contacts()
	d := &diffs{t: e.t}
	want := map[string]profile{}
	for id, p := range final {
		email := strings.ToLower(txt(p.Attributes["email"]))
		key := id
		if c.keyByEmail {
			if email == "" || hist.shared[email] {
				continue
			}
			key = email
		}
		want[key] = p
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		p := want[key]
		g, ok := got[key]
		if !ok {
			d.errorf("%s: profile %s (%s) has no contact", c.name, p.ProfileID, key)
			continue
		}
		email := strings.ToLower(txt(p.Attributes["email"]))
		consent := p.Attributes["marketing_opt_in"] == true
		if g.Subscribed != consent && !hist.shared[email] {
			d.errorf("%s: profile %s: subscribed %v (status %q), want %v", c.name, p.ProfileID, g.Subscribed, g.Status, consent)
		}
		if email != "" && g.Email != email && !hist.shared[email] {
			d.errorf("%s: profile %s: email %q, want %q", c.name, p.ProfileID, g.Email, email)
		}
		if c.allFields {
			for name, v := range p.Attributes {
				if txt(g.Fields[name]) != txt(v) {
					d.errorf("%s: profile %s: %s = %q, want %q", c.name, p.ProfileID, name, txt(g.Fields[name]), txt(v))
				}
			}
			continue
		}
		for name, f := range c.fields {
			if w := f(p); txt(g.Fields[name]) != w {
				d.errorf("%s: profile %s: field %s = %q, want %q", c.name, p.ProfileID, name, txt(g.Fields[name]), w)
			}
		}
	}
	for key, g := range got {
		if _, ok := want[key]; ok {
			continue
		}
		switch {
		case c.keyByEmail && hist.shared[key]:
		case c.keyByEmail && g.Subscribed:
			d.errorf("%s: contact %s belongs to no profile any more but is still subscribed", c.name, key)
		case !c.keyByEmail:
			d.errorf("%s: unexpected contact %s (deleted: %v)", c.name, key, deleted[key])
		}
	}
	for id := range deleted {
		email := hist.lastEmail[id]
		if c.keyByEmail {
			if _, ok := got[email]; ok && !hist.shared[email] {
				d.errorf("%s: deleted profile %s still has a contact at %s", c.name, id, email)
			}
		}
	}
	d.done()
}

func mustUnmarshal(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := jsonUnmarshal(b, v); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
}
