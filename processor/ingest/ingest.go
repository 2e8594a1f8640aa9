// Package ingest is stage 1 of the pipeline: it decodes an input record,
// maps it through the data dictionary and turns it into facts keyed by
// profile id. It does no I/O; the entity-owner memory it needs is passed in.
//
// # Entity owners
//
// A Debezium delete under Postgres' default REPLICA IDENTITY carries only the
// primary key, and an update can move an entity (an order) to another
// profile. Stage 1 therefore remembers, per record key, the latest version it
// has seen: (profile, stamp, deleted). The rules keep the outcome independent
// of arrival order:
//
//   - a record's own ops always go to its own profile (a PK-only delete goes
//     to the remembered owner);
//   - a record newer than the remembered version that names another profile
//     "supersedes" the entity there (an entity delete, or a clear of the
//     attributes the source maps) at the record's stamp;
//   - a record older than the remembered version that names another profile
//     is superseded in its own profile at the remembered stamp;
//   - a delete whose owner is not yet known is remembered as pending and
//     applied to the profile that the first later-arriving version names.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/profiled/profiled/processor/fact"
	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/debezium"
	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/schemas/segment"
)

// Record is one input record.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
}

// Reason classifies why a record was dead-lettered. The set is small and
// fixed so that it can label metrics.
type Reason string

// The dead-letter reasons.
const (
	ReasonDecode   Reason = "decode"   // not valid JSON / not the declared format
	ReasonMapping  Reason = "mapping"  // no profile id, no event time, no entity key, unknown topic
	ReasonValidate Reason = "validate" // a value failed its attribute's conversion or validators
	// ReasonSchema: an Avro record names a schema id the registry does not
	// have (or one that is not usable Avro).
	ReasonSchema Reason = "schema"
)

// Error is a record-level failure: the record goes to the dead-letter topic
// whole and nothing of it is applied.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return string(e.Reason) + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Err: fmt.Errorf(format, args...)}
}

// Skip says why a record produced no facts without being an error.
type Skip string

// The skip reasons; like Reason they label metrics.
const (
	SkipNone          Skip = ""
	SkipTombstone     Skip = "tombstone"      // Kafka-level delete marker after a Debezium delete
	SkipTruncate      Skip = "truncate"       // op t: table-wide, not a per-profile change
	SkipMessage       Skip = "message"        // op m: logical decoding message
	SkipPendingDelete Skip = "pending_delete" // delete of an entity whose owner is not known yet
	SkipEmpty         Skip = "empty"          // nothing mapped (e.g. only unavailable values)
)

// Owner is the remembered latest version of one keyed row of a source.
type Owner struct {
	Profile string // "" while a delete is pending
	Stamp   fact.Stamp
	Deleted bool
}

// Owners is stage 1's memory of row owners, scoped to one input partition.
type Owners interface {
	GetOwner(key []byte) (Owner, bool, error)
	PutOwner(key []byte, o Owner)
}

// Mapper maps records of the dictionary's sources.
type Mapper struct {
	dict  *dictionary.File
	exact map[string]*dictionary.Source
	avro  *debezium.AvroDecoder // nil without WithSchemas
}

// Option configures a Mapper.
type Option func(*Mapper)

// WithSchemas lets the mapper decode debezium-avro sources, looking the
// records' writer schemas up in src (registry.SchemaCache over the
// configuration's registry).
func WithSchemas(src debezium.SchemaSource) Option {
	return func(m *Mapper) { m.avro = debezium.NewAvroDecoder(src) }
}

// NewMapper returns a mapper for the dictionary.
func NewMapper(d *dictionary.File, opts ...Option) *Mapper {
	m := &Mapper{dict: d, exact: map[string]*dictionary.Source{}}
	for _, s := range d.Sources {
		if s.Pattern == nil {
			m.exact[s.Topic] = s
		}
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Source returns the source that reads topic, or nil.
func (m *Mapper) Source(topic string) *dictionary.Source {
	if s, ok := m.exact[topic]; ok {
		return s
	}
	for _, s := range m.dict.Sources {
		if s.Pattern != nil && s.Pattern.MatchString(topic) {
			return s
		}
	}
	return nil
}

// Map turns one record into facts. A returned *Error means the record must
// be dead-lettered; any other error is an infrastructure failure (the owner
// store) and must stop the partition.
//
// Map is MapContext without a deadline; use MapContext where records may be
// Avro, whose schema lookups go to the registry.
func (m *Mapper) Map(rec *Record, owners Owners) ([]*fact.Fact, Skip, error) {
	return m.MapContext(context.Background(), rec, owners)
}

// MapContext is Map with a context for the schema lookups of Avro records.
// A registry that cannot be reached is an infrastructure failure (not an
// *Error): the record says nothing wrong, and must not be dead-lettered.
func (m *Mapper) MapContext(ctx context.Context, rec *Record, owners Owners) ([]*fact.Fact, Skip, error) {
	src := m.Source(rec.Topic)
	if src == nil {
		return nil, SkipNone, fail(ReasonMapping, "no source is configured for topic %q", rec.Topic)
	}
	origin := fact.Origin{Source: uint32(src.Index), Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset}
	switch src.Format {
	case dictionary.FormatDebeziumJSON, dictionary.FormatDebeziumAvro:
		return m.mapDebezium(ctx, src, rec, origin, owners)
	case dictionary.FormatSegment:
		f, skip, err := m.mapSegment(src, rec, origin)
		if f == nil {
			return nil, skip, err
		}
		return []*fact.Fact{f}, skip, err
	}
	return nil, SkipNone, fail(ReasonMapping, "source %q has unsupported format %q", src.Name, src.Format)
}

// ---- Debezium ----

func (m *Mapper) mapDebezium(ctx context.Context, src *dictionary.Source, rec *Record, origin fact.Origin, owners Owners) ([]*fact.Fact, Skip, error) {
	avroIn := src.Format == dictionary.FormatDebeziumAvro
	if avroIn && m.avro == nil {
		return nil, SkipNone, fmt.Errorf("source %q is %s, but the mapper has no schema registry (ingest.WithSchemas)", src.Name, src.Format)
	}
	var (
		ch  *debezium.Change
		err error
	)
	if avroIn {
		ch, err = m.avro.Decode(ctx, rec.Value)
	} else {
		ch, err = debezium.Decode(rec.Value)
	}
	if err != nil {
		return nil, SkipNone, decodeError("decoding debezium change", err, avroIn)
	}
	if ch.Tombstone {
		return nil, SkipTombstone, nil
	}
	switch ch.Op {
	case debezium.OpTruncate:
		return nil, SkipTruncate, nil
	case debezium.OpMessage:
		return nil, SkipMessage, nil
	case debezium.OpCreate, debezium.OpUpdate, debezium.OpDelete, debezium.OpRead:
	default:
		return nil, SkipNone, fail(ReasonDecode, "unknown debezium op %q", string(ch.Op))
	}
	row := ch.Row()
	if row.Fields == nil {
		return nil, SkipNone, fail(ReasonDecode, "change event op %q has neither before nor after", string(ch.Op))
	}
	deleted := ch.Op == debezium.OpDelete

	stamp := fact.Stamp{Priority: int32(src.Priority), Position: ch.Position()}
	if stamp.Time, err = debeziumEventTime(src, ch, row); err != nil {
		return nil, SkipNone, err
	}

	var keyRow debezium.Row
	if len(rec.Key) > 0 {
		if avroIn {
			keyRow, err = m.avro.DecodeKey(ctx, rec.Key)
		} else {
			keyRow, err = debezium.DecodeKey(rec.Key)
		}
		if err != nil {
			return nil, SkipNone, decodeError("decoding record key", err, avroIn)
		}
	}
	profile, err := debeziumID(&src.ProfileID, row, keyRow, src)
	if err != nil {
		return nil, SkipNone, err
	}

	// The ops this record contributes to its own profile.
	var ops []fact.Op
	entityID := ""
	if src.Entity != nil {
		if entityID, err = columnText(row, keyRow, src.Entity.Key, src); err != nil {
			return nil, SkipNone, err
		}
		if entityID == "" {
			return nil, SkipNone, fail(ReasonMapping, "record has no entity key %q", src.Entity.Key)
		}
	}
	if deleted {
		ops = deleteOps(src, entityID)
	} else {
		if ops, err = debeziumOps(src, row, stamp.Time, entityID); err != nil {
			return nil, SkipNone, err
		}
	}

	// Rows whose profile id is part of their key can never move, and a
	// delete carries the key: no memory needed.
	if len(rec.Key) == 0 || keyRow.Has(src.ProfileID.Field) {
		if profile == "" {
			return nil, SkipNone, fail(ReasonMapping, "record has no profile id (column %q)", src.ProfileID.Field)
		}
		return oneFact(profile, stamp, origin, ops)
	}
	// Keyed by source name, not position: adding a source to the file must
	// not orphan what the others remember.
	ownerKey := append([]byte(src.Name+"\x00"), rec.Key...)
	prev, known, err := owners.GetOwner(ownerKey)
	if err != nil {
		return nil, SkipNone, fmt.Errorf("reading entity owner: %w", err)
	}
	if profile == "" && !deleted {
		return nil, SkipNone, fail(ReasonMapping, "record has no profile id (column %q)", src.ProfileID.Field)
	}
	if profile == "" && known {
		profile = prev.Profile // a PK-only delete goes to the remembered owner
	}
	var facts []*fact.Fact
	add := func(p string, s fact.Stamp, o []fact.Op) {
		if p != "" && len(o) > 0 {
			facts = append(facts, &fact.Fact{ProfileID: p, Stamp: s, Origin: origin, Ops: o})
		}
	}
	add(profile, stamp, ops)
	next := prev
	switch c := stamp.Compare(prev.Stamp); {
	case !known || c > 0:
		// A deleted previous version has already taken its contribution
		// out of its profile; superseding it again would clear values other
		// sources set there since.
		if known && !prev.Deleted && prev.Profile != "" && profile != "" && prev.Profile != profile {
			add(prev.Profile, stamp, deleteOps(src, entityID))
		}
		next = Owner{Profile: profile, Stamp: stamp, Deleted: deleted}
		if next.Profile == "" && known {
			next.Profile = prev.Profile
		}
	case c < 0:
		if profile != "" && prev.Profile != profile {
			// Either the row moved on (another owner later) or a delete is
			// pending for an owner we only learn now: both supersede here.
			add(profile, prev.Stamp, deleteOps(src, entityID))
			if prev.Profile == "" {
				next.Profile = profile
			}
		}
	}
	if !known || !sameOwner(next, prev) {
		owners.PutOwner(ownerKey, next)
	}
	if len(facts) == 0 {
		if deleted && profile == "" {
			return nil, SkipPendingDelete, nil
		}
		return nil, SkipEmpty, nil
	}
	return facts, SkipNone, nil
}

// decodeError classifies a decoding failure. Every JSON failure is the
// record's; an Avro one is the record's when it says so (the sentinels of
// debezium.AvroDecoder), and otherwise a registry that could not answer.
func decodeError(what string, err error, avroIn bool) error {
	switch {
	case !avroIn, errors.Is(err, debezium.ErrAvroData), errors.Is(err, debezium.ErrWireFormat),
		errors.Is(err, debezium.ErrNotEnvelope):
		return &Error{Reason: ReasonDecode, Err: fmt.Errorf("%s: %w", what, err)}
	case errors.Is(err, debezium.ErrUnknownSchema):
		return &Error{Reason: ReasonSchema, Err: fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func sameOwner(a, b Owner) bool {
	return a.Profile == b.Profile && a.Deleted == b.Deleted && a.Stamp.Compare(b.Stamp) == 0
}

func oneFact(profile string, stamp fact.Stamp, origin fact.Origin, ops []fact.Op) ([]*fact.Fact, Skip, error) {
	if len(ops) == 0 {
		return nil, SkipEmpty, nil
	}
	return []*fact.Fact{{ProfileID: profile, Stamp: stamp, Origin: origin, Ops: ops}}, SkipNone, nil
}

// deleteOps are the ops that remove what a source contributed to a profile.
func deleteOps(src *dictionary.Source, entityID string) []fact.Op {
	var ops []fact.Op
	if src.Entity != nil && entityID != "" {
		ops = append(ops, fact.Op{Kind: fact.OpDelete, Name: src.Entity.Collection.Name, EntityID: entityID})
	}
	if src.OnDelete != "ignore" {
		for _, mp := range src.Attributes {
			if mp.EventTime {
				continue // "last seen" style attributes are not retracted
			}
			ops = append(ops, fact.Op{Kind: fact.OpSet, Name: mp.Target.Name, Value: schemas.Null})
		}
	}
	return ops
}

func debeziumEventTime(src *dictionary.Source, ch *debezium.Change, row debezium.Row) (int64, error) {
	switch src.EventTime {
	case "", "source.ts_us":
		if src.EventTime == "" {
			if t, ok := ch.EventTime(); ok {
				return t, nil
			}
			return 0, fail(ReasonMapping, "change event has no source.ts_us, ts_ns or ts_ms to take the event time from")
		}
		if ch.Source.TsUs == 0 {
			return 0, fail(ReasonMapping, "change event has no source.ts_us")
		}
		return ch.Source.TsUs, nil
	case "source.ts_ms":
		if ch.Source.TsMs == 0 {
			return 0, fail(ReasonMapping, "change event has no source.ts_ms")
		}
		return ch.Source.TsMs * 1000, nil
	case "source.ts_ns":
		if ch.Source.TsNs == 0 {
			return 0, fail(ReasonMapping, "change event has no source.ts_ns")
		}
		return ch.Source.TsNs / 1000, nil
	}
	col, ok := strings.CutPrefix(src.EventTime, "field:")
	if !ok {
		return 0, fail(ReasonMapping, "unsupported event_time %q", src.EventTime)
	}
	v, present, err := row.Value(col, hint(src, col))
	if err != nil || !present || v.IsNull() {
		return 0, fail(ReasonMapping, "event time column %q is missing or unreadable: %v", col, err)
	}
	ts, err := toMicros(v)
	if err != nil {
		return 0, fail(ReasonMapping, "event time column %q: %v", col, err)
	}
	return ts, nil
}

func toMicros(v schemas.Value) (int64, error) {
	switch v.Kind {
	case schemas.KindTimestamp:
		return v.Int, nil
	case schemas.KindDate:
		return v.Int * 86400 * 1e6, nil
	case schemas.KindString:
		t, err := time.Parse(time.RFC3339Nano, v.Str)
		if err != nil {
			return 0, fmt.Errorf("%q is not an RFC 3339 time", v.Str)
		}
		return t.UnixMicro(), nil
	}
	return 0, fmt.Errorf("%s is not a time", v)
}

func hint(src *dictionary.Source, col string) debezium.Hint {
	h := src.Types[col]
	return debezium.Hint{Semantic: h.Semantic, Scale: h.Scale}
}

// columnText reads a column as text from the row, else from the key.
func columnText(row, key debezium.Row, col string, src *dictionary.Source) (string, error) {
	for _, r := range []debezium.Row{row, key} {
		if !r.Has(col) {
			continue
		}
		v, _, err := r.Value(col, hint(src, col))
		if err != nil {
			return "", &Error{Reason: ReasonDecode, Err: fmt.Errorf("reading column %q: %w", col, err)}
		}
		if v.IsNull() {
			continue
		}
		return v.Text(), nil
	}
	return "", nil
}

func debeziumID(spec *dictionary.IDSpec, row, key debezium.Row, src *dictionary.Source) (string, error) {
	for s := spec; s != nil; s = s.Fallback {
		t, err := columnText(row, key, s.Field, src)
		if err != nil {
			return "", err
		}
		if t != "" {
			return s.Prefix + t, nil
		}
	}
	return "", nil
}

func debeziumOps(src *dictionary.Source, row debezium.Row, eventTime int64, entityID string) ([]fact.Op, error) {
	lookup := func(path string) (schemas.Value, bool, error) {
		if row.Unavailable(path) {
			return schemas.Null, false, nil
		}
		v, present, err := row.Value(path, hint(src, path))
		if err != nil {
			return schemas.Null, false, &Error{Reason: ReasonDecode, Err: fmt.Errorf("reading column %q: %w", path, err)}
		}
		return v, present, nil
	}
	return buildOps(src, lookup, eventTime, entityID)
}

// buildOps maps attributes, the entity and counters of one non-delete record.
// lookup returns (value, present); an unavailable value reads as absent.
func buildOps(src *dictionary.Source, lookup func(string) (schemas.Value, bool, error), eventTime int64, entityID string) ([]fact.Op, error) {
	var ops []fact.Op
	matchAll := func(conds []dictionary.Condition) (bool, error) {
		for _, c := range conds {
			v, present, err := lookup(c.Path)
			if err != nil {
				return false, err
			}
			if !present || v.IsNull() || !slices.Contains(c.Values, v.Text()) {
				return false, nil
			}
		}
		return true, nil
	}
	value := func(mp *dictionary.Mapping) (schemas.Value, bool, error) {
		if ok, err := matchAll(mp.When); err != nil || !ok {
			return schemas.Null, false, err
		}
		if mp.EventTime {
			return schemas.Timestamp(eventTime), true, nil
		}
		for _, p := range mp.From {
			v, present, err := lookup(p)
			if err != nil {
				return schemas.Null, false, err
			}
			if present {
				return v, true, nil
			}
		}
		if mp.Required {
			return schemas.Null, false, fail(ReasonValidate, "%s: required field %s is missing", mp.Target.Name, strings.Join(mp.From, " or "))
		}
		return schemas.Null, false, nil
	}
	// mapAll maps a list of mappings to (name, value) pairs; an absent or
	// non-matching input is left out.
	mapAll := func(mps []*dictionary.Mapping) ([]fact.Field, error) {
		var out []fact.Field
		for _, mp := range mps {
			v, ok, err := value(mp)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			cv, err := mp.Target.Coerce(v)
			if err != nil {
				return nil, &Error{Reason: ReasonValidate, Err: err}
			}
			if mp.Required && cv.IsNull() {
				return nil, fail(ReasonValidate, "%s: required value is null", mp.Target.Name)
			}
			out = append(out, fact.Field{Name: mp.Target.Name, Value: cv})
		}
		return out, nil
	}
	attrs, err := mapAll(src.Attributes)
	if err != nil {
		return nil, err
	}
	for _, a := range attrs {
		ops = append(ops, fact.Op{Kind: fact.OpSet, Name: a.Name, Value: a.Value})
	}
	if src.Entity != nil {
		fields, err := mapAll(src.Entity.Fields)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(fields, func(a, b fact.Field) int { return strings.Compare(a.Name, b.Name) })
		ops = append(ops, fact.Op{Kind: fact.OpUpsert, Name: src.Entity.Collection.Name, EntityID: entityID, Fields: fields})
	}
	for _, c := range src.Counters {
		ok, err := matchAll(c.When)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		v, present, err := lookup(c.Distinct)
		if err != nil {
			return nil, err
		}
		if !present || v.IsNull() || v.Text() == "" {
			return nil, fail(ReasonValidate, "%s: counted event has no %s to de-duplicate by", c.Target.Name, c.Distinct)
		}
		ops = append(ops, fact.Op{Kind: fact.OpCount, Name: c.Target.Name, DedupID: v.Text()})
	}
	return ops, nil
}

// ---- Segment ----

func (m *Mapper) mapSegment(src *dictionary.Source, rec *Record, origin fact.Origin) (*fact.Fact, Skip, error) {
	ev, err := segment.Decode(rec.Value)
	if err != nil {
		return nil, SkipNone, &Error{Reason: ReasonDecode, Err: fmt.Errorf("decoding segment event: %w", err)}
	}
	lookup := func(path string) (schemas.Value, bool, error) {
		raw, ok := ev.Lookup(path)
		if !ok {
			return schemas.Null, false, nil
		}
		return jsonValue(raw), true, nil
	}
	var micros int64
	if et, ok := strings.CutPrefix(src.EventTime, "field:"); ok {
		v, present, _ := lookup(et)
		if !present {
			return nil, SkipNone, fail(ReasonMapping, "event has no %s to take the event time from", et)
		}
		if micros, err = toMicros(v); err != nil {
			return nil, SkipNone, fail(ReasonMapping, "event time %s: %v", et, err)
		}
	} else {
		t, ok := ev.EventTime()
		if !ok {
			return nil, SkipNone, fail(ReasonMapping, "event has no timestamp, originalTimestamp or receivedAt")
		}
		micros = t.UnixMicro()
	}
	profile := ""
	for s := &src.ProfileID; s != nil && profile == ""; s = s.Fallback {
		if v, ok, _ := lookup(s.Field); ok && !v.IsNull() && v.Text() != "" {
			profile = s.Prefix + v.Text()
		}
	}
	if profile == "" {
		return nil, SkipNone, fail(ReasonMapping, "event has no profile id (%s)", idFields(&src.ProfileID))
	}
	// The message id orders events with equal timestamps, and a duplicate
	// delivery (same message id) ties exactly with its original.
	stamp := fact.Stamp{Time: micros, Priority: int32(src.Priority), Position: []byte(ev.MessageID)}
	ops, err := buildOps(src, lookup, micros, "")
	if err != nil {
		return nil, SkipNone, err
	}
	if len(ops) == 0 {
		return nil, SkipEmpty, nil
	}
	return &fact.Fact{ProfileID: profile, Stamp: stamp, Origin: origin, Ops: ops}, SkipNone, nil
}

func idFields(s *dictionary.IDSpec) string {
	var names []string
	for ; s != nil; s = s.Fallback {
		names = append(names, s.Field)
	}
	return "neither " + strings.Join(names, " nor ")
}

// jsonValue types a decoded JSON value the way plain JSON reads.
func jsonValue(raw any) schemas.Value {
	switch x := raw.(type) {
	case nil:
		return schemas.Null
	case string:
		return schemas.String(x)
	case bool:
		return schemas.Bool(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return schemas.Int(i)
		}
		if f, err := x.Float64(); err == nil {
			return schemas.Float(f)
		}
		return schemas.String(x.String())
	case float64:
		return schemas.Float(x)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return schemas.String(fmt.Sprint(raw))
	}
	return schemas.String(string(b))
}

// AsError returns the record-level error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
