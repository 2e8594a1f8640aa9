package scenario

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
)

func TestDeterminism(t *testing.T) {
	cfg := DefaultConfig()
	a, b := Generate(cfg), Generate(cfg)
	if !reflect.DeepEqual(a.Records, b.Records) {
		t.Fatal("two runs with the same config produced different records")
	}
	if !reflect.DeepEqual(a.Expected, b.Expected) || !reflect.DeepEqual(a.Bad, b.Bad) || a.Tombstones != b.Tombstones {
		t.Fatal("two runs with the same config produced different expectations")
	}
	cfg.Seed++
	if c := Generate(cfg); reflect.DeepEqual(a.Records, c.Records) {
		t.Fatal("a different seed produced the same records")
	}
}

func TestStreamEqualsGenerate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seed = 42
	want := Generate(cfg).Records
	var got []Record
	if err := Stream(cfg, func(r Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Stream emitted %d records that differ from Generate's %d", len(got), len(want))
	}

	stop := errors.New("stop")
	n := 0
	err := Stream(cfg, func(Record) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("Stream did not stop at emit's error: err %v after %d records", err, n)
	}
}

func TestRecordsAreValidJSON(t *testing.T) {
	s := Generate(DefaultConfig())
	invalid, tombstones := 0, 0
	for i, r := range s.Records {
		switch {
		case r.Value == nil:
			tombstones++
			// A tombstone directly follows the delete of the same key.
			prev := s.Records[i-1]
			if prev.Topic != r.Topic || !bytes.Equal(prev.Key, r.Key) || !bytes.Contains(prev.Value, []byte(`"op":"d"`)) {
				t.Errorf("record %d: tombstone %s %s does not follow its delete", i, r.Topic, r.Key)
			}
		case !json.Valid(r.Value):
			invalid++
		}
		if !json.Valid(r.Key) && r.Topic != TopicClickstream {
			t.Errorf("record %d: key %q is not JSON", i, r.Key)
		}
	}
	if invalid != s.Bad[BadInvalidJSON] {
		t.Errorf("%d records are not JSON, want %d (invalid_json)", invalid, s.Bad[BadInvalidJSON])
	}
	if tombstones != s.Tombstones || tombstones == 0 {
		t.Errorf("%d tombstones, Scenario.Tombstones = %d", tombstones, s.Tombstones)
	}
}

// ---- the oracle on a hand-built case ----

// handModel is one CRM customer (id 1) with its orders and clicks, and one
// anonymous visitor. Times are minutes after the streaming start.
func handModel(withDelete bool) *model {
	t0 := DefaultStart.UnixMicro() + streamStart
	at := func(min int64) int64 { return t0 + min*minute }
	row0 := crmRow{
		email: ptr("  Alice.Smith@Example.COM "), firstName: ptr("Mary  Ann"), lastName: ptr(" Smith"),
		phone: ptr("(415) 234-2671"), country: ptr(" de "), birthDate: ptr(int32(-365)), optIn: ptr(true),
		updatedAt: at(0) - 10,
	}
	row1 := row0
	row1.phone, row1.country, row1.lastName, row1.updatedAt = ptr("415.234.2671"), ptr("us"), ptr("Smith-Jones"), at(10)-10
	row2 := row1
	row2.email, row2.phone, row2.updatedAt = ptr("ALICE@EXAMPLE.ORG"), ptr("+1 650 234 9876"), at(20)-10
	c := &customer{id: 1, versions: []crmVersion{
		{change: change{op: opCreate, ts: at(0)}, row: row0},
		{change: change{op: opUpdate, ts: at(10), delivery: delivery{late: true, dup: true}}, row: row1},
		{change: change{op: opUpdate, ts: at(20)}, row: row2},
	}}
	if withDelete {
		c.versions = append(c.versions, crmVersion{change: change{op: opDelete, ts: at(60), delivery: delivery{dup: true}}})
	}

	ov := func(op byte, min int64, cust int64, status string, cents int64, created int64) orderVersion {
		return orderVersion{change: change{op: op, ts: at(min)}, customerID: cust, status: status, totalCents: cents, currency: "USD", createdAt: created}
	}
	orders := []*order{
		{id: 1, versions: []orderVersion{ // paid: counts for customer 1
			ov(opCreate, 5, 1, stPending, 1999, at(5)-7),
			ov(opUpdate, 15, 1, stPaid, 2498, at(5)-7),
		}},
		{id: 2, schema: true, versions: []orderVersion{ // moved to customer 2
			ov(opCreate, 6, 1, stPending, 10000, at(6)-7),
			ov(opUpdate, 30, 2, stPending, 10000, at(6)-7),
		}},
		{id: 3, versions: []orderVersion{ // deleted; its late update arrives after the delete
			ov(opCreate, 7, 1, stPending, 550, at(7)-7),
			ov(opUpdate, 8, 1, stPaid, 550, at(7)-7),
			{change: change{op: opDelete, ts: at(9)}},
		}},
		{id: 4, versions: []orderVersion{ // cancelled: does not count
			ov(opCreate, 11, 1, stPending, 4200, at(11)-7),
			ov(opUpdate, 12, 1, stCancelled, 4200, at(11)-7),
		}},
	}
	orders[2].versions[1].late = true

	browser := device{anonID: "a1a1a1a1-0000-4000-8000-000000000001", skewMs: 300_000, lib: libBrowser}
	ev := func(typ int, min int64, msg uint64) event {
		return event{typ: typ, ts: at(min) / 1000 * 1000, sendMs: 120, msg: msg}
	}
	page2 := ev(evPage, 2, 1)
	page2.name, page2.dup = "Home", true
	viewA := ev(evTrack, 3, 2)
	viewA.name, viewA.product = "Product Viewed", "prod-A"
	viewB := ev(evTrack, 4, 3)
	viewB.name, viewB.product, viewB.late = "Product Viewed", "prod-B", true
	ident25 := ev(evIdentify, 25, 4)
	ident25.traits = &traits{email: ptr("  Alice@Work.Example "), last: ptr("Jones"), camel: true}
	page65 := ev(evPage, 65, 5)
	page65.name = "Cart"
	ident70 := ev(evIdentify, 70, 6)
	ident70.traits = &traits{first: ptr("  Alice  ")}
	known := &clickProfile{userID: "1", devices: []device{browser},
		events: []event{page2, viewA, viewB, ident25, page65, ident70}}

	visitor := &clickProfile{devices: []device{{anonID: "b2b2b2b2-0000-4000-8000-000000000002", skewMs: -420_000, lib: libBrowser}}}
	anonPage := ev(evPage, 40, 7)
	anonPage.name = "Home"
	visitor.events = []event{anonPage}

	m := &model{seed: 7, customers: []*customer{c}, orders: orders, profiles: []*clickProfile{known, visitor}}
	deliver(m)
	return m
}

func TestOracleHandBuilt(t *testing.T) {
	t0 := DefaultStart.UnixMicro() + streamStart
	ts := func(min, us int64) string { return renderTime(t0 + min*minute + us) }
	orders := map[string]any{
		"2": map[string]any{attrOrderCount: 1.0, attrLifetimeValue: "100.00", attrLastOrderAt: ts(6, -7)},
	}
	anon := map[string]any{attrLastSeenAt: ts(40, 0), attrPageViews: 1.0}

	t.Run("without delete", func(t *testing.T) {
		s := assemble(handModel(false))
		want := map[string]map[string]any{
			"1": {
				attrEmail:             "alice@work.example", // identify at 25 beats the CRM at 20
				attrFirstName:         "Alice",              // identify at 70
				attrLastName:          "Jones",              // identify at 25 beats "Smith-Jones" at 20
				attrPhone:             "+16502349876",
				attrCountry:           "US",
				attrBirthDate:         "1969-01-01",
				attrMarketingOptIn:    true,
				attrOrderCount:        1.0,
				attrLifetimeValue:     "24.98",
				attrLastOrderAt:       ts(5, -7),
				attrLastSeenAt:        ts(70, 0),
				attrPageViews:         2.0,
				attrLastProductViewed: "prod-B",
			},
			"2": orders["2"].(map[string]any),
			"anon:b2b2b2b2-0000-4000-8000-000000000002": anon,
		}
		if !reflect.DeepEqual(s.Expected, want) {
			t.Errorf("Expected =\n%v\nwant\n%v", s.Expected, want)
		}
		// The CRM row as of the second update, all normalizers applied.
		m := handModel(false)
		m.customers[0].versions = m.customers[0].versions[:2]
		m.profiles = nil
		got := oracle(m)["1"]
		wantCRM := map[string]any{attrEmail: "alice.smith@example.com", attrFirstName: "Mary Ann", attrLastName: "Smith-Jones",
			attrPhone: "+14152342671", attrCountry: "US", attrBirthDate: "1969-01-01", attrMarketingOptIn: true,
			attrOrderCount: 1.0, attrLifetimeValue: "24.98", attrLastOrderAt: ts(5, -7)}
		if !reflect.DeepEqual(got, wantCRM) {
			t.Errorf("profile 1 =\n%v\nwant\n%v", got, wantCRM)
		}
	})

	t.Run("CRM delete then identify", func(t *testing.T) {
		s := assemble(handModel(true))
		want := map[string]map[string]any{
			"1": {
				attrEmail: nil, attrFirstName: "Alice", attrLastName: nil, attrPhone: nil, attrCountry: nil,
				attrBirthDate: nil, attrMarketingOptIn: nil,
				attrOrderCount: 1.0, attrLifetimeValue: "24.98", attrLastOrderAt: ts(5, -7),
				attrLastSeenAt: ts(70, 0), attrPageViews: 2.0, attrLastProductViewed: "prod-B",
			},
			"2": orders["2"].(map[string]any),
			"anon:b2b2b2b2-0000-4000-8000-000000000002": anon,
		}
		if !reflect.DeepEqual(s.Expected, want) {
			t.Errorf("Expected =\n%v\nwant\n%v", s.Expected, want)
		}
		checkHandRecords(t, s)
		// The wire-level replay agrees.
		if got := replay(t, s.Records); !reflect.DeepEqual(got.expected, want) {
			t.Errorf("replay =\n%v\nwant\n%v", got.expected, want)
		}
	})
}

// checkHandRecords checks the delivery of the hand-built case: deletes,
// tombstones, late records and duplicates.
func checkHandRecords(t *testing.T, s *Scenario) {
	t.Helper()
	type decoded struct {
		i    int
		rec  Record
		env  map[string]any
		tsUS int64
	}
	var crm, orders, clicks []decoded
	seen := map[string]int{}
	dups := 0
	for i, r := range s.Records {
		k := r.Topic + "\x00" + string(r.Key) + "\x00" + string(r.Value)
		if r.Value != nil {
			if seen[k]++; seen[k] == 2 {
				dups++
			}
		}
		d := decoded{i: i, rec: r}
		if r.Value != nil && r.Topic != TopicClickstream {
			d.env = payloadOf(t, r.Value)
			d.tsUS = int64(d.env["source"].(map[string]any)["ts_us"].(float64))
		}
		switch r.Topic {
		case TopicCustomers:
			crm = append(crm, d)
		case TopicOrders:
			orders = append(orders, d)
		default:
			clicks = append(clicks, d)
		}
	}
	if dups != 3 { // CRM update, CRM delete, page
		t.Errorf("%d duplicates, want 3", dups)
	}
	// Order 3: c, d, tombstone, then the late u.
	var o3 []decoded
	for _, d := range orders {
		if string(d.rec.Key) == `{"id":3}` {
			o3 = append(o3, d)
		}
	}
	if len(o3) != 4 || o3[0].env["op"] != "c" || o3[1].env["op"] != "d" || o3[2].rec.Value != nil || o3[3].env["op"] != "u" {
		t.Fatalf("order 3 delivered as %v, want c, d, tombstone, late u", o3)
	}
	if before, _ := json.Marshal(o3[1].env["before"]); string(before) != `{"id":3}` || o3[1].env["after"] != nil {
		t.Errorf("order delete: before %s after %v, want the primary key only", before, o3[1].env["after"])
	}
	if o3[3].tsUS >= o3[1].tsUS {
		t.Error("the late order update is not older than the delete")
	}
	// Order 2 is rendered with schemas.
	for _, d := range orders {
		if bytes.Contains(d.rec.Key, []byte(`"payload":{"id":2}`)) && (d.rec.Value != nil && !bytes.HasPrefix(d.rec.Value, []byte(`{"schema":`))) {
			t.Error("order 2 has a schema key but a schemaless value")
		}
	}
	// The first CRM update is delivered after the second.
	var ops []string
	for _, d := range crm {
		if d.rec.Value != nil {
			ops = append(ops, fmt.Sprint(d.env["op"], (d.tsUS-crm[0].tsUS)/minute))
		} else {
			ops = append(ops, "tombstone")
		}
	}
	if want := []string{"c0", "u20", "u10", "u10", "d60", "tombstone", "d60"}; !slices.Equal(ops, want) {
		t.Errorf("CRM delivery %v, want the update at 10 after the one at 20", ops)
	}
	// prod-B (viewed at 4) arrives after the identify at 25.
	order := ""
	for _, d := range clicks {
		switch {
		case bytes.Contains(d.rec.Value, []byte(`"prod-B"`)):
			order += "B"
		case bytes.Contains(d.rec.Value, []byte(`Alice@Work.Example`)):
			order += "I"
		}
	}
	if order != "IB" {
		t.Errorf("clickstream delivery %q, want the late Product Viewed after the identify", order)
	}
}

// ---- wire-level replay: an independent consumer of the records ----

// replayed is what a minimal reference consumer makes of the records.
type replayed struct {
	expected   map[string]map[string]any
	bad        map[string]int
	tombstones int
	late       int            // good records older than one already delivered for the same row or profile
	dups       int            // records delivered a second time
	good       map[string]int // distinct good records by topic
	keys       map[string]map[string]bool
	known      int // events with a userId
	anon       int // events with only an anonymousId
	skews      []int64
	phones     []string
}

var (
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
	moneyRE   = regexp.MustCompile(`^\d+\.\d\d$`)
)

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && strings.Contains(s[strings.IndexByte(s, '@'):], ".")
}

// payloadOf decodes a Debezium value with or without schema.
func payloadOf(t *testing.T, v []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(v, &doc); err != nil {
		t.Fatalf("decode %s: %v", v, err)
	}
	if p, ok := doc["payload"].(map[string]any); ok && doc["schema"] != nil {
		return p
	}
	return doc
}

func num(v any) int64 { return int64(v.(float64)) }

func parseCents(s string) (int64, bool) {
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 2 {
		return 0, false
	}
	w, err1 := strconv.ParseInt(strings.TrimPrefix(whole, "-"), 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	if strings.HasPrefix(whole, "-") {
		return -(w*100 + f), true
	}
	return w*100 + f, true
}

func replay(t *testing.T, records []Record) *replayed {
	t.Helper()
	out := &replayed{bad: map[string]int{}, good: map[string]int{}, keys: map[string]map[string]bool{}}
	l := &lww{w: map[string]map[string]write{}}
	type orderState struct {
		ts      int64
		deleted bool
		cust    string
		status  string
		cents   int64
		created int64
	}
	orders := map[string]*orderState{}
	assoc := map[string]bool{}
	type clicks struct {
		lastSeen int64
		pages    map[string]bool
		viewedAt int64
		viewed   string
	}
	cl := map[string]*clicks{}
	newest := map[string]int64{} // newest event time delivered per row or profile
	seen := map[string]bool{}
	addKey := func(topic, k string) {
		if out.keys[topic] == nil {
			out.keys[topic] = map[string]bool{}
		}
		out.keys[topic][k] = true
	}
	good := func(topic, entity string, ts int64) {
		out.good[topic]++
		if n, ok := newest[entity]; ok && ts < n {
			out.late++
		}
		newest[entity] = max(newest[entity], ts)
	}

	for _, r := range records {
		if r.Value == nil {
			out.tombstones++
			continue
		}
		k := r.Topic + "\x00" + string(r.Key) + "\x00" + string(r.Value)
		if seen[k] {
			out.dups++
			continue // a duplicate changes nothing; skip it to count the rest once
		}
		seen[k] = true
		if !json.Valid(r.Value) {
			out.bad[BadInvalidJSON]++
			continue
		}
		switch r.Topic {
		case TopicCustomers:
			env := payloadOf(t, r.Value)
			ts := num(env["source"].(map[string]any)["ts_us"])
			if env["op"] == "d" {
				id := fmt.Sprint(num(env["before"].(map[string]any)["id"]))
				for _, a := range []string{attrEmail, attrFirstName, attrLastName, attrPhone, attrCountry, attrBirthDate, attrMarketingOptIn} {
					l.set(id, a, ts, nil)
				}
				good(r.Topic, "c"+id, ts)
				continue
			}
			row := env["after"].(map[string]any)
			id := fmt.Sprint(num(row["id"]))
			str := func(col string, norm func(string) string) any {
				if s, ok := row[col].(string); ok {
					return norm(s)
				}
				return nil
			}
			email := str("email", func(s string) string { return strings.ToLower(strings.TrimSpace(s)) })
			country := str("country", func(s string) string { return strings.ToUpper(strings.TrimSpace(s)) })
			// Every phone, also of bad records, is a valid US number.
			var phone any
			if s, ok := row["phone"].(string); ok {
				out.phones = append(out.phones, s)
				n, err := phonenumbers.Parse(s, "US")
				if err != nil || !phonenumbers.IsValidNumber(n) {
					t.Errorf("customer %s: phone %q is not a valid US number", id, s)
				}
				phone = phonenumbers.Format(n, phonenumbers.E164)
			}
			if e, ok := email.(string); ok && !validEmail(e) {
				out.bad[BadInvalidEmail]++
				continue
			}
			if c, ok := country.(string); ok && !countryRE.MatchString(c) {
				out.bad[BadInvalidCountry]++
				continue
			}
			good(r.Topic, "c"+id, ts)
			addKey(r.Topic, id)
			collapse := func(s string) string { return strings.Join(strings.Fields(s), " ") }
			l.set(id, attrEmail, ts, email)
			l.set(id, attrCountry, ts, country)
			l.set(id, attrFirstName, ts, str("first_name", collapse))
			l.set(id, attrLastName, ts, str("last_name", collapse))
			l.set(id, attrPhone, ts, phone)
			var birth any
			if d, ok := row["birth_date"].(float64); ok {
				birth = time.Date(1970, 1, 1+int(d), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			}
			l.set(id, attrBirthDate, ts, birth)
			l.set(id, attrMarketingOptIn, ts, row["marketing_opt_in"])

		case TopicOrders:
			env := payloadOf(t, r.Value)
			ts := num(env["source"].(map[string]any)["ts_us"])
			if env["op"] == "d" {
				id := fmt.Sprint(num(env["before"].(map[string]any)["id"]))
				good(r.Topic, "o"+id, ts)
				if o := orders[id]; o == nil || ts > o.ts {
					orders[id] = &orderState{ts: ts, deleted: true}
				}
				continue
			}
			row := env["after"].(map[string]any)
			id := fmt.Sprint(num(row["id"]))
			cents, ok := parseCents(row["total"].(string))
			if !ok {
				t.Fatalf("order %s: total %q", id, row["total"])
			}
			if cents < 0 {
				out.bad[BadNegativeTotal]++
				continue
			}
			good(r.Topic, "o"+id, ts)
			addKey(r.Topic, id)
			cust := fmt.Sprint(num(row["customer_id"]))
			assoc[cust] = true
			if o := orders[id]; o == nil || ts > o.ts {
				orders[id] = &orderState{ts: ts, cust: cust, status: row["status"].(string), cents: cents, created: num(row["created_at"])}
			}

		case TopicClickstream:
			var e struct {
				Type, MessageID, UserID, AnonymousID, Event string
				Timestamp, OriginalTimestamp, SentAt        string
				ReceivedAt                                  string
				Properties                                  map[string]any
				Traits                                      map[string]any
			}
			if err := json.Unmarshal(r.Value, &e); err != nil {
				t.Fatal(err)
			}
			if e.UserID == "" && e.AnonymousID == "" {
				out.bad[BadNoProfileID]++
				continue
			}
			var tm [4]time.Time
			var err error
			for i, s := range []string{e.Timestamp, e.OriginalTimestamp, e.SentAt, e.ReceivedAt} {
				if tm[i], err = time.Parse(time.RFC3339Nano, s); err != nil {
					break
				}
			}
			if err != nil {
				out.bad[BadTimestamp]++
				continue
			}
			ts := tm[3].Add(-tm[2].Sub(tm[1])).UnixMicro()
			if ts != tm[0].UnixMicro() {
				t.Errorf("event %s: timestamp %s is not the skew-corrected time", e.MessageID, e.Timestamp)
			}
			out.skews = append(out.skews, tm[1].Sub(tm[0]).Milliseconds())
			id := e.UserID
			if id == "" {
				id = "anon:" + e.AnonymousID
				out.anon++
			} else {
				out.known++
			}
			good(r.Topic, "p"+id, ts)
			addKey(r.Topic, id)
			c := cl[id]
			if c == nil {
				c = &clicks{lastSeen: ts, pages: map[string]bool{}, viewedAt: math.MinInt64}
				cl[id] = c
			}
			c.lastSeen = max(c.lastSeen, ts)
			switch {
			case e.Type == "page":
				c.pages[e.MessageID] = true
			case e.Type == "track" && e.Event == "Product Viewed" && ts > c.viewedAt:
				c.viewedAt, c.viewed = ts, e.Properties["product_id"].(string)
			case e.Type == "identify":
				trait := func(attr string, keys ...string) {
					for _, k := range keys {
						if s, ok := e.Traits[k].(string); ok {
							l.set(id, attr, ts, strings.Join(strings.Fields(s), " "))
						}
					}
				}
				if s, ok := e.Traits["email"].(string); ok {
					if s = strings.ToLower(strings.TrimSpace(s)); !validEmail(s) {
						t.Errorf("identify %s: invalid email %q", e.MessageID, s)
					}
					l.set(id, attrEmail, ts, s)
				}
				trait(attrFirstName, "first_name", "firstName")
				trait(attrLastName, "last_name", "lastName")
			}
		}
	}
	if l.ties > 0 {
		t.Errorf("replay saw %d ties between competing writes", l.ties)
	}

	out.expected = map[string]map[string]any{}
	profile := func(id string) map[string]any {
		if out.expected[id] == nil {
			out.expected[id] = map[string]any{}
		}
		return out.expected[id]
	}
	for id, attrs := range l.w {
		for a, w := range attrs {
			profile(id)[a] = w.val
		}
	}
	for id, c := range cl {
		p := profile(id)
		p[attrLastSeenAt] = time.UnixMicro(c.lastSeen).UTC().Format(time.RFC3339Nano)
		if len(c.pages) > 0 {
			p[attrPageViews] = float64(len(c.pages))
		}
		if c.viewed != "" {
			p[attrLastProductViewed] = c.viewed
		}
	}
	type sum struct {
		n      int
		cents  int64
		lastAt int64
	}
	sums := map[string]*sum{}
	for cust := range assoc {
		sums[cust] = &sum{lastAt: math.MinInt64}
	}
	for _, o := range orders {
		if o.deleted || o.status == "cancelled" || o.status == "refunded" {
			continue
		}
		s := sums[o.cust]
		s.n++
		s.cents += o.cents
		s.lastAt = max(s.lastAt, o.created)
	}
	for cust, s := range sums {
		p := profile(cust)
		p[attrOrderCount] = float64(s.n)
		p[attrLifetimeValue] = fmt.Sprintf("%d.%02d", s.cents/100, s.cents%100)
		p[attrLastOrderAt] = nil
		if s.n > 0 {
			p[attrLastOrderAt] = time.UnixMicro(s.lastAt).UTC().Format(time.RFC3339Nano)
		}
	}
	return out
}

// TestReplayMatchesOracle decodes the records as a minimal consumer would,
// with phonenumbers for E.164 and net/mail for addresses, and checks that it
// arrives at the oracle's profiles and recognizes every bad record.
func TestReplayMatchesOracle(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		cfg := DefaultConfig()
		cfg.Seed = seed
		s := Generate(cfg)
		got := replay(t, s.Records)
		if !reflect.DeepEqual(got.bad, s.Bad) {
			t.Errorf("seed %d: replay found bad records %v, want %v", seed, got.bad, s.Bad)
		}
		if got.tombstones != s.Tombstones {
			t.Errorf("seed %d: replay found %d tombstones, want %d", seed, got.tombstones, s.Tombstones)
		}
		if len(got.expected) != len(s.Expected) {
			t.Errorf("seed %d: replay has %d profiles, oracle %d", seed, len(got.expected), len(s.Expected))
		}
		diffs := 0
		for id, want := range s.Expected {
			if g := got.expected[id]; !reflect.DeepEqual(g, want) && diffs < 5 {
				diffs++
				t.Errorf("seed %d: profile %s:\nreplay %v\noracle %v", seed, id, g, want)
			}
		}
	}
}

func TestNoTies(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 4} {
		cfg := DefaultConfig()
		cfg.Seed = seed
		if _, ties := expect(build(cfg)); ties != 0 {
			t.Errorf("seed %d: %d competing writes share an event time", seed, ties)
		}
	}
}

func TestPhonesAreValid(t *testing.T) {
	s := Generate(DefaultConfig())
	got := replay(t, s.Records) // fails on any invalid phone in a good record
	if len(got.phones) < 100 {
		t.Fatalf("only %d phone values", len(got.phones))
	}
	formats := map[string]bool{}
	digit := regexp.MustCompile(`\d`)
	for _, p := range got.phones {
		formats[digit.ReplaceAllString(p, "9")] = true
	}
	if len(formats) < 6 {
		t.Errorf("phones come in only %d formats: %v", len(formats), formats)
	}
	// The oracle's digit logic agrees with libphonenumber.
	for id, p := range s.Expected {
		phone, ok := p[attrPhone].(string)
		if !ok {
			continue
		}
		n, err := phonenumbers.Parse(phone, "US")
		if err != nil || !phonenumbers.IsValidNumber(n) || phonenumbers.Format(n, phonenumbers.E164) != phone {
			t.Errorf("profile %s: expected phone %q is not a valid E.164 number", id, phone)
		}
	}
}

func TestExpectedValuesAreValid(t *testing.T) {
	s := Generate(DefaultConfig())
	for id, p := range s.Expected {
		for a, v := range p {
			if v == nil {
				continue
			}
			ok := true
			switch a {
			case attrEmail:
				ok = validEmail(v.(string))
			case attrCountry:
				ok = countryRE.MatchString(v.(string))
			case attrFirstName, attrLastName:
				ok = v.(string) == strings.Join(strings.Fields(v.(string)), " ") && v.(string) != ""
			case attrLifetimeValue:
				ok = moneyRE.MatchString(v.(string))
			case attrOrderCount, attrPageViews:
				ok = v.(float64) == math.Trunc(v.(float64)) && v.(float64) >= 0
			case attrLastSeenAt, attrLastOrderAt:
				_, err := time.Parse(time.RFC3339Nano, v.(string))
				ok = err == nil
			}
			if !ok {
				t.Errorf("profile %s: %s = %#v", id, a, v)
			}
		}
	}
}

func TestCountsFollowConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Customers = 1000
	s := Generate(cfg)
	got := replay(t, s.Records)
	good := 0
	for _, n := range got.good {
		good += n
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.3f, want %.3f ± %.3f", what, got, want, tol)
		} else {
			t.Logf("%s = %.3f (config %.3f)", what, got, want)
		}
	}
	if n := len(got.keys[TopicCustomers]); n != cfg.Customers {
		t.Errorf("%d customers, want %d", n, cfg.Customers)
	}
	near("orders per customer", float64(len(got.keys[TopicOrders]))/float64(cfg.Customers), cfg.OrdersPerCustomer, 0.15*cfg.OrdersPerCustomer)
	near("events per customer", float64(got.known)/float64(cfg.Customers), cfg.EventsPerCustomer, 0.15*cfg.EventsPerCustomer)
	near("anonymous share", float64(got.anon)/float64(got.known+got.anon), cfg.AnonymousShare, 0.02)
	near("late share", float64(got.late)/float64(good), cfg.LateShare, 0.3*cfg.LateShare)
	near("duplicate share", float64(got.dups)/float64(good), cfg.DuplicateShare, 0.2*cfg.DuplicateShare)
	bad := 0
	for _, k := range BadKinds {
		if s.Bad[k] == 0 {
			t.Errorf("no bad records of kind %s", k)
		}
		bad += s.Bad[k]
	}
	near("bad share", float64(bad)/float64(good), cfg.BadShare, 0.1*cfg.BadShare)
	if got.good[TopicClickstream] != s.stats.knownEvts+s.stats.anonEvts {
		t.Errorf("replay counted %d events, the model has %d", got.good[TopicClickstream], s.stats.knownEvts+s.stats.anonEvts)
	}

	// Skewed activity: the busiest tenth of customers sends far more than
	// the quietest half.
	per := map[string]int{}
	for _, r := range s.Records {
		if r.Topic == TopicClickstream && r.Value != nil {
			per[string(r.Key)]++
		}
	}
	var counts []int
	for i := 1; i <= cfg.Customers; i++ {
		counts = append(counts, per[fmt.Sprint(i)])
	}
	slices.Sort(counts)
	if top, median := counts[len(counts)*9/10], counts[len(counts)/2]; top < 2*median {
		t.Errorf("activity is not skewed: 90th percentile %d, median %d", top, median)
	}
	// Clock skew up to ±10 minutes, and present.
	skewed := 0
	for _, sk := range got.skews {
		if sk < -10*60_000 || sk > 10*60_000 {
			t.Fatalf("clock skew %d ms beyond ±10 minutes", sk)
		}
		if sk != 0 {
			skewed++
		}
	}
	if skewed < len(got.skews)/2 {
		t.Errorf("only %d of %d events have a skewed clock", skewed, len(got.skews))
	}
}

// TestDebeziumShape checks details of the Debezium records: LSNs increase
// with event time per database, both value forms and both snapshot forms
// occur, and every change is attributed to its source.
func TestDebeziumShape(t *testing.T) {
	s := Generate(DefaultConfig())
	type pos struct{ ts, lsn int64 }
	perDB := map[string][]pos{}
	forms := map[string]int{}
	for _, r := range s.Records {
		if r.Topic == TopicClickstream || r.Value == nil || !json.Valid(r.Value) {
			continue
		}
		var doc map[string]any
		_ = json.Unmarshal(r.Value, &doc)
		env := payloadOf(t, r.Value)
		if _, ok := doc["schema"]; ok {
			forms["schema"]++
			if !bytes.HasPrefix(r.Key, []byte(`{"schema":`)) {
				t.Errorf("value with schema, key without: %s", r.Key)
			}
		} else {
			forms["bare"]++
		}
		src := env["source"].(map[string]any)
		switch sn := src["snapshot"].(type) {
		case bool:
			forms["bool snapshot"]++
			if sn != (env["op"] == "r") {
				t.Errorf("snapshot %v for op %v", sn, env["op"])
			}
		case string:
			if (sn == "true") != (env["op"] == "r") {
				t.Errorf("snapshot %q for op %v", sn, env["op"])
			}
		}
		forms["op "+env["op"].(string)]++
		perDB[src["db"].(string)] = append(perDB[src["db"].(string)], pos{num(src["ts_us"]), num(src["lsn"])})
		if _, ok := env["transaction"]; !ok || env["transaction"] != nil {
			t.Errorf("transaction is not null")
		}
	}
	for _, k := range []string{"schema", "bare", "bool snapshot", "op r", "op c", "op u", "op d"} {
		if forms[k] == 0 {
			t.Errorf("no %s records (%v)", k, forms)
		}
	}
	if share := float64(forms["schema"]) / float64(forms["schema"]+forms["bare"]); share < 0.1 || share > 0.3 {
		t.Errorf("%.2f of the Debezium records have schemas, want about 0.2", share)
	}
	for db, ps := range perDB {
		slices.SortFunc(ps, func(a, b pos) int { return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.lsn, b.lsn)) })
		for i := 1; i < len(ps); i++ {
			if ps[i].lsn < ps[i-1].lsn || (ps[i].lsn == ps[i-1].lsn && ps[i].ts != ps[i-1].ts) {
				t.Fatalf("%s: LSN %d at %d after LSN %d at %d", db, ps[i].lsn, ps[i].ts, ps[i-1].lsn, ps[i-1].ts)
			}
		}
	}
}
