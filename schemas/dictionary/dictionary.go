// Package dictionary is the data dictionary: the YAML file that declares each
// input source, how its records map onto profile attributes and entity
// collections, and how each attribute is typed, normalized, validated and
// merged. Load parses and checks the whole file; every error names the file
// and line it comes from.
package dictionary

import (
	"regexp"

	"github.com/profiled/profiled/schemas"
)

// Format is the encoding of a source topic.
type Format string

// The supported source formats.
const (
	FormatDebeziumJSON Format = "debezium-json"
	FormatDebeziumAvro Format = "debezium-avro" // Confluent wire format; needs registry:
	FormatSegment      Format = "segment"
)

// Policy is an attribute's merge policy.
type Policy string

// The merge policies.
const (
	PolicyLWW      Policy = "lww"      // latest event time wins (default)
	PolicyFirst    Policy = "first"    // earliest event time wins
	PolicyMax      Policy = "max"      // greatest value wins; null never wins
	PolicyMin      Policy = "min"      // smallest value wins; null never wins
	PolicyPriority Policy = "priority" // highest source priority, then lww
)

// File is a parsed and checked configuration file.
type File struct {
	Path        string
	Pipeline    Pipeline
	Kafka       Kafka                 // section kafka: (connection, TLS, SASL)
	Store       Store                 // section store: (encryption at rest)
	Registry    *Registry             // section registry: (Schema Registry); nil when absent
	Output      Output                // section output: (format of the profiles topic)
	Sinks       []*Sink               // section sinks: (ESP connectors), in file order
	Attributes  map[string]*Attribute // by name
	Names       []string              // attribute names, sorted
	Collections map[string]*Collection
	Sources     []*Source // in file order
}

// Pipeline holds the runtime settings of the pipeline: section `pipeline:`.
type Pipeline struct {
	Group         string // consumer group and prefix of internal topics; default "profiled"
	ProfilesTopic string // default "profiles"
	DLQTopic      string // default "profiled.dlq"
	Partitions    int    // partitions of internal and output topics it creates; default 6
}

// Attribute is one profile attribute, or one field of an entity collection.
type Attribute struct {
	Name        string
	Type        schemas.Kind
	Scale       int32 // decimal scale; -1 when not fixed
	Description string
	Policy      Policy
	Normalizers []Normalizer
	Validators  []Validator
	Derive      *Derive // non-nil for attributes computed from a collection
	Counter     bool    // true when a source counts into it (type int)
	Line        int
}

// Normalizer rewrites a value (after it was converted to the attribute's type).
type Normalizer struct {
	Name string // trim, lower, upper, collapse_spaces, iso8601, e164
	Arg  string // e164: default region, e.g. "US"
	Fn   func(schemas.Value) (schemas.Value, error)
}

// Validator checks a normalized value.
type Validator struct {
	Name string // required, email, one_of, range, length, pattern
	Fn   func(schemas.Value) error
}

// Coerce converts v to the attribute's type, applies its normalizers in order
// and runs its validators. The error says what was wrong with the value in
// terms a data engineer can act on, e.g. `email: "bob@" is not a valid email
// address`. A null value passes through unless a validator rejects it.
func (a *Attribute) Coerce(v schemas.Value) (schemas.Value, error) { return a.coerce(v) }

// Collection is an entity collection such as orders.
type Collection struct {
	Name   string
	Fields map[string]*Attribute
	Names  []string // field names, sorted
	Line   int
}

// Derive computes an attribute from a collection's live (not deleted) entities.
type Derive struct {
	Collection string
	Aggregate  string // count, sum, max, min
	Field      string // required except for count
	Where      []Filter
}

// Filter is one condition on an entity field; all filters of a Derive must hold.
type Filter struct {
	Field  string
	Op     string   // in, not_in, eq, ne
	Values []string // compared with the field's Text()
}

// Source is one input topic (or topic pattern) and how it maps.
type Source struct {
	Name     string
	Index    int // position in the file
	Topic    string
	Pattern  *regexp.Regexp // non-nil when topic_pattern was given instead of topic
	Format   Format
	Priority int // higher wins ties on event time and the priority policy

	ProfileID IDSpec
	// EventTime: "" (format default), "source.ts_ms", "source.ts_us",
	// "source.ts_ns", or "field:<column or path>".
	EventTime string
	// Types gives Debezium semantic-type hints for columns of records that
	// carry no schema: column -> hint.
	Types map[string]TypeHint
	// OnDelete: "clear" (set mapped attributes to null as of the delete;
	// default) or "ignore".
	OnDelete string

	Attributes []*Mapping // onto profile attributes
	Entity     *EntityMapping
	Counters   []*Counter
	Line       int
}

// TypeHint mirrors debezium.Hint without importing the decoder.
type TypeHint struct {
	Semantic string
	Scale    int32
}

// IDSpec derives the profile id.
type IDSpec struct {
	Field    string // column (Debezium: after, else before, else key) or path (Segment)
	Prefix   string
	Fallback *IDSpec
}

// Mapping maps one input field onto one attribute or entity field.
type Mapping struct {
	Target    *Attribute
	From      []string // paths tried in order; the first present wins
	EventTime bool     // from: $event_time
	When      []Condition
	Required  bool
	Line      int
}

// Condition holds when the value at Path (rendered as text) is one of Values.
type Condition struct {
	Path   string
	Values []string
}

// EntityMapping makes each record of a source an entity of a collection.
type EntityMapping struct {
	Collection *Collection
	Key        string // column holding the entity id
	Fields     []*Mapping
}

// Counter counts distinct events into an int attribute.
type Counter struct {
	Target   *Attribute
	When     []Condition
	Distinct string // path of the de-duplication id, e.g. messageId
	Line     int
}

// Load reads, parses and checks a configuration file.
func Load(path string) (*File, error) { return load(path) }

// Parse parses and checks configuration text; name is used in error messages.
func Parse(data []byte, name string) (*File, error) { return parse(data, name) }
