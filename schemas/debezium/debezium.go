// Package debezium decodes Debezium change events written by Kafka Connect's
// JsonConverter (schemas.enable true or false), including tombstones and the
// flattened output of the ExtractNewRecordState ("unwrap") transform.
//
// The decoder is tolerant where Debezium versions differ (source.snapshot as a
// string or a boolean, missing ts_us/ts_ns, extra columns) and strict where a
// wrong guess would corrupt a profile (an integer timestamp without a schema or
// a type hint is an error, not a guess).
package debezium

import (
	"errors"

	"github.com/profiled/profiled/schemas"
)

// Op is a Debezium operation code.
type Op byte

// The operation codes of Envelope.Operation.
const (
	OpCreate   Op = 'c'
	OpUpdate   Op = 'u'
	OpDelete   Op = 'd'
	OpRead     Op = 'r' // snapshot read
	OpTruncate Op = 't'
	OpMessage  Op = 'm' // Postgres logical decoding message
)

// ErrNotEnvelope is returned (wrapped) when a value is JSON but not a Debezium
// change event in any of the supported shapes.
var ErrNotEnvelope = errors.New("not a debezium change event")

// Change is one decoded change event.
type Change struct {
	Op Op
	// Tombstone is true for a Kafka null value, the JSON text null, or
	// {"schema":...,"payload":null}. Nothing else is set then.
	Tombstone bool
	// Unwrapped is true when the value is the flat row written by the unwrap
	// SMT; After holds the row (Before for a rewritten delete) and Op comes
	// from __op when present, else 'd' when __deleted is "true", else 'u'.
	Unwrapped bool
	Before    Row // nil when absent or null
	After     Row // nil when absent or null
	Source    Source
	// TsMs is the envelope ts_ms (connector processing time, not event time).
	TsMs int64
}

// Source is the source block (Postgres and MySQL fields; absent ones are zero).
type Source struct {
	Version, Connector, Name, DB, Schema, Table string
	TsMs, TsUs, TsNs                            int64
	// Snapshot is normalised to the string enum: "true", "false", "last", ...
	// (a JSON boolean becomes "true"/"false"; absent is "").
	Snapshot string
	// Postgres.
	LSN    int64
	HasLSN bool
	TxID   int64
	// MySQL.
	File     string
	Pos      int64
	Row      int32
	ServerID int64
	GTID     string
}

// Row is one row image: the columns of before or after.
type Row struct {
	// Fields maps a column name to its field. A nil map means no row.
	Fields map[string]Field
}

// Field is one column value with what the schema said about it.
type Field struct {
	// Raw is the JSON value as decoded with json.Decoder.UseNumber:
	// nil, bool, json.Number, string, []any or map[string]any.
	Raw any
	// Type is the Connect literal type from the schema ("int32", "bytes", ...),
	// empty without a schema.
	Type string
	// Semantic is the Connect schema name ("io.debezium.time.Date",
	// "org.apache.kafka.connect.data.Decimal", ...), empty without a schema.
	Semantic string
	// Params are the schema parameters (e.g. "scale"). The map is shared by
	// all records decoded with the same schema: treat it as read-only.
	Params map[string]string
}

// Decode decodes one record value. A nil or empty value, the JSON text null and
// {"schema":...,"payload":null} decode as a tombstone. Errors wrap
// ErrNotEnvelope or describe the JSON problem; Decode never panics.
func Decode(value []byte) (*Change, error) { return decode(value) }

// DecodeKey decodes a record key (with or without the schema wrapper) into its
// columns. A nil key yields an empty Row and no error.
func DecodeKey(key []byte) (Row, error) { return decodeKey(key) }

// EventTime returns the change time in microseconds since the epoch:
// source.ts_us, else source.ts_ns/1000, else source.ts_ms*1000. ok is false
// when the source block carries none of them (e.g. an unwrapped row without
// __source_ts_ms).
func (c *Change) EventTime() (micros int64, ok bool) { return c.eventTime() }

// Position returns bytes that order changes of one database by their position
// in its log: the Postgres LSN, or MySQL (file, pos, row). Bytes compare with
// bytes.Compare. Nil when the source has no position.
func (c *Change) Position() []byte { return c.position() }

// Row returns the row that describes the record's entity: After, or Before
// when After is nil (deletes).
func (c *Change) Row() Row {
	if c.After.Fields != nil {
		return c.After
	}
	return c.Before
}

// Has reports whether the row has the column (present, possibly null).
func (r Row) Has(column string) bool { _, ok := r.Fields[column]; return ok }

// Unavailable reports whether the column holds Debezium's unavailable-value
// placeholder (an unchanged TOASTed value), which means "leave as it is".
func (r Row) Unavailable(column string) bool { return r.unavailable(column) }

// Value converts a column to a typed value. Conversion uses the schema's
// semantic type when the record carries one, else hint, which names a
// semantic type ("io.debezium.time.Date", "io.debezium.time.MicroTimestamp",
// "org.apache.kafka.connect.data.Decimal" with scale, ...) as configured for
// records without a schema. Without either, JSON strings become strings,
// integers ints, other numbers floats, booleans bools.
//
// present is false when the row has no such column. A null column is
// (schemas.Null, true, nil).
func (r Row) Value(column string, hint Hint) (v schemas.Value, present bool, err error) {
	return r.value(column, hint)
}

// Hint tells how to read a column when the record carries no schema.
type Hint struct {
	Semantic string // e.g. "io.debezium.time.MicroTimestamp"; "" for none
	Scale    int32  // for org.apache.kafka.connect.data.Decimal
}
