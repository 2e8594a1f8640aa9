// # File format
//
// A data dictionary is one YAML document with four sections, all optional:
// pipeline, attributes, collections and sources. deploy/config/dev.yaml is a
// complete, commented example. Every key of every mapping is checked: a key
// the format does not know is an error, not ignored, because a misspelt
// "normalise:" would otherwise silently store unclean data.
//
//	pipeline:
//	  group: profiled          # default profiled; consumer group, prefix of internal topics
//	  profiles_topic: profiles # default profiles
//	  dlq_topic: profiled.dlq  # default profiled.dlq
//	  partitions: 6            # default 6; 1..10000
//
//	attributes:                # profile attributes by name
//	  email:
//	    type: string           # required: string|int|float|bool|decimal|timestamp|date
//	    description: Primary email address
//	    normalize: [trim, lower]
//	    validate: {email: true}
//	    policy: lww            # lww (default) | first | max | min | priority
//	  lifetime_value:
//	    type: decimal
//	    scale: 2               # decimal only: values are rescaled, rounding half away from zero
//	    derive:
//	      collection: orders
//	      aggregate: sum       # count | sum | max | min
//	      field: total         # required for sum, max, min; not allowed for count
//	      where:               # all must hold; exactly one operator each
//	        - {field: status, not_in: [cancelled, refunded]}
//	        # also {field: F, in: [...]}, {field: F, eq: v}, {field: F, ne: v}
//
//	collections:               # entity collections by name
//	  orders:
//	    fields:                # same keys as attributes, without policy and derive
//	      status: {type: string, normalize: [trim, lower]}
//	      total: {type: decimal, scale: 2, validate: {range: {min: 0}}}
//	      created_at: {type: timestamp}
//
//	sources:                   # a list; the position is Source.Index
//	  - name: crm              # required, unique
//	    topic: crm.public.customers   # or topic_pattern: "crm\\..*" (exactly one of them)
//	    format: debezium-json         # required: debezium-json | segment
//	    priority: 10                  # default 0; higher wins ties
//	    profile_id: {field: id}       # {field, prefix?, fallback?: {field, prefix?}}
//	    event_time: source.ts_us      # source.ts_ms|source.ts_us|source.ts_ns (Debezium) | field:<path>
//	    on_delete: clear              # clear (default) | ignore; Debezium only
//	    types:                        # Debezium only: hints for records without a schema
//	      birth_date: io.debezium.time.Date
//	      total: {semantic: org.apache.kafka.connect.data.Decimal, scale: 2}
//	    attributes:                   # attribute -> mapping
//	      email: {from: email}
//	      first_name: {from: [traits.first_name, traits.firstName], when: {type: identify}, required: false}
//	    entity:                       # optional: each record is an entity of a collection
//	      collection: orders
//	      key: id                     # required: the column or path of the entity id
//	      fields:                     # collection field -> mapping
//	        status: {from: status}
//	    count:                        # int attribute -> counter
//	      page_views: {when: {type: page}, distinct: messageId}
//
// # Types and conversions
//
// Coerce converts an input value to the attribute's type, then applies its
// normalizers in order, then its validators. Null stays null (only required
// rejects it). Conversions:
//
//   - string: any value, as its Text() (timestamps in RFC 3339, ...).
//   - int: ints; floats and decimals without a fraction; strings holding a
//     whole number ("42", "42.00", "4.2e1").
//   - float: ints, floats, decimals, numeric strings (no NaN or Inf).
//   - bool: bools; the strings true/false, t/f, yes/no, 1/0 in any case; the
//     ints 0 and 1.
//   - decimal: decimals, ints, floats (their shortest exact text), numeric
//     strings; rescaled to scale when one is given.
//   - timestamp: timestamps; dates (midnight UTC); ISO-8601 strings with or
//     without an offset (none means UTC), with T or a space, with optional
//     seconds and fraction, or a bare date. An int is an error: its unit
//     (seconds? microseconds?) is unknown, so the source needs a type hint.
//   - date: dates; timestamps and ISO date-time strings (their UTC date);
//     "YYYY-MM-DD"; ints (days since 1970-01-01).
//
// # Normalizers
//
// A list; each entry is a name, or a one-key mapping with an argument. All
// apply to string attributes only (typed values are canonical already):
//
//   - trim: remove leading and trailing white space.
//   - lower, upper: change case.
//   - collapse_spaces: turn every run of white space into one space.
//   - iso8601: rewrite an ISO-8601 date-time as RFC 3339 UTC, or a date as
//     YYYY-MM-DD.
//   - e164 or {e164: US}: format a phone number as E.164 (+14155552671). The
//     argument is the region for numbers written without a country code;
//     without it such numbers are rejected.
//
// # Validators
//
// A mapping, checked in file order after normalization. Except required,
// validators accept null.
//
//   - required: true: rejects null and the empty string.
//   - email: true: a plain address (one @, a dot in the domain, no display
//     name or spaces). Strings only.
//   - one_of: [a, b]: the value must be one of these (written in the
//     attribute's type; a value the normalizers would change is an error,
//     since it could never match).
//   - range: {min: x, max: y}: bounds, inclusive, either optional; for int,
//     float, decimal, and for timestamp and date as ISO-8601 strings.
//   - length: {min: n, max: m}: length in characters. Strings only.
//   - pattern: regex: Go (RE2) syntax; unanchored, so write ^...$ to match
//     the whole value. Strings only.
//
// # Mappings
//
// from is a path (a Debezium column, or a dotted Segment path such as
// properties.product_id) or a list of paths, the first present winning;
// from: $event_time takes the record's event time. when maps paths to a value
// or a list of values; the mapping applies only when every path's value (as
// text) is one of its values. required: true (default false) makes a record
// without the field an error.
//
// A counter (count:) counts the records that match when into an int
// attribute, once per distinct value of the distinct path when one is given.
//
// Each attribute gets its value one way: mapped by sources, counted, or
// derived from a collection. Derived and counted attributes take no merge
// policy. Values in where filters are converted to the field's type and
// stored as its Text(), so `eq: 10` on a decimal(2) field compares with
// "10.00"; a null field matches no value, so null is not a valid where value.
//
// # Errors
//
// Parse reports every problem it finds, not just the first, joined with
// errors.Join and sorted by line. Each starts with "file:line: " and names
// the offending key by its path, e.g.
//
//	dev.yaml:3: pipeline.partitions: want an integer from 1 to 10000, got string "six"
//	dev.yaml:9: attributes.email: unknown key "polcy" (allowed: ...); did you mean "policy"?
//
// YAML anchors, aliases and merge keys (<<) may be used to share definitions.
package dictionary
