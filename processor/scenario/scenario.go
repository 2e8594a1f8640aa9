// Package scenario generates deterministic test data for the profile pipeline
// (Debezium CDC from a CRM and a shop database, Segment clickstream events)
// together with an independent oracle: the profiles the pipeline must emit.
//
// # How it works
//
// Generation has three layers, each in its own file:
//
//  1. model (model.go, build.go, values.go): the ground truth. Customers and
//     orders with their full per-version history (event time, row values as
//     the source holds them, before any normalization), clickstream profiles
//     with their events, and bad records. Delivery decisions (late,
//     duplicated) are part of the model.
//  2. rendering (deliver.go, render.go): LSNs, delivery times and the delivery
//     schedule, then the Kafka records (Debezium JSON with and without
//     schemas, Segment JSON). Rendering a record is a pure function of the
//     model, so Stream can render lazily and duplicates are byte-identical.
//  3. oracle (oracle.go): the expected profiles, computed from the model
//     alone. It shares no code with the pipeline and imports no other
//     package of this module: it re-implements the normalizers (trim, lower,
//     collapse spaces, E.164 for US numbers by digit logic, ...) and the
//     merge rules (per-attribute last write by event time, order entities,
//     derived order attributes, clickstream aggregates).
//
// # Expected values
//
// Expected[profileID][attribute] holds the value as json.Unmarshal into an
// any would decode it from the profiles topic:
//
//   - strings are string (email, names, phone, country, last_product_viewed);
//   - numbers are float64: page_views and order_count are whole float64
//     values (json.Unmarshal's default, not json.Number);
//   - lifetime_value is a string with exactly two decimals ("0.00");
//   - last_seen_at and last_order_at are strings formatted with
//     time.UnixMicro(us).UTC().Format(time.RFC3339Nano);
//   - birth_date is "YYYY-MM-DD", marketing_opt_in a bool;
//   - a null attribute is present in the map with a nil value; an absent
//     attribute is not in the map.
//
// Profile ids: CRM customers are "1".."N" (the customers.id column); the same
// ids are the Segment userId of known customers and the orders' customer_id;
// anonymous visitors are "anon:"+anonymousId.
//
// # Choices the reference scenario leaves open
//
//   - A CRM profile carries all seven CRM attributes, null ones included; a
//     deleted customer keeps its profile with the seven set to null.
//   - Only the anonymous ids of anonymous visitors appear without a userId;
//     the anonymousIds that known customers send next to their userId never
//     appear alone, so no identity stitching is needed or tested.
//   - Anonymous visitors sometimes send identify events (email only): the
//     email lands on their anon: profile.
//   - Group traits never hold email or name keys, and no event carries
//     context.traits, so only identify events write email and names.
//   - Schemas (schemas.enable=true) are chosen per row, about 20% of the
//     customers and of the orders: all records of a row, key and value, have
//     the same form, so a row's records share key bytes and partition. Only
//     schemaless values use JSON booleans for source.snapshot (about 5%).
//   - Snapshot reads have strictly increasing LSNs and share one txId.
//   - Late CDC records are updates (never creates or deletes), delivered after
//     a newer version of the row; a late Segment event is one the device
//     queued, so its sentAt and receivedAt are late too and its event time
//     is unchanged. Without the late marks, records of a row or profile
//     arrive in event-time order (versions are at least 5 s apart, events
//     1 s, delivery lags below that).
//   - Bad records are updates of existing rows (invalid_email, invalid_country
//     and negative_total also change other columns, so a partly applied one
//     shows) or events of existing profiles, at times within the row's life;
//     invalid_json is such a record cut short; no_profile_id is a page event
//     without ids. None is duplicated, and none is in the ground truth.
//   - Kafka keys: Debezium keys as the connector writes them; Segment records
//     are keyed by userId, else anonymousId, else messageId.
//   - Segment times have millisecond precision, in UTC ("...T10:00:00.123Z").
package scenario

import (
	"time"
)

// Topic names of the reference scenario.
const (
	TopicCustomers   = "crm.public.customers"
	TopicOrders      = "shop.public.orders"
	TopicClickstream = "clickstream"
)

// Kinds of bad records, the keys of Scenario.Bad.
const (
	BadInvalidJSON    = "invalid_json"    // truncated JSON, any topic
	BadInvalidEmail   = "invalid_email"   // CRM update with email "bob@" or "not-an-email"
	BadInvalidCountry = "invalid_country" // CRM update with country "USA"
	BadNegativeTotal  = "negative_total"  // order update with total "-5.00"
	BadNoProfileID    = "no_profile_id"   // Segment event with neither userId nor anonymousId
	BadTimestamp      = "bad_timestamp"   // Segment event with timestamp "yesterday"
)

// BadKinds lists the kinds of bad records in the order they are generated.
var BadKinds = []string{BadInvalidJSON, BadInvalidEmail, BadInvalidCountry, BadNegativeTotal, BadNoProfileID, BadTimestamp}

// Record is one Kafka record. A nil Value is a tombstone.
type Record struct {
	Topic      string
	Key, Value []byte
}

// Config controls the size and the messiness of a scenario.
type Config struct {
	Seed              int64
	Customers         int     // CRM customers, ids 1..Customers
	OrdersPerCustomer float64 // mean orders created per customer (Poisson)
	EventsPerCustomer float64 // mean clickstream events per customer (lognormal: a few very active, many quiet)
	AnonymousShare    float64 // share of clickstream events from anonymous visitors
	LateShare         float64 // share of records delivered after a newer record of the same row or profile
	DuplicateShare    float64 // share of records delivered twice, byte-identical
	BadShare          float64 // bad records to add, as a share of the good records
	Start             time.Time
}

// DefaultStart is the start of the event times when Config.Start is zero.
var DefaultStart = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

// DefaultConfig returns a small scenario: 200 customers, about 3 orders and
// 20 clickstream events each: about 7,800 records.
func DefaultConfig() Config {
	return Config{
		Seed:              1,
		Customers:         200,
		OrdersPerCustomer: 3,
		EventsPerCustomer: 20,
		AnonymousShare:    0.1,
		LateShare:         0.05,
		DuplicateShare:    0.05,
		BadShare:          0.02,
		Start:             DefaultStart,
	}
}

// Scenario is a generated data set and what the pipeline must make of it.
type Scenario struct {
	// Records in delivery order: the three topics interleaved by delivery
	// time, with late, duplicate and bad records mixed in.
	Records []Record
	// Expected maps profile id -> attribute -> value (see the package doc).
	Expected map[string]map[string]any
	// Bad counts the bad records by kind; each must be dead-lettered.
	Bad map[string]int
	// Tombstones counts the Debezium tombstones (nil values); they must be
	// skipped, not dead-lettered.
	Tombstones int

	stats stats // for the package's tests
}

// stats describes the generated records for tests.
type stats struct {
	good       map[string]int // distinct good records (no tombstones, duplicates, bad) by topic
	late       int            // good records marked late
	duplicates int            // second deliveries
	knownEvts  int            // clickstream events of known customers
	anonEvts   int            // clickstream events of anonymous visitors
	orders     int            // orders created
}

// Generate builds the scenario for cfg. The same cfg always yields
// byte-identical Records.
func Generate(cfg Config) *Scenario {
	m := build(cfg)
	return assemble(m)
}

// Stream calls emit for each record of Generate(cfg).Records, in order, and
// stops at the first error emit returns. It holds the ground-truth model and
// a compact delivery schedule in memory, but renders each record only when it
// is emitted, so it never holds all the record bytes.
func Stream(cfg Config, emit func(Record) error) error {
	m := build(cfg)
	for _, it := range schedule(m) {
		if err := emit(m.render(it)); err != nil {
			return err
		}
	}
	return nil
}

// assemble renders all records of a finished model and runs the oracle.
func assemble(m *model) *Scenario {
	items := schedule(m)
	s := &Scenario{
		Records:  make([]Record, 0, len(items)),
		Expected: oracle(m),
		Bad:      map[string]int{},
	}
	for _, it := range items {
		s.Records = append(s.Records, m.render(it))
		if it.kind == itemCRMTombstone || it.kind == itemOrderTombstone {
			s.Tombstones++
		}
	}
	for _, b := range m.bad {
		s.Bad[b.kind]++
	}
	s.stats = m.stats()
	return s
}
