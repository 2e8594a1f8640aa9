package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// The load generator: the reference scenario at any scale, for benchmarks.
//
// Generate and Stream hold the whole model in memory, which is fine for the
// thousands of customers the tests use and far too much for a million. Load
// builds the same scenario in blocks of LoadConfig.BlockSize customers: each
// block is a complete reference scenario of its own (CRM and shop snapshots,
// streaming changes, clickstream, late, duplicated and bad records) whose
// customer and order ids are shifted past those of the blocks before it.
// Blocks share no rows and no profiles, so the records of one block are
// emitted, in delivery order, and dropped before the next block is built:
// memory stays that of one block whatever the number of customers.
//
// Two things differ from Generate. Each block replays the 30-day timeline,
// so event times restart at every block boundary; nothing depends on time
// across profiles, so the pipeline's result is the union of the blocks'
// results. And the clickstream activity per customer can follow a Zipf law
// (LoadConfig.Skew) instead of Generate's lognormal: most customers send a
// handful of events, a few send thousands.

// LoadConfig controls a generated load. The zero value of a share means
// none; Customers and BlockSize must be positive.
type LoadConfig struct {
	Seed              int64
	Customers         int     // CRM customers, ids 1..Customers (profiles: these plus anonymous visitors)
	OrdersPerCustomer float64 // mean orders created per customer (Poisson)
	EventsPerCustomer float64 // mean clickstream events per customer
	// Skew is the exponent s > 1 of the Zipf law of clickstream events per
	// customer, P(k) ∝ (v+k)^-s for k = 0..100×EventsPerCustomer, with v
	// chosen so that the mean is EventsPerCustomer. Smaller is more skewed;
	// 2 gives a median of a few events and a tail of thousands. 0 uses
	// Generate's lognormal activity instead.
	Skew           float64
	AnonymousShare float64 // share of clickstream events from anonymous visitors
	LateShare      float64 // share of records delivered after a newer record of the same row or profile
	DuplicateShare float64 // share of records delivered twice, byte-identical
	BadShare       float64 // bad records to add, as a share of the good records
	BlockSize      int     // customers generated (and held in memory) at a time
	Start          time.Time
}

// DefaultLoadConfig returns the load of `make bench`: 10,000 customers with
// the reference scenario's mix (about 3 orders and 20 clickstream events
// each, Zipf-skewed), about 340,000 records.
func DefaultLoadConfig() LoadConfig {
	return LoadConfig{
		Seed:              1,
		Customers:         10_000,
		OrdersPerCustomer: 3,
		EventsPerCustomer: 20,
		Skew:              2,
		AnonymousShare:    0.1,
		LateShare:         0.05,
		DuplicateShare:    0.05,
		BadShare:          0.02,
		BlockSize:         2000,
		Start:             DefaultStart,
	}
}

// Validate reports a configuration Load cannot generate.
func (c LoadConfig) Validate() error {
	switch {
	case c.Customers <= 0:
		return fmt.Errorf("scenario: load: customers must be positive, got %d", c.Customers)
	case c.BlockSize <= 0:
		return fmt.Errorf("scenario: load: block size must be positive, got %d", c.BlockSize)
	case c.Skew != 0 && c.Skew <= 1:
		return fmt.Errorf("scenario: load: skew must be 0 (lognormal) or above 1, got %g", c.Skew)
	case c.OrdersPerCustomer < 0 || c.EventsPerCustomer < 0:
		return fmt.Errorf("scenario: load: orders and events per customer must not be negative")
	}
	return nil
}

// LoadRecord is one record of a load with the profile it is about.
type LoadRecord struct {
	Record
	// ProfileID is the profile the record changes (for an order, its
	// customer at that version; a delete counts for the customer it had),
	// or "" for a bad record, which must change no profile. Benchmarks match
	// input records to profile updates with it.
	ProfileID string
}

// LoadStats counts what Load emitted.
type LoadStats struct {
	Records     int // all records, duplicates, tombstones and bad ones included
	Customers   int
	Orders      int
	KnownEvents int // distinct clickstream events of customers
	AnonEvents  int // distinct clickstream events of anonymous visitors
	Profiles    int // customers plus anonymous visitors
	Late        int
	Duplicates  int
	Tombstones  int
	Bad         int
}

// Load generates the load for cfg block by block and calls emit for each
// record, in delivery order within each block; it stops at the first error
// emit returns. The same cfg always yields the same records.
func Load(cfg LoadConfig, emit func(LoadRecord) error) (LoadStats, error) {
	var st LoadStats
	if err := cfg.Validate(); err != nil {
		return st, err
	}
	var orderBase int64
	for blk := 0; blk*cfg.BlockSize < cfg.Customers; blk++ {
		m := loadBlock(cfg, blk, orderBase)
		orderBase += int64(len(m.orders))
		s := m.stats()
		st.Customers += len(m.customers)
		st.Orders += s.orders
		st.KnownEvents += s.knownEvts
		st.AnonEvents += s.anonEvts
		st.Profiles += len(m.customers)
		for _, p := range m.profiles {
			if p.userID == "" {
				st.Profiles++
			}
		}
		st.Late += s.late
		st.Duplicates += s.duplicates
		st.Bad += len(m.bad)
		for _, it := range schedule(m) {
			rec := LoadRecord{Record: m.render(it), ProfileID: m.profileOf(it)}
			if rec.Value == nil {
				st.Tombstones++
			}
			st.Records++
			if err := emit(rec); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// loadBlock builds block blk of a load: customers blk×BlockSize+1 onwards,
// orders from orderBase+1.
func loadBlock(cfg LoadConfig, blk int, orderBase int64) *model {
	n := min(cfg.BlockSize, cfg.Customers-blk*cfg.BlockSize)
	c := Config{
		Seed:              blockSeed(cfg.Seed, blk),
		Customers:         n,
		OrdersPerCustomer: cfg.OrdersPerCustomer,
		EventsPerCustomer: cfg.EventsPerCustomer,
		AnonymousShare:    cfg.AnonymousShare,
		LateShare:         cfg.LateShare,
		DuplicateShare:    cfg.DuplicateShare,
		BadShare:          cfg.BadShare,
		Start:             cfg.Start,
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	// The steps of build, with the clickstream's activity law swapped.
	b := &builder{
		r:     rand.New(rand.NewPCG(uint64(c.Seed), 0x5ce7a210)),
		cfg:   c,
		m:     &model{seed: c.Seed},
		start: c.Start.UnixMicro(),
	}
	b.end = b.start + timelineSpan
	b.buildCustomers()
	b.buildOrders()
	b.placeSnapshots()
	if cfg.Skew > 0 {
		v, imax, active := zipfParams(cfg.EventsPerCustomer, cfg.Skew)
		z := rand.NewZipf(b.r, cfg.Skew, v, imax)
		b.buildClickstreamWith(func() int {
			if cfg.EventsPerCustomer <= 0 || (active < 1 && !b.chance(active)) {
				return 0
			}
			return int(z.Uint64())
		})
	} else {
		b.buildClickstream()
	}
	b.markDelivery()
	b.buildBad()
	deliver(b.m)
	b.m.shiftIDs(int64(blk)*int64(cfg.BlockSize), orderBase)
	return b.m
}

// blockSeed derives block blk's seed. Its low 24 bits are blk: the builder
// makes UUIDs from seed<<40 ^ counter, so distinct low bits keep anonymous
// ids distinct across blocks (up to 16 million blocks).
func blockSeed(seed int64, blk int) int64 {
	h := hash64(uint64(seed)*0x9e3779b97f4a7c15 + uint64(blk))
	return int64(h<<24 | uint64(blk)&(1<<24-1))
}

// buildClickstreamWith is buildClickstream with the number of events of each
// customer drawn from events.
func (b *builder) buildClickstreamWith(events func() int) {
	known := 0
	for i, c := range b.m.customers {
		n := events()
		if n == 0 {
			continue
		}
		p := &clickProfile{userID: c.profileID()}
		for range 1 + b.r.IntN(2) + b.r.IntN(2) {
			p.devices = append(p.devices, b.newDevice([]int{libBrowser, libBrowser, libBrowser, libBrowser, libIOS, libServer}))
		}
		crmTimes := map[int64]bool{}
		for _, v := range c.versions {
			crmTimes[v.ts] = true
		}
		lo := max(b.start, c.versions[0].ts-10*minute)
		for _, ts := range b.eventTimes(lo, b.end, n, crmTimes) {
			p.events = append(p.events, b.knownEvent(c, i, p, ts))
		}
		known += n
		b.m.profiles = append(b.m.profiles, p)
	}
	share := min(max(b.cfg.AnonymousShare, 0), 0.95)
	want := int(math.Round(float64(known) * share / (1 - share)))
	for want > 0 {
		n := min(want, max(1, b.lognormal(4, 0.9)))
		want -= n
		p := &clickProfile{devices: []device{b.newDevice([]int{libBrowser, libBrowser, libBrowser, libBrowser, libBrowser, libIOS})}}
		for _, ts := range b.eventTimes(b.start, b.end, n, nil) {
			p.events = append(p.events, b.anonymousEvent(p, ts))
		}
		b.m.profiles = append(b.m.profiles, p)
	}
}

// zipfParams returns v and imax of rand.NewZipf(r, s, v, imax), and the
// share of customers that are active at all, so that the mean is mean: imax
// caps the busiest customer at a hundred times the mean, and the law's mean
// grows with v, so v is found by bisection. A mean below that of v = 1 is
// reached by leaving a share of the customers without events instead.
func zipfParams(mean, s float64) (v float64, imax uint64, active float64) {
	imax = uint64(math.Ceil(100*max(mean, 0.01))) + 1
	if m1 := zipfMean(1, s, imax); m1 >= mean {
		return 1, imax, mean / m1
	}
	lo, hi := 1.0, 2.0
	for zipfMean(hi, s, imax) < mean && hi < 1e9 {
		lo, hi = hi, hi*2
	}
	for range 60 {
		mid := (lo + hi) / 2
		if zipfMean(mid, s, imax) < mean {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2, imax, 1
}

// zipfMean is the mean of P(k) ∝ (v+k)^-s, k = 0..imax.
func zipfMean(v, s float64, imax uint64) float64 {
	var num, den float64
	for k := uint64(0); k <= imax; k++ {
		w := math.Pow(v+float64(k), -s)
		num += float64(k) * w
		den += w
	}
	return num / den
}

// shiftIDs moves a block's customer ids up by custBase and its order ids by
// orderBase, everywhere an id is held: customers, orders (and the customer
// each version belongs to), the userIds of known visitors and the bad
// records' copies of order versions.
func (m *model) shiftIDs(custBase, orderBase int64) {
	if custBase == 0 && orderBase == 0 {
		return
	}
	for _, c := range m.customers {
		c.id += custBase
	}
	for _, o := range m.orders {
		o.id += orderBase
		for i := range o.versions {
			if o.versions[i].customerID != 0 {
				o.versions[i].customerID += custBase
			}
		}
	}
	for _, p := range m.profiles {
		if p.userID == "" {
			continue
		}
		id, err := strconv.ParseInt(p.userID, 10, 64)
		if err != nil {
			panic(fmt.Sprintf("scenario: known visitor with user id %q", p.userID)) // built from an int64
		}
		p.userID = itoa(id + custBase)
	}
	for _, bad := range m.bad {
		if bad.ord.customerID != 0 {
			bad.ord.customerID += custBase
		}
	}
}

// profileOf returns the profile a schedule item is about ("" for a bad
// record).
func (m *model) profileOf(it item) string {
	switch it.kind {
	case itemCRM, itemCRMTombstone:
		return m.customers[it.a].profileID()
	case itemOrder, itemOrderTombstone:
		// A delete carries no customer: it is about the last one the order had.
		o := m.orders[it.a]
		for i := int(it.b); i >= 0; i-- {
			if id := o.versions[i].customerID; id != 0 {
				return itoa(id)
			}
		}
		return ""
	case itemEvent:
		return m.profiles[it.a].profileID()
	}
	return ""
}
