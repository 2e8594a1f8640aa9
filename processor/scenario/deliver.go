package scenario

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// deliver assigns what the sources and the transport decide: Postgres LSNs
// and transaction ids (in commit order, i.e. by event time, per database),
// and delivery times. Base delivery follows event time with a small lag; a
// late record is delivered after the nearest newer record of its row or
// profile that is not late itself; a duplicate is delivered again later.
func deliver(m *model) {
	r := rand.New(rand.NewPCG(uint64(m.seed), 0xde11e7))
	lag := func(lo, hi int64) int64 { return lo + r.Int64N(hi-lo) }

	// Commit order per database.
	var crm, shop []*change
	for _, c := range m.customers {
		for i := range c.versions {
			crm = append(crm, &c.versions[i].change)
		}
	}
	for _, o := range m.orders {
		for i := range o.versions {
			shop = append(shop, &o.versions[i].change)
		}
	}
	for _, bad := range m.bad {
		switch bad.topic {
		case TopicCustomers:
			crm = append(crm, &bad.crm.change)
		case TopicOrders:
			shop = append(shop, &bad.ord.change)
		}
	}
	for _, db := range [][]*change{crm, shop} {
		slices.SortStableFunc(db, func(a, b *change) int { return cmp.Compare(a.ts, b.ts) })
		lsn, tx := 24_000_000+r.Int64N(1_000_000), 500+r.Int64N(500)
		snapTx := tx
		for _, c := range db {
			c.prevLSN = lsn
			lsn += 8 + r.Int64N(4000)
			c.lsn = lsn
			if c.op == opRead {
				c.txID = snapTx // a snapshot reads in one transaction
			} else {
				tx += 1 + r.Int64N(3)
				c.txID = tx
			}
		}
	}

	// cdcAt sets delivery times of one row's versions, newest first so that
	// a late version can follow its nearest newer non-late version.
	cdcAt := func(n int, at func(i int) *change) {
		target := int64(-1)
		for i := n - 1; i >= 0; i-- {
			c := at(i)
			switch {
			case c.op == opRead:
				c.at = c.ts + lag(1000, 50_000)
			case c.late && target >= 0:
				c.at = target + lag(1000, 120*second)
			default:
				c.late = false
				c.at = c.ts + lag(20_000, 1_500_000)
			}
			if !c.late {
				target = c.at
			}
		}
	}
	for _, c := range m.customers {
		cdcAt(len(c.versions), func(i int) *change { return &c.versions[i].change })
	}
	for _, o := range m.orders {
		cdcAt(len(o.versions), func(i int) *change { return &o.versions[i].change })
	}
	// A late event is one a device queued: it is sent, and so received,
	// after the newer event it follows. Its event time does not change.
	for _, p := range m.profiles {
		target := int64(-1) // receivedAt of the nearest newer non-late event
		for i := len(p.events) - 1; i >= 0; i-- {
			e := &p.events[i]
			if e.late && target >= 0 {
				e.sendMs = (target-e.ts)/1000 + lag(1000, 600_000)
			} else {
				e.late = false
				target = e.ts + e.sendMs*1000
			}
			e.at = e.ts + e.sendMs*1000 + lag(5000, 250_000)
		}
	}
	dups := func(d *delivery) {
		if d.dup {
			d.dupAt = d.at + lag(1000, 10*minute)
		}
	}
	for _, c := range m.customers {
		for i := range c.versions {
			dups(&c.versions[i].delivery)
		}
	}
	for _, o := range m.orders {
		for i := range o.versions {
			dups(&o.versions[i].delivery)
		}
	}
	for _, p := range m.profiles {
		for i := range p.events {
			dups(&p.events[i].delivery)
		}
	}
	for _, bad := range m.bad {
		switch bad.topic {
		case TopicCustomers:
			bad.crm.at = bad.crm.ts + lag(20_000, 1_500_000)
			bad.at = bad.crm.at
		case TopicOrders:
			bad.ord.at = bad.ord.ts + lag(20_000, 1_500_000)
			bad.at = bad.ord.at
		default:
			bad.ev.at = bad.ev.ts + bad.ev.sendMs*1000 + lag(5000, 250_000)
			bad.at = bad.ev.at
		}
	}
}

// Kinds of schedule items.
const (
	itemCRM = iota
	itemCRMTombstone
	itemOrder
	itemOrderTombstone
	itemEvent
	itemBad
)

// item is one record to deliver: a reference into the model, not the bytes.
type item struct {
	at   int64 // delivery time
	seq  int   // tie-break: creation order
	kind uint8
	a, b int32 // entity and version/event index (a: bad record index for itemBad)
}

// schedule lists every record to deliver, in delivery order. A tombstone
// directly follows its delete; a duplicate is the same item again.
func schedule(m *model) []item {
	var items []item
	add := func(at int64, kind uint8, a, b int) {
		items = append(items, item{at: at, seq: len(items), kind: kind, a: int32(a), b: int32(b)})
	}
	for ci, c := range m.customers {
		for vi, v := range c.versions {
			add(v.at, itemCRM, ci, vi)
			if v.op == opDelete {
				add(v.at, itemCRMTombstone, ci, vi)
			}
			if v.dup {
				add(v.dupAt, itemCRM, ci, vi)
			}
		}
	}
	for oi, o := range m.orders {
		for vi, v := range o.versions {
			add(v.at, itemOrder, oi, vi)
			if v.op == opDelete {
				add(v.at, itemOrderTombstone, oi, vi)
			}
			if v.dup {
				add(v.dupAt, itemOrder, oi, vi)
			}
		}
	}
	for pi, p := range m.profiles {
		for ei, e := range p.events {
			add(e.at, itemEvent, pi, ei)
			if e.dup {
				add(e.dupAt, itemEvent, pi, ei)
			}
		}
	}
	for bi, bad := range m.bad {
		add(bad.at, itemBad, bi, 0)
	}
	slices.SortFunc(items, func(x, y item) int {
		return cmp.Or(cmp.Compare(x.at, y.at), cmp.Compare(x.seq, y.seq))
	})
	return items
}

// stats counts the schedule for tests.
func (m *model) stats() stats {
	s := stats{good: map[string]int{}}
	for _, c := range m.customers {
		s.good[TopicCustomers] += len(c.versions)
		for _, v := range c.versions {
			s.late += b2i(v.late)
			s.duplicates += b2i(v.dup)
		}
	}
	for _, o := range m.orders {
		s.good[TopicOrders] += len(o.versions)
		s.orders++
		for _, v := range o.versions {
			s.late += b2i(v.late)
			s.duplicates += b2i(v.dup)
		}
	}
	for _, p := range m.profiles {
		s.good[TopicClickstream] += len(p.events)
		if p.userID != "" {
			s.knownEvts += len(p.events)
		} else {
			s.anonEvts += len(p.events)
		}
		for _, e := range p.events {
			s.late += b2i(e.late)
			s.duplicates += b2i(e.dup)
		}
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
