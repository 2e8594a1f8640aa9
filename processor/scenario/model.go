package scenario

// The ground-truth model. Times are µs since the Unix epoch. Every value is
// held as the source system holds it (messy case, spaces, national phone
// formats); the oracle normalizes, the renderer does not.

// Debezium operation codes.
const (
	opRead   = 'r'
	opCreate = 'c'
	opUpdate = 'u'
	opDelete = 'd'
)

// delivery says how and when a record is delivered.
type delivery struct {
	late  bool  // delivered after a newer record of the same row or profile
	dup   bool  // delivered a second time, byte-identical
	at    int64 // delivery time (µs); set by deliver
	dupAt int64 // delivery time of the copy; set by deliver
}

// change is what every Debezium record of a row carries besides the row.
type change struct {
	op       byte
	ts       int64 // source.ts_us: the event time
	lsn      int64 // set by deliver, strictly increasing per database by ts
	prevLSN  int64
	txID     int64
	boolSnap bool // render source.snapshot as a JSON boolean, not a string
	delivery
}

// crmRow is one state of a crm.public.customers row. nil is SQL NULL.
type crmRow struct {
	email, firstName, lastName, phone, country *string
	birthDate                                  *int32 // days since 1970-01-01
	optIn                                      *bool
	updatedAt                                  int64
}

type crmVersion struct {
	change
	row crmRow // zero for deletes
}

// customer is a CRM row with its history, sorted by event time. The last
// version may be a delete; nothing follows a delete.
type customer struct {
	id       int64
	schema   bool // rendered with schemas.enable=true (key and value)
	versions []crmVersion
}

func (c *customer) profileID() string { return itoa(c.id) }

type orderVersion struct {
	change
	customerID int64
	status     string
	totalCents int64
	currency   string
	createdAt  int64
}

// order is a shop.public.orders row with its history, sorted by event time.
type order struct {
	id       int64
	schema   bool
	versions []orderVersion
}

// Segment event types.
const (
	evPage = iota
	evTrack
	evIdentify
	evScreen
	evGroup
	evAlias
)

var eventTypeNames = [...]string{"page", "track", "identify", "screen", "group", "alias"}

// Segment client libraries.
const (
	libBrowser = iota // analytics.js: page events, anonymousId
	libIOS            // analytics-ios: screen events, anonymousId
	libServer         // analytics-node: no anonymousId, no clock skew
)

// device is one Segment client of a profile.
type device struct {
	anonID string // "" for server-side libraries
	skewMs int64  // device clock minus true time, within ±10 minutes
	lib    int
}

// traits of an identify event; nil fields are not sent.
type traits struct {
	email, first, last *string
	camel              bool // firstName/lastName instead of first_name/last_name
}

// event is one Segment event. Times: originalTimestamp = ts+skew, sentAt =
// ts+skew+sendMs, receivedAt = ts+sendMs, so receivedAt − (sentAt −
// originalTimestamp) = ts, and timestamp = ts.
type event struct {
	typ     int
	dev     int    // index into the profile's devices
	ts      int64  // µs, whole milliseconds
	sendMs  int64  // sentAt − originalTimestamp
	msg     uint64 // messageId seed, unique per event
	name    string // track event name, page or screen name
	product string // product_id of product events
	traits  *traits
	delivery
}

// clickProfile is a Segment identity: a known customer (userID set) or an
// anonymous visitor. Events are sorted by event time.
type clickProfile struct {
	userID  string
	devices []device
	events  []event
}

func (p *clickProfile) profileID() string {
	if p.userID != "" {
		return p.userID
	}
	return "anon:" + p.devices[0].anonID
}

// badRecord is an extra record that must be dead-lettered; it is no part of
// the ground truth. It is an invalid variant of a change to an existing row
// or an event of an existing profile.
type badRecord struct {
	kind  string
	topic string
	ent   int          // index of the customer, order or click profile; -1: none
	crm   crmVersion   // topic customers
	ord   orderVersion // topic orders
	ev    event        // topic clickstream
	dev   device       // clickstream device when ent is -1
	keep  float64      // invalid_json: share of the bytes kept
	at    int64        // delivery time
}

// model is the whole ground truth of a scenario.
type model struct {
	seed      int64
	customers []*customer
	orders    []*order
	profiles  []*clickProfile
	bad       []*badRecord
}
