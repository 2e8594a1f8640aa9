// # File format
//
// A data dictionary is one YAML document with seven sections, all optional:
// pipeline, kafka, store, registry, attributes, collections and sources.
// kafka, store and registry say how to connect (see Connection settings and
// Secrets below); the others are the dictionary proper. deploy/config/dev.yaml is a complete,
// commented example; deploy/config/examples holds connection examples
// (Confluent Cloud, Amazon MSK with IAM, SCRAM with a private CA). Every key
// of every mapping is checked: a key the format does not know is an error,
// not ignored, because a misspelt "normalise:" would otherwise silently store
// unclean data.
//
//	pipeline:
//	  group: profiled          # default profiled; consumer group, prefix of internal topics
//	  profiles_topic: profiles # default profiles
//	  dlq_topic: profiled.dlq  # default profiled.dlq
//	  partitions: 6            # default 6; 1..10000
//
//	kafka:                     # File.Kafka; leave it out for plaintext without authentication
//	  brokers: [b1:9092, b2:9092]  # seed brokers, host:port each; the --brokers flag overrides them
//	  client_id: profiled      # default profiled
//	  tls:                     # the key's presence enables TLS; tls: true, tls: {} and tls: alone
//	                           # mean TLS with the system roots; tls: false is the same as no key
//	    ca_file: /etc/kafka/ca.pem          # PEM roots instead of the system ones
//	    cert_file: /etc/profiled/client.pem # client certificate for mTLS: cert_file and
//	    key_file: /etc/profiled/client.key  # key_file both or neither
//	    server_name: broker.internal        # name to verify in the broker's certificate
//	    insecure_skip_verify: false         # true disables verification (local testing only)
//	  sasl:
//	    mechanism: SCRAM-SHA-512   # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER | AWS_MSK_IAM (any case)
//	    username: profiled         # PLAIN and SCRAM: required, a plain string (not secret)
//	    password: {env: KAFKA_PASSWORD}  # PLAIN and SCRAM: required, a secret
//	    # token: {file: /var/run/secrets/kafka/token}  # OAUTHBEARER: required, a secret
//	    # aws:                     # AWS_MSK_IAM: optional; without it the standard AWS
//	    #   access_key_id: {env: AWS_ACCESS_KEY_ID}          # environment variables are used
//	    #   secret_access_key: {env: AWS_SECRET_ACCESS_KEY}  # (SASL.AWS is nil)
//	    #   session_token: {env: AWS_SESSION_TOKEN}          # optional
//
//	store:                     # File.Store
//	  encryption_key: {file: /etc/profiled/state.key}  # a secret; enables encryption at rest
//	  key_rotation: 240h       # Go duration > 0; only with encryption_key; default Badger's (10 days)
//
//	registry:                  # File.Registry (nil without the section): the Schema Registry
//	  urls: [https://psrc-xxxx.europe-west1.gcp.confluent.cloud]  # required: one or more base URLs,
//	                           # all http:// or all https://, optional path prefix, no user:password@
//	  tls:                     # https only; a mapping with the keys of kafka.tls (no true/false:
//	    ca_file: /etc/profiled/registry-ca.pem  # the https:// scheme turns TLS on)
//	  basic: {username: SRKEY, password: {env: SR_API_SECRET}}  # HTTP basic: username a plain
//	                           # string, password a secret; or
//	  # bearer: {file: /var/run/secrets/sr-token}  # a bearer token, a secret; at most one of them
//	  timeout: 10s             # Go duration > 0 for each request; default 10s
//
//	output:                    # File.Output: the encoding of the profiles topic
//	  format: avro             # json (default) | avro; avro needs registry: and attribute
//	                           # names that are Avro names ([A-Za-z_][A-Za-z0-9_]*)
//	  subject: profiles-value  # avro only; default <profiles_topic>-value
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
//	    format: debezium-json         # required: debezium-json | debezium-avro | segment
//	                                  # (debezium-avro: Confluent wire format; needs registry:)
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
// # Connection settings
//
// The mechanism decides the other keys of sasl: PLAIN, SCRAM-SHA-256 and
// SCRAM-SHA-512 need username and password; OAUTHBEARER needs token;
// AWS_MSK_IAM takes an optional aws. A key of another mechanism is an error
// (a token with PLAIN, a username with OAUTHBEARER), since it would be
// silently ignored otherwise. The mechanism is read in any case and stored as
// its constant (MechScramSHA512, ...).
//
// Brokers are host:port with a port from 1 to 65535, one per list item,
// without a scheme; an IPv6 address is written in brackets ([::1]:9092).
//
// Registry URLs are scheme://host[:port][/path] with scheme http or https
// (stored in lower case), one per list item; URLs with a port inside a flow
// mapping ({urls: ["http://sr:8081"]}) need quotes. Credentials in a URL
// (user:password@) and queries are rejected, and such a URL is not quoted in
// the message: set registry.basic or registry.bearer instead. The URLs share
// one scheme so that credentials never go to one of them in plaintext; tls is
// only accepted with https URLs. Credentials over http are accepted, for a
// local registry.
//
// Nothing is read or checked on disk when the file is parsed: ca_file,
// cert_file and key_file (of kafka.tls and registry.tls), and the
// environment variables and files secrets name, are read when the pipeline
// connects (or opens the store), which
// reports a missing or unreadable one by name. Relative paths are relative to
// the working directory of the process.
//
// # Secrets
//
// A password, token, AWS credential, registry credential or encryption key
// is a secret: a mapping
// with exactly one of
//
//	{env: KAFKA_PASSWORD}      # an environment variable: [A-Za-z_][A-Za-z0-9_]*
//	{file: /run/secrets/pw}    # a file; a trailing newline is not part of the secret
//	                           # (binary keys are used as they are); re-read at each use
//	{value: "s3cret", insecure_plaintext: true}  # the secret in this file, when you insist
//
// A secret written as a plain string is an error: secrets are not read from
// the configuration file unless insecure_plaintext: true says that this is
// intended. Secrets are held in a Secret, which never prints, logs or
// marshals its value, and no error message of Parse contains one: where a
// secret is expected, a wrong value is described by its kind only ("got a
// string"), and an unknown key of a secret (or of aws) is named only when it
// looks like a mistaken key name: a near typo of an allowed key, or a
// snake_case word.
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
//	dev.yaml:14: kafka.sasl.password: secrets are not read from the configuration file; write {env: NAME} or {file: PATH} (or {value: ..., insecure_plaintext: true} to insist)
//
// YAML anchors, aliases and merge keys (<<) may be used to share definitions.
package dictionary
