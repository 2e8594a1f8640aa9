package scenario

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Timeline (µs offsets from Config.Start): the CRM and shop snapshots run in
// the first hour, streaming changes and clickstream events follow until
// timelineSpan. Clickstream events may run a little past the end.
const (
	second        = int64(time.Second / time.Microsecond)
	minute        = 60 * second
	hour          = 60 * minute
	day           = 24 * hour
	snapshotStart = second
	streamStart   = hour
	timelineSpan  = 30 * day
	minRowGap     = 5 * second // between two versions of one row: more than any delivery lag
	minEventGap   = second     // between two events of one profile: more than any delivery lag
)

// builder turns a Config into a model using one seeded random source. Every
// loop runs in a fixed order, so the same Config gives the same model.
type builder struct {
	r              *rand.Rand
	cfg            Config
	m              *model
	start, end     int64 // µs
	ids            uint64
	persons        []person // by customer index
	crmSnapshot    []*crmVersion
	ordersSnapshot []*orderVersion
}

func build(cfg Config) *model {
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	b := &builder{
		r:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5ce7a210)),
		cfg:   cfg,
		m:     &model{seed: cfg.Seed},
		start: cfg.Start.UnixMicro(),
	}
	b.end = b.start + timelineSpan
	b.buildCustomers()
	b.buildOrders()
	b.placeSnapshots()
	b.buildClickstream()
	b.markDelivery()
	b.buildBad()
	deliver(b.m)
	return b.m
}

// nextID returns a seed for a fresh UUID, unique within the scenario.
func (b *builder) nextID() uint64 {
	b.ids++
	return uint64(b.cfg.Seed)<<40 ^ b.ids
}

// between returns a uniform time in [lo, hi).
func (b *builder) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + b.r.Int64N(hi-lo)
}

func (b *builder) chance(p float64) bool { return b.r.Float64() < p }

// poisson samples a Poisson count with the given mean.
func (b *builder) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*b.r.NormFloat64())))
	}
	limit, p, k := math.Exp(-mean), 1.0, 0
	for {
		p *= b.r.Float64()
		if p <= limit {
			return k
		}
		k++
	}
}

// lognormal samples a skewed count with the given mean: most are below the
// mean, a few far above it.
func (b *builder) lognormal(mean, sigma float64) int {
	if mean <= 0 {
		return 0
	}
	mu := math.Log(mean) - sigma*sigma/2
	return min(int(math.Round(math.Exp(mu+sigma*b.r.NormFloat64()))), int(60*mean)+1)
}

// ---- customers ----

func (b *builder) buildCustomers() {
	for i := range b.cfg.Customers {
		id := int64(i + 1)
		p := newPerson(b.r, id)
		b.persons = append(b.persons, p)
		c := &customer{id: id, schema: b.chance(0.2)}
		row := b.initialRow(p)
		var first crmVersion
		if b.chance(0.6) {
			// Existed before the connector started: a snapshot read. Its time
			// is set by placeSnapshots; updated_at is long before.
			row.updatedAt = b.start - b.between(hour, 700*day)
			first = crmVersion{change: change{op: opRead}, row: row}
		} else {
			ts := b.between(b.start+streamStart, b.end-2*day)
			row.updatedAt = ts - b.r.Int64N(5000)
			first = crmVersion{change: change{op: opCreate, ts: ts}, row: row}
		}
		c.versions = append(c.versions, first)
		lo := max(first.ts, b.start+streamStart)
		for _, ts := range b.spacedTimes(lo, b.end, b.poisson(1.6)) {
			row = b.mutateRow(row, p)
			row.updatedAt = ts - b.r.Int64N(5000)
			c.versions = append(c.versions, crmVersion{change: change{op: opUpdate, ts: ts}, row: row})
		}
		if last := c.versions[len(c.versions)-1].ts; b.chance(0.06) && max(last, lo)+minRowGap < b.end {
			ts := b.between(max(last, lo)+minRowGap, b.end)
			c.versions = append(c.versions, crmVersion{change: change{op: opDelete, ts: ts}})
		}
		for j := range c.versions {
			c.versions[j].boolSnap = !c.schema && b.chance(0.05)
		}
		if first.op == opRead {
			b.crmSnapshot = append(b.crmSnapshot, &c.versions[0])
		}
		b.m.customers = append(b.m.customers, c)
	}
}

// spacedTimes returns n sorted times in (lo, hi), each at least minRowGap
// after lo and after the previous one; fewer if they do not fit.
func (b *builder) spacedTimes(lo, hi int64, n int) []int64 {
	ts := make([]int64, 0, n)
	for range n {
		ts = append(ts, b.between(lo+minRowGap, hi))
	}
	slices.Sort(ts)
	out := ts[:0]
	prev := lo
	for _, t := range ts {
		if t-prev >= minRowGap && t < hi {
			out = append(out, t)
			prev = t
		}
	}
	return out
}

func (b *builder) initialRow(p person) crmRow {
	row := crmRow{
		email:     ptr(messyEmail(b.r, p.emailLocal, p.emailDomain)),
		firstName: ptr(messyName(b.r, p.first.display)),
		lastName:  ptr(messyName(b.r, p.last.display)),
		phone:     ptr(messyPhone(b.r, p.phone)),
		country:   ptr(messyCountry(b.r, p.country)),
		birthDate: ptr(b.birthDate()),
		optIn:     ptr(b.chance(0.4)),
	}
	if b.chance(0.02) {
		row.email = nil
	}
	if b.chance(0.02) {
		row.firstName = nil
	}
	if b.chance(0.03) {
		row.lastName = nil
	}
	if b.chance(0.12) {
		row.phone = nil
	}
	if b.chance(0.04) {
		row.country = nil
	}
	if b.chance(0.25) {
		row.birthDate = nil
	}
	if b.chance(0.03) {
		row.optIn = nil
	}
	return row
}

// birthDate returns days since 1970-01-01 for a date in 1940-2007.
func (b *builder) birthDate() int32 {
	lo := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
	hi := time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
	return int32(b.between(lo, hi))
}

// mutateRow returns row with one to three columns changed, as an update
// would change them: a new address or the same one typed differently, a
// reformatted or new phone number, a changed name, and so on.
func (b *builder) mutateRow(row crmRow, p person) crmRow {
	for range 1 + b.r.IntN(3) {
		switch b.r.IntN(8) {
		case 0, 1:
			switch {
			case b.chance(0.04):
				row.email = nil
			case b.chance(0.5) || row.email == nil:
				l, d := newEmail(b.r, p.first, p.last, int64(1000+b.r.IntN(9000)))
				row.email = ptr(messyEmail(b.r, l, d))
			default:
				l, d, _ := strings.Cut(strings.ToLower(strings.TrimSpace(*row.email)), "@")
				row.email = ptr(messyEmail(b.r, l, d))
			}
		case 2:
			if b.chance(0.5) {
				row.firstName = ptr(messyName(b.r, firstNames[b.r.IntN(len(firstNames))].display))
			} else {
				row.firstName = ptr(messyName(b.r, p.first.display))
			}
		case 3:
			row.lastName = ptr(messyName(b.r, lastNames[b.r.IntN(len(lastNames))].display))
		case 4:
			switch {
			case b.chance(0.1):
				row.phone = nil
			case b.chance(0.5):
				row.phone = ptr(messyPhone(b.r, newPhone(b.r)))
			default:
				row.phone = ptr(messyPhone(b.r, p.phone))
			}
		case 5:
			if b.chance(0.5) {
				row.country = ptr(messyCountry(b.r, countries[b.r.IntN(len(countries))]))
			} else {
				row.country = ptr(messyCountry(b.r, p.country))
			}
		case 6:
			if row.optIn == nil {
				row.optIn = ptr(b.chance(0.5))
			} else {
				row.optIn = ptr(!*row.optIn)
			}
		default:
			if row.birthDate != nil && b.chance(0.1) {
				row.birthDate = nil
			} else {
				row.birthDate = ptr(b.birthDate())
			}
		}
	}
	return row
}

// ---- orders ----

// Order statuses.
const (
	stPending   = "pending"
	stPaid      = "paid"
	stShipped   = "shipped"
	stCancelled = "cancelled"
	stRefunded  = "refunded"
)

func (b *builder) buildOrders() {
	var orders []*order
	for _, c := range b.m.customers {
		custEnd := b.end - hour
		if last := c.versions[len(c.versions)-1]; last.op == opDelete {
			custEnd = last.ts
		}
		for range b.poisson(b.cfg.OrdersPerCustomer) {
			o := &order{schema: b.chance(0.2)}
			v := orderVersion{
				customerID: c.id,
				totalCents: b.total(),
				currency:   currencies[b.r.IntN(len(currencies))],
			}
			var lo int64
			if c.versions[0].op == opRead && b.chance(0.5) {
				// Placed before the connector started: a snapshot read in
				// whatever state the order has reached by then.
				v.op = opRead
				v.createdAt = b.start - b.between(hour, 365*day)
				v.status = []string{stPending, stPaid, stShipped, stShipped, stShipped, stShipped, stCancelled, stRefunded}[b.r.IntN(8)]
				lo = b.start + streamStart
			} else {
				from := max(c.versions[0].ts, b.start+streamStart) + minute
				if from >= custEnd {
					continue
				}
				v.op = opCreate
				v.ts = b.between(from, custEnd)
				v.createdAt = v.ts - b.r.Int64N(3000)
				v.status = stPending
				lo = v.ts
			}
			o.versions = append(o.versions, v)
			b.orderLifecycle(o, lo)
			for j := range o.versions {
				o.versions[j].boolSnap = !o.schema && b.chance(0.05)
			}
			orders = append(orders, o)
		}
	}
	// Ids follow creation time, as a sequence would assign them.
	slices.SortStableFunc(orders, func(a, b *order) int {
		return cmp.Compare(a.versions[0].createdAt, b.versions[0].createdAt)
	})
	for i, o := range orders {
		o.id = int64(i + 1)
		if o.versions[0].op == opRead {
			b.ordersSnapshot = append(b.ordersSnapshot, &o.versions[0])
		}
	}
	b.m.orders = orders
}

// total returns an order total in cents: mostly tens of dollars, some large.
func (b *builder) total() int64 {
	if b.chance(0.02) {
		return 1_000_000 + b.r.Int64N(99_999_999_999-1_000_000) // $10,000.00 to $999,999,999.98
	}
	return 100 + int64(math.Exp(3.8+0.9*b.r.NormFloat64())*100)%50_000_00
}

// orderLifecycle appends status updates, maybe a move to another customer
// and maybe a delete, all after lo.
func (b *builder) orderLifecycle(o *order, lo int64) {
	t := lo
	cur := o.versions[0]
	moved := false
	for {
		next := cur
		next.op = opUpdate
		next.boolSnap = false
		switch {
		case !moved && len(b.m.customers) > 1 && b.chance(0.06):
			// A support agent re-assigns the order to another customer.
			moved = true
			for next.customerID == cur.customerID {
				next.customerID = int64(b.r.IntN(len(b.m.customers)) + 1)
			}
		case cur.status == stPending && b.chance(0.85):
			next.status = stPaid
			if b.chance(0.1) {
				next.totalCents += 499 + b.r.Int64N(1000) // shipping added at payment
			}
		case cur.status == stPending && b.chance(0.7):
			next.status = stCancelled
		case cur.status == stPaid && b.chance(0.85):
			next.status = stShipped
		case cur.status == stPaid && b.chance(0.4):
			next.status = []string{stRefunded, stCancelled}[b.r.IntN(2)]
		case cur.status == stShipped && b.chance(0.08):
			next.status = stRefunded
		default:
			next.op = 0
		}
		if next.op == 0 {
			break
		}
		t += minRowGap + b.r.Int64N(2*day)
		if t >= b.end {
			break
		}
		next.ts = t
		o.versions = append(o.versions, next)
		cur = next
	}
	if b.chance(0.05) {
		t += minRowGap + b.r.Int64N(3*day)
		if t < b.end {
			o.versions = append(o.versions, orderVersion{change: change{op: opDelete, ts: t}})
		}
	}
}

// placeSnapshots gives the snapshot reads their times: one row after the
// other in key order, within the first hour.
func (b *builder) placeSnapshots() {
	place := func(n int, set func(i int, ts int64)) {
		step := max(int64(2), min(int64(2000), 40*minute/int64(max(n, 1))))
		t := b.start + snapshotStart
		for i := range n {
			t += 1 + b.r.Int64N(step)
			set(i, t)
		}
	}
	place(len(b.crmSnapshot), func(i int, ts int64) { b.crmSnapshot[i].ts = ts })
	place(len(b.ordersSnapshot), func(i int, ts int64) { b.ordersSnapshot[i].ts = ts })
}

// ---- clickstream ----

func (b *builder) buildClickstream() {
	b.buildClickstreamWith(func() int { return b.lognormal(b.cfg.EventsPerCustomer, 1.1) })
}

func (b *builder) newDevice(libs []int) device {
	d := device{lib: libs[b.r.IntN(len(libs))]}
	if d.lib != libServer {
		d.anonID = uuid(b.nextID())
		d.skewMs = b.between(-10*60_000, 10*60_000+1) // device clock error, ±10 minutes
	}
	return d
}

// eventTimes returns n sorted whole-millisecond times in sessions between lo
// and hi, at least minEventGap apart and never equal to a time in avoid.
func (b *builder) eventTimes(lo, hi int64, n int, avoid map[int64]bool) []int64 {
	ts := make([]int64, 0, n)
	for len(ts) < n {
		t := b.between(lo, hi)
		for k := min(n-len(ts), 1+b.r.IntN(8)); k > 0; k-- {
			ts = append(ts, t)
			t += second + b.r.Int64N(90*second)
		}
	}
	slices.Sort(ts)
	prev := int64(math.MinInt64 / 2)
	for i, t := range ts {
		t = max(t, prev+minEventGap) / 1000 * 1000
		if t < prev+minEventGap {
			t += 1000
		}
		for avoid[t] {
			t += 1000
		}
		ts[i], prev = t, t
	}
	return ts
}

// sendDelay returns sentAt − originalTimestamp in ms: small, so that events
// of one profile arrive in event-time order unless they are marked late.
func (b *builder) sendDelay(lib int) int64 {
	if lib == libServer {
		return b.r.Int64N(50)
	}
	return 10 + b.r.Int64N(690)
}

func (b *builder) knownEvent(c *customer, ci int, p *clickProfile, ts int64) event {
	di := b.r.IntN(len(p.devices))
	d := p.devices[di]
	e := event{dev: di, ts: ts, sendMs: b.sendDelay(d.lib), msg: b.nextID()}
	x := b.r.Float64()
	switch d.lib {
	case libServer:
		switch {
		case x < 0.6:
			e.typ = evTrack
		case x < 0.95:
			e.typ = evIdentify
		default:
			e.typ = evGroup
		}
	default:
		switch {
		case x < 0.55:
			e.typ = evPage
		case x < 0.88:
			e.typ = evTrack
		case x < 0.95:
			e.typ = evIdentify
		case x < 0.97:
			e.typ = evGroup
		default:
			e.typ = evAlias
		}
		if e.typ == evPage && d.lib == libIOS {
			e.typ = evScreen
		}
	}
	switch e.typ {
	case evPage, evScreen:
		e.name = pageNames[b.r.IntN(len(pageNames))]
	case evTrack:
		b.trackEvent(&e)
	case evIdentify:
		e.traits = b.knownTraits(c, b.persons[ci], ts)
	}
	return e
}

func (b *builder) trackEvent(e *event) {
	if b.chance(0.6) {
		e.name = "Product Viewed"
	} else {
		e.name = otherTrackEvents[b.r.IntN(len(otherTrackEvents))]
	}
	if e.name == "Product Viewed" || e.name == "Product Added" {
		e.product = products[b.r.IntN(len(products))]
	}
}

// knownTraits returns identify traits for a customer: mostly what the CRM
// holds at that time, typed differently; sometimes a new address.
func (b *builder) knownTraits(c *customer, p person, ts int64) *traits {
	row := c.versions[0].row
	for _, v := range c.versions {
		if v.ts <= ts && v.op != opDelete {
			row = v.row
		}
	}
	t := &traits{camel: b.chance(0.5)}
	if b.chance(0.8) {
		switch {
		case row.email == nil || b.chance(0.25):
			l, d := newEmail(b.r, p.first, p.last, 900_000+c.id*100+int64(b.r.IntN(100)))
			t.email = ptr(messyEmail(b.r, l, d))
		default:
			l, d, _ := strings.Cut(strings.ToLower(strings.TrimSpace(*row.email)), "@")
			t.email = ptr(messyEmail(b.r, l, d))
		}
	}
	if b.chance(0.6) {
		first := p.first.display
		if row.firstName != nil && strings.TrimSpace(*row.firstName) != "" {
			first = strings.Join(strings.Fields(*row.firstName), " ")
		}
		t.first = ptr(messyName(b.r, first))
	}
	if b.chance(0.6) || (t.email == nil && t.first == nil) {
		last := p.last.display
		if row.lastName != nil && strings.TrimSpace(*row.lastName) != "" && b.chance(0.8) {
			last = strings.Join(strings.Fields(*row.lastName), " ")
		}
		t.last = ptr(messyName(b.r, last))
	}
	return t
}

func (b *builder) anonymousEvent(p *clickProfile, ts int64) event {
	d := p.devices[0]
	e := event{ts: ts, sendMs: b.sendDelay(d.lib), msg: b.nextID()}
	x := b.r.Float64()
	switch {
	case x < 0.65:
		e.typ = evPage
		if d.lib == libIOS {
			e.typ = evScreen
		}
		e.name = pageNames[b.r.IntN(len(pageNames))]
	case x < 0.97:
		e.typ = evTrack
		b.trackEvent(&e)
	default:
		// A newsletter sign-up: an identify with an email and no userId.
		e.typ = evIdentify
		f, l := firstNames[b.r.IntN(len(firstNames))], lastNames[b.r.IntN(len(lastNames))]
		local, domain := newEmail(b.r, f, l, int64(hash64(e.msg)%1_000_000_000))
		e.traits = &traits{email: ptr(messyEmail(b.r, local, domain))}
	}
	return e
}

// ---- delivery decisions ----

// markDelivery chooses the late and the duplicated records. A record can be
// late only if a newer record of its row or profile exists (an update, not
// the last version; an event, not the last of its profile); the probability
// is scaled so that about LateShare of all good records are late.
func (b *builder) markDelivery() {
	good, eligible := 0, 0
	for _, c := range b.m.customers {
		good += len(c.versions)
		for i, v := range c.versions {
			if v.op == opUpdate && i < len(c.versions)-1 {
				eligible++
			}
		}
	}
	for _, o := range b.m.orders {
		good += len(o.versions)
		for i, v := range o.versions {
			if v.op == opUpdate && i < len(o.versions)-1 {
				eligible++
			}
		}
	}
	for _, p := range b.m.profiles {
		good += len(p.events)
		eligible += max(0, len(p.events)-1)
	}
	pLate := 0.0
	if eligible > 0 {
		pLate = min(0.9, max(b.cfg.LateShare, 0)*float64(good)/float64(eligible))
	}
	pDup := min(max(b.cfg.DuplicateShare, 0), 1)
	mark := func(d *delivery, eligible bool) {
		d.late = eligible && b.chance(pLate)
		d.dup = b.chance(pDup)
	}
	for _, c := range b.m.customers {
		for i := range c.versions {
			mark(&c.versions[i].delivery, c.versions[i].op == opUpdate && i < len(c.versions)-1)
		}
	}
	for _, o := range b.m.orders {
		for i := range o.versions {
			mark(&o.versions[i].delivery, o.versions[i].op == opUpdate && i < len(o.versions)-1)
		}
	}
	for _, p := range b.m.profiles {
		for i := range p.events {
			mark(&p.events[i].delivery, i < len(p.events)-1)
		}
	}
}

// ---- bad records ----

// buildBad adds round(BadShare × good records) bad records, cycling through
// BadKinds. Each is an invalid change to an existing row or an invalid event
// of an existing profile, at a time within the row's life, so that applying
// it (even partly) would change the expected profile.
func (b *builder) buildBad() {
	good := 0
	for _, c := range b.m.customers {
		good += len(c.versions)
	}
	for _, o := range b.m.orders {
		good += len(o.versions)
	}
	for _, p := range b.m.profiles {
		good += len(p.events)
	}
	n := int(math.Round(max(b.cfg.BadShare, 0) * float64(good)))
	for k := range n {
		for try := range len(BadKinds) {
			if bad := b.badRecord(BadKinds[(k+try)%len(BadKinds)]); bad != nil {
				b.m.bad = append(b.m.bad, bad)
				break
			}
		}
	}
}

// badRecord builds one bad record of a kind, or nil if the scenario has
// nothing to attach it to.
func (b *builder) badRecord(kind string) *badRecord {
	bad := &badRecord{kind: kind, ent: -1}
	switch kind {
	case BadInvalidJSON:
		bad.keep = 0.3 + 0.6*b.r.Float64()
		topics := []string{TopicCustomers, TopicOrders, TopicClickstream, TopicClickstream, TopicClickstream}
		for range 10 {
			switch bad.topic = topics[b.r.IntN(len(topics))]; bad.topic {
			case TopicCustomers:
				if b.badCRM(bad, func(row *crmRow) {
					*row = b.mutateRow(*row, b.persons[bad.ent])
				}) {
					return bad
				}
			case TopicOrders:
				if b.badOrder(bad, func(v *orderVersion) { v.totalCents += 100 }) {
					return bad
				}
			default:
				if b.badEvent(bad) {
					return bad
				}
			}
		}
		return nil
	case BadInvalidEmail, BadInvalidCountry:
		bad.topic = TopicCustomers
		ok := b.badCRM(bad, func(row *crmRow) {
			if kind == BadInvalidEmail {
				row.email = ptr([]string{"bob@", "not-an-email"}[b.r.IntN(2)])
			} else {
				row.country = ptr("USA")
			}
			// Valid changes next to the invalid one: applying the record
			// partly would show.
			row.firstName = ptr("Mallory")
			row.optIn = ptr(row.optIn == nil || !*row.optIn)
		})
		if !ok {
			return nil
		}
	case BadNegativeTotal:
		bad.topic = TopicOrders
		if !b.badOrder(bad, func(v *orderVersion) {
			v.totalCents = -500
			if v.status == stPending {
				v.status = stPaid
			}
		}) {
			return nil
		}
	case BadNoProfileID:
		bad.topic = TopicClickstream
		bad.dev = device{lib: libBrowser, skewMs: b.between(-60_000, 60_000)}
		ts := b.between(b.start, b.end) / 1000 * 1000
		bad.ev = event{typ: evPage, ts: ts, sendMs: b.sendDelay(libBrowser), msg: b.nextID(), name: pageNames[b.r.IntN(len(pageNames))]}
	case BadTimestamp:
		bad.topic = TopicClickstream
		if !b.badEvent(bad) {
			return nil
		}
	}
	return bad
}

// badCRM makes bad.crm an update of a random customer at a time between its
// first version and its delete (or the end), with the row it has then,
// changed by edit.
func (b *builder) badCRM(bad *badRecord, edit func(*crmRow)) bool {
	if len(b.m.customers) == 0 {
		return false
	}
	bad.ent = b.r.IntN(len(b.m.customers))
	c := b.m.customers[bad.ent]
	lo := max(c.versions[0].ts, b.start+streamStart) + second
	hi := b.end
	if last := c.versions[len(c.versions)-1]; last.op == opDelete {
		hi = last.ts - second
	}
	if hi <= lo {
		return false
	}
	ts := b.between(lo, hi)
	row := c.versions[0].row
	for _, v := range c.versions {
		if v.ts == ts {
			return false
		}
		if v.ts < ts && v.op != opDelete {
			row = v.row
		}
	}
	edit(&row)
	row.updatedAt = ts - b.r.Int64N(5000)
	bad.crm = crmVersion{change: change{op: opUpdate, ts: ts}, row: row}
	return true
}

// badOrder makes bad.ord an update of a random order, like badCRM.
func (b *builder) badOrder(bad *badRecord, edit func(*orderVersion)) bool {
	if len(b.m.orders) == 0 {
		return false
	}
	bad.ent = b.r.IntN(len(b.m.orders))
	o := b.m.orders[bad.ent]
	lo := max(o.versions[0].ts, b.start+streamStart) + second
	hi := b.end
	if last := o.versions[len(o.versions)-1]; last.op == opDelete {
		hi = last.ts - second
	}
	if hi <= lo {
		return false
	}
	ts := b.between(lo, hi)
	v := o.versions[0]
	for _, w := range o.versions {
		if w.ts == ts {
			return false
		}
		if w.ts < ts && w.op != opDelete {
			v = w
		}
	}
	v.change = change{op: opUpdate, ts: ts}
	edit(&v)
	bad.ord = v
	return true
}

// badEvent makes bad.ev a page (or screen) event of a random profile.
func (b *builder) badEvent(bad *badRecord) bool {
	if len(b.m.profiles) == 0 {
		return false
	}
	bad.ent = b.r.IntN(len(b.m.profiles))
	p := b.m.profiles[bad.ent]
	di := b.r.IntN(len(p.devices))
	typ := evPage
	if p.devices[di].lib == libIOS {
		typ = evScreen
	}
	ts := b.between(b.start, b.end) / 1000 * 1000
	bad.ev = event{typ: typ, dev: di, ts: ts, sendMs: b.sendDelay(p.devices[di].lib), msg: b.nextID(), name: pageNames[b.r.IntN(len(pageNames))]}
	return true
}
