// Package fact defines the facts that stage 1 (ingest) sends to stage 2
// (merge) through the repartition topic, and their compact binary encoding.
//
// A fact is everything one input record says about one profile: the
// attribute values it sets, the entities it upserts or deletes and the
// counters it increments, all stamped with the record's event time and
// origin. Stage 2 applies a fact atomically.
//
// Encoding (version 1), all integers as varints unless noted:
//
//	byte    version (1)
//	string  profile id
//	stamp   time (zigzag varint µs), priority (zigzag), position (bytes)
//	origin  source index (uvarint), topic (string), partition (zigzag), offset (zigzag)
//	uvarint number of ops, then each op:
//	  byte kind; string name; then per kind:
//	  set:    value
//	  upsert: string entity id; uvarint n; n × (string field, value)
//	  delete: string entity id
//	  count:  string de-duplication id
//	value:  byte kind; string (string, decimal) | zigzag (int, bool, timestamp, date) | 8 bytes (float)
//
// Strings and bytes are a uvarint length followed by the bytes.
package fact

import (
	"bytes"
	"cmp"

	"github.com/profiled/profiled/schemas"
)

// Version is the current encoding version, the first byte of every encoded fact.
const Version = 1

// Stamp orders facts: by event time, then source priority, then the record's
// position in its source log. It is what last-write-wins compares.
//
// The Kafka offset is deliberately not part of the order: a record delivered
// twice (producer retry, connector restart) has two offsets but must win or
// lose exactly as the first copy did.
type Stamp struct {
	Time     int64 // event time, µs since the epoch
	Priority int32 // source priority
	Position []byte
}

// Compare orders stamps: negative when s is older than o.
func (s Stamp) Compare(o Stamp) int {
	if c := cmp.Compare(s.Time, o.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(s.Priority, o.Priority); c != 0 {
		return c
	}
	return bytes.Compare(s.Position, o.Position)
}

// Origin says where a fact came from, for lineage and dead letters.
type Origin struct {
	Source    uint32 // index of the source in the dictionary
	Topic     string
	Partition int32
	Offset    int64
}

// OpKind is the kind of an operation.
type OpKind uint8

// The operations. The numbers are persisted.
const (
	OpSet    OpKind = 1 // set attribute Name to Value
	OpUpsert OpKind = 2 // upsert entity EntityID of collection Name with Fields
	OpDelete OpKind = 3 // delete entity EntityID of collection Name
	OpCount  OpKind = 4 // count DedupID once into counter attribute Name
)

// Field is one named value of an entity.
type Field struct {
	Name  string
	Value schemas.Value
}

// Op is one operation of a fact.
type Op struct {
	Kind     OpKind
	Name     string
	Value    schemas.Value
	EntityID string
	Fields   []Field // sorted by name
	DedupID  string
}

// Fact is what one input record says about one profile.
type Fact struct {
	ProfileID string
	Stamp     Stamp
	Origin    Origin
	Ops       []Op
}
