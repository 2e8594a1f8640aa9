package scenario

import (
	"strings"
	"time"
)

// The oracle computes the expected profiles from the ground-truth model
// alone. It knows nothing of the wire formats and nothing of the pipeline:
// it applies the reference scenario's rules to the model's values.
//
//   - CRM attributes (email, first_name, last_name, phone, country,
//     birth_date, marketing_opt_in): each version of a row writes all seven at
//     its event time, a delete writes null to all seven.
//   - identify events write email, first_name and last_name of their profile.
//   - For each attribute the write with the greatest event time wins.
//   - Orders: the latest version of each order (by event time) says whether
//     it is live, whose it is, its status and its total. order_count,
//     lifetime_value and last_order_at aggregate the live orders of a
//     customer whose status is not cancelled or refunded; the three exist for
//     every customer an order was ever associated with.
//   - Clickstream: last_seen_at over all events, page_views over distinct
//     messageIds of page events, last_product_viewed from the latest
//     "Product Viewed" track event.

// Attribute names of the profiles topic.
const (
	attrEmail             = "email"
	attrFirstName         = "first_name"
	attrLastName          = "last_name"
	attrPhone             = "phone"
	attrCountry           = "country"
	attrBirthDate         = "birth_date"
	attrMarketingOptIn    = "marketing_opt_in"
	attrOrderCount        = "order_count"
	attrLifetimeValue     = "lifetime_value"
	attrLastOrderAt       = "last_order_at"
	attrLastSeenAt        = "last_seen_at"
	attrPageViews         = "page_views"
	attrLastProductViewed = "last_product_viewed"
)

// write is one timed write of an attribute; val nil is null.
type write struct {
	ts  int64
	val any
}

// lww holds the winning write per profile and attribute.
type lww struct {
	w    map[string]map[string]write
	ties int // competing writes with equal event times; the generator avoids them
}

func (l *lww) set(profile, attr string, ts int64, val any) {
	attrs := l.w[profile]
	if attrs == nil {
		attrs = map[string]write{}
		l.w[profile] = attrs
	}
	cur, ok := attrs[attr]
	switch {
	case !ok || ts > cur.ts:
		attrs[attr] = write{ts, val}
	case ts == cur.ts:
		l.ties++
	}
}

func oracle(m *model) map[string]map[string]any {
	expected, _ := expect(m)
	return expected
}

// expect returns the expected profiles and the number of ties between
// competing writes (which make the expectation ambiguous; always 0 for
// generated scenarios).
func expect(m *model) (map[string]map[string]any, int) {
	l := &lww{w: map[string]map[string]write{}}

	for _, c := range m.customers {
		id := c.profileID()
		for _, v := range c.versions {
			if v.op == opDelete {
				for _, a := range []string{attrEmail, attrFirstName, attrLastName, attrPhone, attrCountry, attrBirthDate, attrMarketingOptIn} {
					l.set(id, a, v.ts, nil)
				}
				continue
			}
			l.set(id, attrEmail, v.ts, normalized(v.row.email, normEmail))
			l.set(id, attrFirstName, v.ts, normalized(v.row.firstName, normName))
			l.set(id, attrLastName, v.ts, normalized(v.row.lastName, normName))
			l.set(id, attrPhone, v.ts, normalized(v.row.phone, normPhone))
			l.set(id, attrCountry, v.ts, normalized(v.row.country, normCountry))
			if v.row.birthDate == nil {
				l.set(id, attrBirthDate, v.ts, nil)
			} else {
				l.set(id, attrBirthDate, v.ts, time.Unix(int64(*v.row.birthDate)*86400, 0).UTC().Format("2006-01-02"))
			}
			if v.row.optIn == nil {
				l.set(id, attrMarketingOptIn, v.ts, nil)
			} else {
				l.set(id, attrMarketingOptIn, v.ts, *v.row.optIn)
			}
		}
	}

	// Clickstream.
	type clicks struct {
		lastSeen     int64
		pages        map[uint64]bool
		viewedAt     int64
		viewed       string
		productSeen  bool
		hasAnyEvents bool
	}
	agg := map[string]*clicks{}
	for _, p := range m.profiles {
		id := p.profileID()
		a := agg[id]
		if a == nil {
			a = &clicks{pages: map[uint64]bool{}}
			agg[id] = a
		}
		for _, e := range p.events {
			if !a.hasAnyEvents || e.ts > a.lastSeen {
				a.lastSeen = e.ts
			}
			a.hasAnyEvents = true
			switch {
			case e.typ == evPage:
				a.pages[e.msg] = true // the messageId
			case e.typ == evTrack && e.name == "Product Viewed":
				switch {
				case !a.productSeen || e.ts > a.viewedAt:
					a.viewedAt, a.viewed, a.productSeen = e.ts, e.product, true
				case e.ts == a.viewedAt:
					l.ties++
				}
			case e.typ == evIdentify:
				if e.traits.email != nil {
					l.set(id, attrEmail, e.ts, normEmail(*e.traits.email))
				}
				if e.traits.first != nil {
					l.set(id, attrFirstName, e.ts, normName(*e.traits.first))
				}
				if e.traits.last != nil {
					l.set(id, attrLastName, e.ts, normName(*e.traits.last))
				}
			}
		}
	}

	// Orders.
	type orders struct {
		count    int
		cents    int64
		lastAt   int64
		hasOrder bool
	}
	ord := map[string]*orders{}
	for _, o := range m.orders {
		latest := -1
		for i, v := range o.versions {
			if v.op != opDelete {
				// Created for, moved to or moved away from this customer.
				if ord[itoa(v.customerID)] == nil {
					ord[itoa(v.customerID)] = &orders{}
				}
			}
			switch {
			case latest < 0 || v.ts > o.versions[latest].ts:
				latest = i
			case v.ts == o.versions[latest].ts:
				l.ties++
			}
		}
		v := o.versions[latest]
		if v.op == opDelete || v.status == stCancelled || v.status == stRefunded {
			continue
		}
		a := ord[itoa(v.customerID)]
		a.count++
		a.cents += v.totalCents
		if !a.hasOrder || v.createdAt > a.lastAt {
			a.lastAt, a.hasOrder = v.createdAt, true
		}
	}

	// Assemble.
	out := map[string]map[string]any{}
	profile := func(id string) map[string]any {
		if out[id] == nil {
			out[id] = map[string]any{}
		}
		return out[id]
	}
	for id, attrs := range l.w {
		p := profile(id)
		for a, w := range attrs {
			p[a] = w.val
		}
	}
	for id, a := range agg {
		if !a.hasAnyEvents {
			continue
		}
		p := profile(id)
		p[attrLastSeenAt] = renderTime(a.lastSeen)
		if len(a.pages) > 0 {
			p[attrPageViews] = float64(len(a.pages))
		}
		if a.productSeen {
			p[attrLastProductViewed] = a.viewed
		}
	}
	for id, a := range ord {
		p := profile(id)
		p[attrOrderCount] = float64(a.count)
		p[attrLifetimeValue] = strings.Join([]string{itoa(a.cents / 100), twoDigits(a.cents % 100)}, ".")
		if a.hasOrder {
			p[attrLastOrderAt] = renderTime(a.lastAt)
		} else {
			p[attrLastOrderAt] = nil
		}
	}
	return out, l.ties
}

func renderTime(us int64) string { return time.UnixMicro(us).UTC().Format(time.RFC3339Nano) }

func twoDigits(n int64) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

// normalized applies norm to a nullable column; null stays null.
func normalized(s *string, norm func(string) string) any {
	if s == nil {
		return nil
	}
	return norm(*s)
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// normName trims and collapses every run of white space to one space.
func normName(s string) string { return strings.Join(strings.Fields(s), " ") }

func normCountry(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// normPhone formats a US number as E.164 by its digits: ten digits, or
// eleven starting with the country code 1. Anything else yields "", which no
// valid expectation contains (the generator only writes valid US numbers).
func normPhone(s string) string {
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) != 10 {
		return ""
	}
	return "+1" + string(d)
}
