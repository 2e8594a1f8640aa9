package dictionary

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/profiled/profiled/schemas"
)

// errorLines splits a joined Parse error into its lines.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// mustParse parses a file that must be valid.
func mustParse(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse([]byte(src), "t.yaml")
	if err != nil {
		t.Fatalf("Parse: %v\n--- input:\n%s", err, src)
	}
	return f
}

// The sections most error cases need; kept small so that line numbers in the
// cases below are easy to count.
const okAttrs = `attributes:
  email: {type: string}
  visits: {type: int}
`

// Each case has exactly one mistake and must yield exactly one error, on
// the given line, containing the fragment. Line numbers count from 1 at the
// first line of src.
var errorCases = []struct {
	name string
	src  string
	line int
	frag string
}{
	// --- YAML itself ---
	{"syntax", "attributes:\n  email: {type: string\n", 2, "invalid YAML"},
	{"empty file", "# nothing here\n", 1, "the file is empty"},
	{"two documents", "pipeline: {}\n---\npipeline: {}\n", 3, "a second YAML document"},
	{"duplicate key", "attributes:\n  email: {type: string}\n  email: {type: int}\n", 3,
		`attributes: duplicate key "email" (first at line 2)`},
	{"top level not a mapping", "- a\n- b\n", 1, "top level: want a mapping, got a list"},
	{"undefined alias", "attributes:\n  a: &a {type: int}\n  b: *c\n", 3,
		"attributes.b: want a mapping, got alias *c, which refers to no anchor defined before it"},

	// --- unknown keys (strict) ---
	{"unknown top-level key", "atributes: {}\n", 1,
		`top level: unknown key "atributes" (allowed: pipeline, kafka, store, registry, output, sinks, attributes, collections, sources); did you mean "attributes"?`},
	{"unknown pipeline key", "pipeline:\n  partitons: 3\n", 2, `pipeline: unknown key "partitons"`},
	{"unknown attribute key", "attributes:\n  email:\n    type: string\n    polcy: max\n", 4,
		`attributes.email: unknown key "polcy" (allowed: type, description, normalize, validate, policy, scale, derive); did you mean "policy"?`},
	{"policy on a collection field", "collections:\n  orders:\n    fields:\n      total: {type: int, policy: max}\n", 4,
		`collections.orders.fields.total: unknown key "policy" (allowed: type, description, normalize, validate, scale)`},
	{"unknown source key", okAttrs + `sources:
  - name: crm
    topic: t
    format: debezium-json
    profile_id: {field: id}
    atributes: {}
`, 9, `sources.crm: unknown key "atributes"`},
	{"unknown mapping key", okAttrs + `sources:
  - name: crm
    topic: t
    format: debezium-json
    profile_id: {field: id}
    attributes:
      email: {from: email, requird: true}
`, 10, `sources.crm.attributes.email: unknown key "requird" (allowed: from, when, required); did you mean "required"?`},
	{"unknown validator", "attributes:\n  email:\n    type: string\n    validate: {emails: true}\n", 4,
		`attributes.email.validate: unknown key "emails" (allowed: required, email, one_of, range, length, pattern); did you mean "email"?`},
	{"unknown where operator", `attributes:
  n:
    type: int
    derive: {collection: orders, aggregate: count, where: [{field: status, gt: 5}]}
collections:
  orders: {fields: {status: {type: string}}}
`, 4, `attributes.n.derive.where[0]: unknown key "gt" (allowed: field, in, not_in, eq, ne)`},

	// --- type mismatches ---
	{"partitions not an int", "pipeline:\n  partitions: \"six\"\n", 2,
		`pipeline.partitions: want an integer from 1 to 10000, got string "six"`},
	{"partitions out of range", "pipeline:\n  partitions: 0\n", 2, "pipeline.partitions: 0 is out of range (want 1 to 10000)"},
	{"description not a string", "attributes:\n  email:\n    type: string\n    description: [a, b]\n", 4,
		"attributes.email.description: want a string, got a list"},
	{"attributes not a mapping", "attributes: [email]\n", 1, "attributes: want a mapping, got a list"},
	{"sources not a list", "sources: {crm: {}}\n", 1, "sources: want a list, got a mapping"},
	{"bool expected", "attributes:\n  email:\n    type: string\n    validate: {email: \"yes\"}\n", 4,
		`attributes.email.validate.email: want true or false, got string "yes"`},
	{"invalid topic name", okAttrs + "sources:\n  - {name: crm, topic: \"crm customers\", format: segment, profile_id: {field: id}}\n", 5,
		`sources.crm.topic: "crm customers" is not a valid Kafka topic name`},

	// --- missing required keys ---
	{"attribute without type", "attributes:\n  email:\n    description: x\n", 2,
		`attributes.email: missing required key "type" (want string, int, float, bool, decimal, timestamp or date)`},
	{"source without name", okAttrs + "sources:\n  - {topic: t, format: segment, profile_id: {field: id}}\n", 5,
		`sources[0]: missing required key "name"`},
	{"source without topic", okAttrs + "sources:\n  - {name: crm, format: segment, profile_id: {field: id}}\n", 5,
		`sources.crm: missing required key "topic" (or "topic_pattern"`},
	{"source without format", okAttrs + "sources:\n  - {name: crm, topic: t, profile_id: {field: id}}\n", 5,
		`sources.crm: missing required key "format"`},
	{"source without profile_id", okAttrs + "sources:\n  - {name: crm, topic: t, format: segment}\n", 5,
		`sources.crm: missing required key "profile_id"`},
	{"profile_id without field", okAttrs + "sources:\n  - {name: crm, topic: t, format: segment, profile_id: {prefix: x}}\n", 5,
		`sources.crm.profile_id: missing required key "field"`},
	{"mapping without from", okAttrs + `sources:
  - name: crm
    topic: t
    format: segment
    profile_id: {field: id}
    attributes:
      email: {when: {type: identify}}
`, 10, `sources.crm.attributes.email: missing required key "from"`},
	{"entity without key", okAttrs + `collections:
  orders: {fields: {status: {type: string}}}
sources:
  - name: shop
    topic: t
    format: debezium-json
    profile_id: {field: customer_id}
    entity:
      collection: orders
`, 11, `sources.shop.entity: missing required key "key" (the column or path holding the entity id)`},

	// --- unknown words ---
	{"unknown type", "attributes:\n  email: {type: strng}\n", 2,
		`attributes.email.type: unknown type "strng" (want string, int, float, bool, decimal, timestamp or date); did you mean "string"?`},
	{"unknown policy", "attributes:\n  email: {type: string, policy: newest}\n", 2,
		`attributes.email.policy: unknown policy "newest" (want lww, first, max, min or priority)`},
	{"unknown normalizer", "attributes:\n  email: {type: string, normalize: [trim, lowercase]}\n", 2,
		`attributes.email.normalize[1]: unknown normalizer "lowercase" (want one of trim, lower, upper, collapse_spaces, e164, iso8601)`},
	{"normalizer argument", "attributes:\n  email: {type: string, normalize: [{trim: both}]}\n", 2,
		`attributes.email.normalize[0]: normalizer trim takes no argument`},
	{"unknown e164 region", "attributes:\n  phone: {type: string, normalize: [{e164: XX}]}\n", 2,
		`attributes.phone.normalize[0]: e164: unknown region "XX"`},
	{"unknown format", okAttrs + "sources:\n  - {name: crm, topic: t, format: avro, profile_id: {field: id}}\n", 5,
		`sources.crm.format: unknown format "avro" (want debezium-json, debezium-avro or segment)`},
	{"unknown aggregate", `attributes:
  n:
    type: int
    derive: {collection: orders, aggregate: avg, field: total}
collections:
  orders: {fields: {total: {type: int}}}
`, 4, `attributes.n.derive.aggregate: unknown aggregate "avg" (want count, sum, max or min)`},
	{"unknown event_time form", okAttrs + "sources:\n  - {name: crm, topic: t, format: debezium-json, profile_id: {field: id}, event_time: ts_ms}\n", 5,
		`sources.crm.event_time: unknown event_time form "ts_ms" (want source.ts_ms, source.ts_us, source.ts_ns or field:<path>)`},
	{"unknown on_delete", okAttrs + "sources:\n  - {name: crm, topic: t, format: debezium-json, profile_id: {field: id}, on_delete: drop}\n", 5,
		`sources.crm.on_delete: unknown on_delete "drop" (want clear or ignore)`},
	{"unknown semantic type", okAttrs + `sources:
  - name: crm
    topic: t
    format: debezium-json
    profile_id: {field: id}
    types:
      born: io.debezium.time.MicroTimestmap
`, 10, `sources.crm.types.born: unknown semantic type "io.debezium.time.MicroTimestmap"`},
	{"decimal hint without scale", okAttrs + `sources:
  - name: crm
    topic: t
    format: debezium-json
    profile_id: {field: id}
    types:
      total: org.apache.kafka.connect.data.Decimal
`, 10, `sources.crm.types.total: org.apache.kafka.connect.data.Decimal needs a scale`},
	{"unknown special from", okAttrs + `sources:
  - name: web
    topic: t
    format: segment
    profile_id: {field: userId}
    attributes:
      email: {from: $received_at}
`, 10, `sources.web.attributes.email.from: unknown special value "$received_at" (the only one is $event_time)`},
	{"event_time combined", okAttrs + `sources:
  - name: web
    topic: t
    format: segment
    profile_id: {field: userId}
    attributes:
      email: {from: [traits.email, $event_time]}
`, 10, `sources.web.attributes.email.from[1]: $event_time cannot be combined with other paths`},

	// --- not applicable to the type / format ---
	{"normalizer on int", "attributes:\n  age: {type: int, normalize: [trim]}\n", 2,
		"attributes.age.normalize[0]: normalizer trim applies to string attributes; age has type int"},
	{"iso8601 on timestamp", "attributes:\n  seen: {type: timestamp, normalize: [iso8601]}\n", 2,
		"attributes.seen.normalize[0]: normalizer iso8601 applies to string attributes; seen has type timestamp"},
	{"email on int", "attributes:\n  age:\n    type: int\n    validate: {email: true}\n", 4,
		"attributes.age.validate.email: email applies to string attributes; age has type int"},
	{"pattern on date", "attributes:\n  born:\n    type: date\n    validate:\n      pattern: x\n", 5,
		"attributes.born.validate.pattern: pattern applies to string attributes; born has type date"},
	{"length on bool", "attributes:\n  ok:\n    type: bool\n    validate:\n      length: {max: 3}\n", 5,
		"attributes.ok.validate.length: length applies to string attributes; ok has type bool"},
	{"range on string", "attributes:\n  name:\n    type: string\n    validate:\n      range: {min: a}\n", 5,
		"attributes.name.validate.range: range applies to int, float, decimal, timestamp and date attributes; name has type string"},
	{"range bound not ISO", "attributes:\n  born:\n    type: date\n    validate:\n      range: {min: 19000}\n", 5,
		`attributes.born.validate.range.min: want an ISO-8601 string such as "2024-01-31" for a date attribute, got integer 19000`},
	{"range bound invalid date", "attributes:\n  born:\n    type: date\n    validate:\n      range: {min: \"1900-02-30\"}\n", 5,
		`attributes.born.validate.range.min: "1900-02-30" is not an ISO-8601 date`},
	{"range min above max", "attributes:\n  age:\n    type: int\n    validate:\n      range: {min: 10, max: 1}\n", 5,
		"attributes.age.validate.range: min 10 is greater than max 1"},
	{"range empty", "attributes:\n  age:\n    type: int\n    validate:\n      range: {}\n", 5,
		"attributes.age.validate.range: want min, max or both"},
	{"one_of value not of the type", "attributes:\n  age:\n    type: int\n    validate:\n      one_of: [1, two]\n", 5,
		`attributes.age.validate.one_of[1]: "two" is not an integer`},
	{"one_of value changed by normalizers", "attributes:\n  country:\n    type: string\n    normalize: [upper]\n    validate: {one_of: [US, ca]}\n", 5,
		`attributes.country.validate.one_of[1]: "ca" can never match: country is normalized, so write it as "CA"`},
	{"scale on int", "attributes:\n  age: {type: int, scale: 2}\n", 2,
		"attributes.age.scale: scale applies to decimal attributes only; age has type int"},
	{"on_delete on segment", okAttrs + "sources:\n  - {name: web, topic: t, format: segment, profile_id: {field: userId}, on_delete: ignore}\n", 5,
		"sources.web.on_delete: applies to debezium-json sources only; this source is segment"},
	{"types on segment", okAttrs + "sources:\n  - {name: web, topic: t, format: segment, profile_id: {field: userId}, types: {a: io.debezium.time.Date}}\n", 5,
		"sources.web.types: applies to debezium-json sources only"},
	{"source.ts_us on segment", okAttrs + "sources:\n  - {name: web, topic: t, format: segment, profile_id: {field: userId}, event_time: source.ts_us}\n", 5,
		"sources.web.event_time: source.ts_us exists in Debezium events only"},

	// --- invalid regular expressions ---
	{"invalid pattern", "attributes:\n  country:\n    type: string\n    validate: {pattern: \"^[A-Z{2}$\"}\n", 4,
		"attributes.country.validate.pattern: invalid regular expression: error parsing regexp: missing closing ]"},
	{"invalid topic_pattern", okAttrs + "sources:\n  - {name: crm, topic_pattern: \"crm(\", format: segment, profile_id: {field: id}}\n", 5,
		"sources.crm.topic_pattern: invalid regular expression"},
	{"topic and topic_pattern", okAttrs + "sources:\n  - name: crm\n    topic: a\n    topic_pattern: b\n    format: segment\n    profile_id: {field: id}\n", 7,
		"sources.crm: has both topic and topic_pattern; use exactly one"},

	// --- references ---
	{"mapping to undefined attribute", okAttrs + `sources:
  - name: crm
    topic: t
    format: debezium-json
    profile_id: {field: id}
    attributes:
      emial: {from: email}
`, 10, `sources.crm.attributes: unknown attribute "emial" (defined: email, visits); did you mean "email"?`},
	{"entity of undefined collection", okAttrs + `sources:
  - name: shop
    topic: t
    format: debezium-json
    profile_id: {field: customer_id}
    entity: {collection: orders, key: id}
`, 9, `sources.shop.entity.collection: unknown collection "orders" (none are defined)`},
	{"entity field undefined", okAttrs + `collections:
  orders: {fields: {status: {type: string}}}
sources:
  - name: shop
    topic: t
    format: debezium-json
    profile_id: {field: customer_id}
    entity:
      collection: orders
      key: id
      fields:
        state: {from: state}
`, 15, `sources.shop.entity.fields: unknown field of collection orders "state" (defined: status)`},
	{"count into undefined attribute", okAttrs + "sources:\n  - name: web\n    topic: t\n    format: segment\n    profile_id: {field: userId}\n    count:\n      views: {when: {type: page}}\n", 10,
		`sources.web.count: unknown attribute "views"`},
	{"derive from unknown collection", "attributes:\n  n:\n    type: int\n    derive: {collection: ordrs, aggregate: count}\ncollections:\n  orders: {}\n", 4,
		`attributes.n.derive.collection: unknown collection "ordrs" (defined: orders); did you mean "orders"?`},
	{"derive unknown field", "attributes:\n  v:\n    type: int\n    derive: {collection: orders, aggregate: sum, field: totl}\ncollections:\n  orders: {fields: {total: {type: int}}}\n", 4,
		`attributes.v.derive.field: unknown field of collection orders "totl" (defined: total); did you mean "total"?`},
	{"derive where unknown field", "attributes:\n  n:\n    type: int\n    derive:\n      collection: orders\n      aggregate: count\n      where: [{field: state, eq: x}]\ncollections:\n  orders: {fields: {status: {type: string}}}\n", 7,
		`attributes.n.derive.where[0].field: unknown field of collection orders "state"`},
	{"where without operator", "attributes:\n  n:\n    type: int\n    derive:\n      collection: orders\n      aggregate: count\n      where: [{field: status}]\ncollections:\n  orders: {fields: {status: {type: string}}}\n", 7,
		"attributes.n.derive.where[0]: missing the condition: one of in, not_in, eq or ne"},
	{"where with two operators", "attributes:\n  n:\n    type: int\n    derive:\n      collection: orders\n      aggregate: count\n      where:\n        - field: status\n          eq: a\n          ne: b\ncollections:\n  orders: {fields: {status: {type: string}}}\n", 10,
		"attributes.n.derive.where[0]: has both eq and ne; use exactly one of in, not_in, eq or ne"},
	{"where value null", "attributes:\n  n:\n    type: int\n    derive:\n      collection: orders\n      aggregate: count\n      where: [{field: note, eq: null}]\ncollections:\n  orders: {fields: {note: {type: string}}}\n", 7,
		"attributes.n.derive.where[0].eq: null cannot be compared"},
	{"where value of wrong type", "attributes:\n  n:\n    type: int\n    derive:\n      collection: orders\n      aggregate: count\n      where: [{field: total, ne: zero}]\ncollections:\n  orders: {fields: {total: {type: decimal}}}\n", 7,
		`attributes.n.derive.where[0].ne: "zero" is not a decimal number`},

	// --- derivations ---
	{"sum of a string", "attributes:\n  v:\n    type: decimal\n    derive: {collection: orders, aggregate: sum, field: status}\ncollections:\n  orders: {fields: {status: {type: string}}}\n", 4,
		"attributes.v.derive.field: sum needs an int, float or decimal field; orders.status has type string"},
	{"max of a bool", "attributes:\n  v:\n    type: bool\n    derive: {collection: orders, aggregate: max, field: paid}\ncollections:\n  orders: {fields: {paid: {type: bool}}}\n", 4,
		"attributes.v.derive.field: max needs an int, float, decimal, timestamp or date field; orders.paid has type bool"},
	{"sum without field", "attributes:\n  v:\n    type: decimal\n    derive:\n      collection: orders\n      aggregate: sum\ncollections:\n  orders: {fields: {total: {type: decimal}}}\n", 4,
		"attributes.v.derive: sum needs a field: the collection field to aggregate"},
	{"count with field", "attributes:\n  n:\n    type: int\n    derive: {collection: orders, aggregate: count, field: total}\ncollections:\n  orders: {fields: {total: {type: int}}}\n", 4,
		"attributes.n.derive.field: count counts entities and takes no field"},
	{"count into a decimal", "attributes:\n  n:\n    type: decimal\n    derive:\n      collection: orders\n      aggregate: count\ncollections:\n  orders: {}\n", 6,
		"attributes.n.derive: count yields an int, but n has type decimal"},
	{"max into another type", "attributes:\n  last:\n    type: date\n    derive:\n      collection: orders\n      aggregate: max\n      field: at\ncollections:\n  orders: {fields: {at: {type: timestamp}}}\n", 6,
		"attributes.last.derive: max of orders.at yields a timestamp, but last has type date"},
	{"derived attribute mapped", `attributes:
  n:
    type: int
    derive: {collection: orders, aggregate: count}
collections:
  orders: {}
sources:
  - name: crm
    topic: t
    format: debezium-json
    profile_id: {field: id}
    attributes:
      n: {from: order_count}
`, 13, "sources.crm.attributes.n: n is derived (line 4) and cannot also be mapped by a source"},
	{"policy on derived", "attributes:\n  n:\n    type: int\n    policy: max\n    derive: {collection: orders, aggregate: count}\ncollections:\n  orders: {}\n", 4,
		"attributes.n.policy: n is a derived attribute (it is recomputed from its collection) and takes no merge policy"},

	// --- counters ---
	{"counter not int", "attributes:\n  views: {type: string}\nsources:\n  - name: web\n    topic: t\n    format: segment\n    profile_id: {field: userId}\n    count:\n      views: {when: {type: page}}\n", 9,
		"sources.web.count.views: a counter counts into an int attribute; views has type string"},
	{"counter also mapped", `attributes:
  views: {type: int}
sources:
  - name: web
    topic: t
    format: segment
    profile_id: {field: userId}
    count:
      views: {when: {type: page}}
  - name: crm
    topic: u
    format: debezium-json
    profile_id: {field: id}
    attributes:
      views: {from: page_views}
`, 15, "sources.crm.attributes.views: views is a counter (counted by source web at line 9) and cannot also be mapped"},
	{"policy on counter", "attributes:\n  views: {type: int, policy: first}\nsources:\n  - name: web\n    topic: t\n    format: segment\n    profile_id: {field: userId}\n    count: {views: {}}\n", 2,
		"attributes.views.policy: views is a counter (it is a running count) and takes no merge policy"},

	// --- sources ---
	{"duplicate source names", okAttrs + `sources:
  - {name: crm, topic: a, format: segment, profile_id: {field: id}}
  - {name: crm, topic: b, format: segment, profile_id: {field: id}}
`, 6, `sources.crm: duplicate source name "crm" (first at line 5)`},
	{"dlq equals profiles", "pipeline:\n  profiles_topic: out\n  dlq_topic: out\n", 3,
		`pipeline.dlq_topic: "out" is also the profiles topic`},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range slices.Concat(errorCases, connectErrorCases, registryErrorCases) {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.src), "t.yaml")
			if err == nil {
				t.Fatalf("no error; want line %d: %s", tc.line, tc.frag)
			}
			if f != nil {
				t.Errorf("got a File along with the error")
			}
			lines := errorLines(err)
			if len(lines) != 1 {
				t.Errorf("want exactly 1 error, got %d:\n%s", len(lines), err)
			}
			prefix := "t.yaml:" + itoa(tc.line) + ": "
			if !strings.HasPrefix(lines[0], prefix) || !strings.Contains(lines[0], tc.frag) {
				t.Errorf("got  %s\nwant %s...%s", lines[0], prefix, tc.frag)
			}
		})
	}
}

func itoa(i int) string { return schemas.Int(int64(i)).Text() }

func TestAllErrorsAreCollected(t *testing.T) {
	src := `sources:
  - name: crm
    topic: t
    format: debezium-json
    profile_id: {field: id}
    attributes:
      email: {from: email}
attributes:
  email: {type: string, normalize: [trim, lowr]}
pipeline:
  partitions: many
  colour: blue
`
	_, err := Parse([]byte(src), "t.yaml")
	got := errorLines(err)
	want := []string{
		`t.yaml:9: attributes.email.normalize[1]: unknown normalizer "lowr"`,
		`t.yaml:11: pipeline.partitions: want an integer from 1 to 10000, got string "many"`,
		`t.yaml:12: pipeline: unknown key "colour"`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got  %s\n want %s...", i, got[i], want[i])
		}
	}
	// The joined error prints one problem per line, sorted by line.
	if n := strings.Count(err.Error(), "\n"); n != 2 {
		t.Errorf("joined error has %d line breaks, want 2:\n%s", n, err)
	}
}

func TestErrorsUnwrap(t *testing.T) {
	_, err := Parse([]byte("attributes:\n  c: {type: string, validate: {pattern: \"(\"}}\n"), "t.yaml")
	var le *lineError
	if !errors.As(err, &le) || le.line != 2 {
		t.Fatalf("want a lineError on line 2, got %v", err)
	}
	// The regexp error stays reachable for callers that want it.
	if errors.Unwrap(le) == nil || errors.Unwrap(errors.Unwrap(le)) == nil {
		t.Errorf("pattern error does not wrap the regexp error: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("does/not/exist.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("want fs.ErrNotExist, got %v", err)
	}
}

func TestDefaults(t *testing.T) {
	f := mustParse(t, `attributes:
  email: {type: string}
  total: {type: decimal}
sources:
  - {name: web, topic: clicks, format: segment, profile_id: {field: userId}}
`)
	if want := (Pipeline{Group: "profiled", ProfilesTopic: "profiles", DLQTopic: "profiled.dlq", Partitions: 6}); f.Pipeline != want {
		t.Errorf("pipeline = %+v, want %+v", f.Pipeline, want)
	}
	if a := f.Attributes["email"]; a.Policy != PolicyLWW || a.Scale != -1 || a.Line != 2 || a.Counter || a.Derive != nil {
		t.Errorf("email = %+v", a)
	}
	if f.Attributes["total"].Scale != -1 {
		t.Errorf("decimal without scale: Scale = %d, want -1", f.Attributes["total"].Scale)
	}
	s := f.Sources[0]
	if s.EventTime != "" || s.OnDelete != "clear" || s.Priority != 0 || s.Index != 0 || s.Line != 5 || s.Pattern != nil {
		t.Errorf("source = %+v", s)
	}
	if f.Path != "t.yaml" {
		t.Errorf("Path = %q", f.Path)
	}
}

func TestEmptySectionsAreValid(t *testing.T) {
	f := mustParse(t, "pipeline:\nattributes:\ncollections:\nsources:\n")
	if len(f.Names) != 0 || len(f.Sources) != 0 || f.Pipeline.Partitions != 6 {
		t.Errorf("got %+v", f)
	}
}

func TestTopicPatternIsAnchored(t *testing.T) {
	f := mustParse(t, `sources:
  - {name: crm, topic_pattern: "crm\\..*", format: debezium-json, profile_id: {field: id}}
`)
	re := f.Sources[0].Pattern
	if re == nil || f.Sources[0].Topic != "" {
		t.Fatalf("source = %+v", f.Sources[0])
	}
	for topic, want := range map[string]bool{"crm.public.customers": true, "old.crm.x": false, "crmx": false} {
		if re.MatchString(topic) != want {
			t.Errorf("pattern %s matches %q = %v, want %v", re, topic, !want, want)
		}
	}
}

func TestWhereValuesAreCanonical(t *testing.T) {
	f := mustParse(t, `attributes:
  big:
    type: int
    derive:
      collection: orders
      aggregate: count
      where:
        - {field: total, eq: 10}
        - {field: placed, in: ["2024-05-01T14:00:00+02:00"]}
        - {field: status, not_in: [cancelled]}
collections:
  orders:
    fields:
      total: {type: decimal, scale: 2}
      placed: {type: timestamp}
      status: {type: string, normalize: [lower]}
`)
	w := f.Attributes["big"].Derive.Where
	want := []Filter{
		{Field: "total", Op: "eq", Values: []string{"10.00"}},
		{Field: "placed", Op: "in", Values: []string{"2024-05-01T12:00:00Z"}},
		{Field: "status", Op: "not_in", Values: []string{"cancelled"}},
	}
	if len(w) != len(want) {
		t.Fatalf("where = %+v", w)
	}
	for i := range want {
		if w[i].Field != want[i].Field || w[i].Op != want[i].Op || strings.Join(w[i].Values, "|") != strings.Join(want[i].Values, "|") {
			t.Errorf("where[%d] = %+v, want %+v", i, w[i], want[i])
		}
	}
	// A where value the field's normalizers would change could never match.
	_, err := Parse([]byte(`attributes:
  n: {type: int, derive: {collection: orders, aggregate: count, where: [{field: status, eq: Open}]}}
collections:
  orders: {fields: {status: {type: string, normalize: [lower]}}}
`), "t.yaml")
	if err == nil || !strings.Contains(err.Error(), `t.yaml:2: attributes.n.derive.where[0].eq: "Open" can never match: status is normalized, so write it as "open"`) {
		t.Errorf("got %v", err)
	}
}

func TestAnchorsAliasesAndMergeKeys(t *testing.T) {
	f := mustParse(t, `attributes:
  first_name: &name
    type: string
    normalize: [trim, collapse_spaces]
  last_name: *name
  nickname:
    <<: *name
    description: What friends say
`)
	for _, n := range []string{"first_name", "last_name", "nickname"} {
		a := f.Attributes[n]
		if a.Type != schemas.KindString || len(a.Normalizers) != 2 || a.Name != n {
			t.Errorf("%s = %+v", n, a)
		}
	}
	if f.Attributes["nickname"].Description != "What friends say" {
		t.Errorf("merge key: nickname = %+v", f.Attributes["nickname"])
	}
	// A mapping that merges itself must not hang.
	_, err := Parse([]byte("attributes:\n  a: &a\n    type: int\n    <<: *a\n"), "t.yaml")
	if err == nil {
		t.Log("self-merge accepted") // fine either way; it must only terminate
	}
}

func TestLinesOfDefinitions(t *testing.T) {
	f := mustParse(t, `attributes:
  email: {type: string}
  views: {type: int}
collections:
  orders:
    fields: {total: {type: int}}
sources:
  - name: web
    topic: t
    format: segment
    profile_id: {field: userId}
    attributes:
      email: {from: traits.email}
    count:
      views: {}
`)
	if f.Attributes["email"].Line != 2 || f.Attributes["views"].Line != 3 {
		t.Errorf("attribute lines: %d %d", f.Attributes["email"].Line, f.Attributes["views"].Line)
	}
	if c := f.Collections["orders"]; c.Line != 5 || c.Fields["total"].Line != 6 {
		t.Errorf("collection lines: %d %d", c.Line, c.Fields["total"].Line)
	}
	s := f.Sources[0]
	if s.Line != 8 || s.Attributes[0].Line != 13 || s.Counters[0].Line != 15 {
		t.Errorf("source lines: %d %d %d", s.Line, s.Attributes[0].Line, s.Counters[0].Line)
	}
	if !f.Attributes["views"].Counter || s.Counters[0].Target != f.Attributes["views"] || s.Counters[0].When != nil {
		t.Errorf("counter: %+v", s.Counters[0])
	}
}

func TestTypeHintForms(t *testing.T) {
	f := mustParse(t, `sources:
  - name: shop
    topic: t
    format: debezium-json
    profile_id: {field: id}
    types:
      born: io.debezium.time.Date
      total: {semantic: org.apache.kafka.connect.data.Decimal, scale: 2}
`)
	got := f.Sources[0].Types
	if got["born"] != (TypeHint{Semantic: "io.debezium.time.Date"}) ||
		got["total"] != (TypeHint{Semantic: "org.apache.kafka.connect.data.Decimal", Scale: 2}) {
		t.Errorf("types = %+v", got)
	}
}
