package debezium

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hamba/avro/v2"
)

// This file decodes change events written by Confluent's AvroConverter
// (formats.md §1.10): the Confluent wire format (magic byte 0, a 4-byte
// big-endian schema id, the Avro binary datum) with the writer schema looked
// up by id. The result is the same *Change the JSON decoder builds for the
// same change with schemas.enable=true: every Field carries a JSON-like Raw
// value (json.Number, string, bool, nil, []any, map[string]any) and the
// Connect type, schema name and parameters that AvroData wrote into the Avro
// schema (connect.name, connect.type, connect.parameters), so that
// Row.Value, the mapper and the merge see no difference.
//
// Fields are read by name from the writer schema: a column added, dropped
// or given a default between two records is just another writer schema,
// and no reader schema is needed.

// Errors of the Avro decoder. Each is returned wrapped, with the schema id
// and the position where it helps; check with errors.Is. Callers dead-letter
// records failing with any of them (and ErrNotEnvelope); any other error of
// AvroDecoder is a failure to reach the schema source, which says nothing
// about the record and is worth retrying.
var (
	// ErrWireFormat: the bytes are not in the Confluent wire format
	// (shorter than 5 bytes, or a first byte other than the magic byte 0).
	ErrWireFormat = errors.New("not in the Confluent Avro wire format")
	// ErrUnknownSchema: the schema source has no usable Avro schema under
	// the record's schema id (the id is unknown, or names a schema that is
	// not Avro or does not parse). SchemaSource implementations wrap it.
	ErrUnknownSchema = errors.New("unknown schema id")
	// ErrAvroData: the payload does not decode with its writer schema
	// (truncated, trailing bytes, a union branch or enum symbol out of
	// range, a negative length).
	ErrAvroData = errors.New("avro payload does not match its writer schema")
)

// SchemaSource returns the Avro schema registered under a Confluent schema
// id. Implementations cache (ids are immutable), are safe for concurrent
// use, and return an error wrapping ErrUnknownSchema when the id has no
// usable Avro schema; any other error is taken as transient.
// registry.SchemaCache is the implementation over a Schema Registry.
type SchemaSource interface {
	Schema(ctx context.Context, id int) (avro.Schema, error)
}

// AvroDecoder decodes Avro-encoded Debezium keys and values. It is safe for
// concurrent use; the compiled form of each writer schema is cached by id.
type AvroDecoder struct {
	src   SchemaSource
	plans planCache
}

// NewAvroDecoder returns a decoder that resolves schema ids with src.
func NewAvroDecoder(src SchemaSource) *AvroDecoder { return &AvroDecoder{src: src} }

// Decode decodes one record value. A nil or empty value (a Kafka tombstone;
// AvroConverter writes a null value as no bytes) decodes as a tombstone.
// Errors wrap ErrWireFormat, ErrUnknownSchema, ErrAvroData or
// ErrNotEnvelope, except a failure of the schema source to answer.
func (d *AvroDecoder) Decode(ctx context.Context, value []byte) (*Change, error) {
	if len(value) == 0 {
		return &Change{Tombstone: true}, nil
	}
	id, payload, err := splitWire(value)
	if err != nil {
		return nil, err
	}
	p, err := d.plan(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.value.notChange != "" {
		return nil, fmt.Errorf("record with schema %q (id %d): %w", p.value.notChange, id, ErrNotEnvelope)
	}
	run := newAvroRun(payload)
	defer run.release()
	var c *Change
	if p.value.envelope {
		c = run.envelope(&p.value)
	} else {
		c = run.flat(&p.value)
	}
	if err := run.finish(); err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	return c, nil
}

// DecodeKey decodes a record key: a record whose fields are the key
// columns. A nil key yields an empty Row and no error.
func (d *AvroDecoder) DecodeKey(ctx context.Context, key []byte) (Row, error) {
	if len(key) == 0 {
		return Row{}, nil
	}
	id, payload, err := splitWire(key)
	if err != nil {
		return Row{}, fmt.Errorf("key: %w", err)
	}
	p, err := d.plan(ctx, id)
	if err != nil {
		return Row{}, fmt.Errorf("key: %w", err)
	}
	if p.key == nil {
		return Row{}, fmt.Errorf("key schema (id %d) is %s, not a record: %w", id, p.rootType, ErrNotEnvelope)
	}
	run := newAvroRun(payload)
	defer run.release()
	row := run.row(p.key)
	if err := run.finish(); err != nil {
		return Row{}, fmt.Errorf("key schema id %d: %w", id, err)
	}
	return row, nil
}

// splitWire splits the Confluent wire format into the schema id and the
// Avro datum.
func splitWire(b []byte) (int, []byte, error) {
	if len(b) < 5 {
		return 0, nil, fmt.Errorf("%d bytes are too short for the 5-byte header: %w", len(b), ErrWireFormat)
	}
	if b[0] != 0 {
		// The newer header-based id (__value_schema_id) leaves the payload
		// unprefixed; the record headers are not seen here.
		return 0, nil, fmt.Errorf("first byte is 0x%02x, not the magic byte 0: %w", b[0], ErrWireFormat)
	}
	return int(binary.BigEndian.Uint32(b[1:5])), b[5:], nil
}

// plan returns the compiled writer schema of id.
func (d *AvroDecoder) plan(ctx context.Context, id int) (*avroPlan, error) {
	if p := d.plans.get(id); p != nil {
		return p, nil
	}
	s, err := d.src.Schema(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("looking up schema id %d: %w", id, err)
	}
	p, err := compilePlan(s)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w: %w", id, ErrUnknownSchema, err)
	}
	d.plans.put(id, p)
	return p, nil
}

// --- compiled schemas ---

// avroNode is one writer schema node, compiled for decoding.
type avroNode struct {
	typ      avro.Type
	fields   []avroField // record
	branches []*avroNode // union
	symbols  []string    // enum
	items    *avroNode   // array items, map values
	size     int         // fixed
	name     string      // record: connect.name, else the Avro full name
	// col is what Field.Type, Semantic and Params report for a column of
	// this type: the Connect schema AvroData recorded.
	col colSchema
}

type avroField struct {
	name string
	node *avroNode
}

// nonNull returns the node itself, or the one non-null branch of a union
// with null (Connect's optional).
func (n *avroNode) nonNull() *avroNode {
	if n.typ != avro.Union {
		return n
	}
	var only *avroNode
	for _, b := range n.branches {
		if b.typ == avro.Null {
			continue
		}
		if only != nil {
			return n
		}
		only = b
	}
	if only == nil {
		return n
	}
	return only
}

// Roles of a top-level field.
const (
	roleSkip = iota
	roleBefore
	roleAfter
	roleSource
	roleOp
	roleTsMs
	roleColumn // a column of a flat row
	roleMeta   // a "__" metadata column of a flat row
)

// avroPlan is a compiled writer schema: how to read a value, and a key.
type avroPlan struct {
	rootType avro.Type
	value    valuePlan
	key      *avroNode // the root record; nil when the root is not a record
}

type valuePlan struct {
	root      *avroNode
	envelope  bool
	notChange string
	roles     []int    // per root field
	meta      []string // per root field: the metadata name (without "__") of a roleMeta field
	source    []int    // per field of the source record: a srcTarget
	columns   int      // flat rows: the number of columns
}

// Source block targets.
const (
	srcUnknown = iota
	srcVersion
	srcConnector
	srcName
	srcDB
	srcSchema
	srcTable
	srcTsMs
	srcTsUs
	srcTsNs
	srcTsSec
	srcSnapshot
	srcLSN
	srcTxID
	srcFile
	srcPos
	srcRow
	srcServerID
	srcGTID
)

var srcTargets = map[string]int{
	"version": srcVersion, "connector": srcConnector, "name": srcName, "db": srcDB,
	"schema": srcSchema, "table": srcTable, "ts_ms": srcTsMs, "ts_us": srcTsUs, "ts_ns": srcTsNs,
	"ts_sec": srcTsSec, "snapshot": srcSnapshot, "lsn": srcLSN, "txId": srcTxID, "file": srcFile,
	"pos": srcPos, "row": srcRow, "server_id": srcServerID, "gtid": srcGTID,
}

func compilePlan(s avro.Schema) (*avroPlan, error) {
	c := compiler{memo: map[string]*avroNode{}}
	root, err := c.node(s)
	if err != nil {
		return nil, err
	}
	p := &avroPlan{rootType: root.typ, value: valuePlan{root: root}}
	if root.typ != avro.Record {
		// A record value is required; a key may be anything, but
		// Debezium keys are records too.
		p.value.notChange = fmt.Sprintf("%s (not a record)", root.typ)
		return p, nil
	}
	p.key = root
	if isNonChangeSchema(root.name) {
		p.value.notChange = root.name
		return p, nil
	}
	v := &p.value
	v.envelope = isAvroEnvelope(root)
	v.roles = make([]int, len(root.fields))
	v.meta = make([]string, len(root.fields))
	for i, f := range root.fields {
		if v.envelope {
			switch f.name {
			case "before":
				v.roles[i] = roleBefore
			case "after":
				v.roles[i] = roleAfter
			case "source":
				v.roles[i] = roleSource
				src := f.node.nonNull()
				v.source = make([]int, len(src.fields))
				for j, sf := range src.fields {
					v.source[j] = srcTargets[sf.name]
				}
			case "op":
				v.roles[i] = roleOp
			case "ts_ms":
				v.roles[i] = roleTsMs
			}
			continue
		}
		if meta, ok := strings.CutPrefix(f.name, "__"); ok {
			v.roles[i], v.meta[i] = roleMeta, meta
			continue
		}
		v.roles[i] = roleColumn
		v.columns++
	}
	return p, nil
}

// isAvroEnvelope tells an envelope from a flat row as the JSON decoder
// does: an envelope has "op" and a record "source".
func isAvroEnvelope(root *avroNode) bool {
	var op, src bool
	for _, f := range root.fields {
		switch f.name {
		case "op":
			op = true
		case "source":
			src = f.node.nonNull().typ == avro.Record
		}
	}
	return op && src
}

type compiler struct {
	memo map[string]*avroNode // named types by full name
}

func (c *compiler) node(s avro.Schema) (*avroNode, error) {
	if ref, ok := s.(*avro.RefSchema); ok {
		s = ref.Schema()
	}
	if ns, ok := s.(avro.NamedSchema); ok {
		if n, ok := c.memo[ns.FullName()]; ok {
			return n, nil
		}
	}
	n := &avroNode{typ: s.Type()}
	switch x := s.(type) {
	case *avro.RecordSchema:
		// Memoized before the fields, so that a recursive type refers to
		// itself.
		c.memo[x.FullName()] = n
		n.name = x.FullName()
		if cn, ok := x.Prop("connect.name").(string); ok && cn != "" {
			n.name = cn
		}
		n.col = colSchema{typ: "struct", semantic: n.name, params: connectParams(x)}
		n.fields = make([]avroField, len(x.Fields()))
		for i, f := range x.Fields() {
			fn, err := c.node(f.Type())
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name(), err)
			}
			// Column names are interned like the JSON decoder's, so that
			// rows of both formats share them.
			n.fields[i] = avroField{name: names.get([]byte(f.Name())), node: fn}
		}
	case *avro.EnumSchema:
		c.memo[x.FullName()] = n
		n.symbols = x.Symbols()
		n.col = colSchema{typ: "string", params: connectParams(x)}
		n.col.semantic, _ = x.Prop("connect.name").(string)
	case *avro.FixedSchema:
		c.memo[x.FullName()] = n
		n.size = x.Size()
		n.col = primitiveCol("bytes", x, x.Logical())
	case *avro.UnionSchema:
		n.branches = make([]*avroNode, len(x.Types()))
		for i, b := range x.Types() {
			bn, err := c.node(b)
			if err != nil {
				return nil, err
			}
			n.branches[i] = bn
		}
		// Connect's optional: the column is described by its one type.
		if nn := n.nonNull(); nn != n {
			n.col = nn.col
		}
	case *avro.ArraySchema:
		items, err := c.node(x.Items())
		if err != nil {
			return nil, err
		}
		n.items = items
		n.col = colSchema{typ: "array", params: connectParams(x)}
		n.col.semantic, _ = x.Prop("connect.name").(string)
	case *avro.MapSchema:
		values, err := c.node(x.Values())
		if err != nil {
			return nil, err
		}
		n.items = values
		n.col = colSchema{typ: "map", params: connectParams(x)}
		n.col.semantic, _ = x.Prop("connect.name").(string)
	case *avro.PrimitiveSchema:
		n.col = primitiveCol(connectLiteral(x.Type()), x, x.Logical())
	case *avro.NullSchema:
	default:
		return nil, fmt.Errorf("unsupported Avro type %s", s.Type())
	}
	return n, nil
}

// connectLiteral is the Connect literal type JsonConverter writes for a
// value AvroData reads from an Avro primitive.
func connectLiteral(t avro.Type) string {
	switch t {
	case avro.Int:
		return "int32"
	case avro.Long:
		return "int64"
	case avro.Float:
		return "float"
	case avro.Double:
		return "double"
	case avro.Boolean:
		return "boolean"
	case avro.String:
		return "string"
	case avro.Bytes:
		return "bytes"
	}
	return ""
}

// Avro logical types as Connect schema names, for schemas written without
// connect.name (by another serializer). Debezium's own semantic types carry
// connect.name and no logical type (formats.md §1.10).
var logicalSemantics = map[avro.LogicalType]string{
	avro.Date:                 semConnectDate,
	avro.TimeMillis:           semConnectTime,
	avro.TimeMicros:           semMicroTime,
	avro.TimestampMillis:      semConnectTs,
	avro.TimestampMicros:      semMicroTimestamp,
	avro.LocalTimestampMillis: semTimestamp, // Debezium's zone-less timestamps
	avro.LocalTimestampMicros: semMicroTimestamp,
	avro.Decimal:              semDecimal,
	avro.UUID:                 "io.debezium.data.Uuid",
}

func primitiveCol(literal string, s avro.PropertySchema, logical avro.LogicalSchema) colSchema {
	c := colSchema{typ: literal, params: connectParams(s)}
	// AvroData marks Connect's int8 and int16, which Avro has not.
	if t, ok := s.Prop("connect.type").(string); ok && t != "" {
		c.typ = t
	}
	c.semantic, _ = s.Prop("connect.name").(string)
	if logical == nil {
		return c
	}
	if c.semantic == "" {
		c.semantic = logicalSemantics[logical.Type()]
	}
	if dec, ok := logical.(*avro.DecimalLogicalSchema); ok && c.semantic == semDecimal {
		if _, has := c.params["scale"]; !has {
			params := make(map[string]string, len(c.params)+2)
			for k, v := range c.params {
				params[k] = v
			}
			params["scale"] = strconv.Itoa(dec.Scale())
			params["connect.decimal.precision"] = strconv.Itoa(dec.Precision())
			c.params = params
		}
	}
	return c
}

// connectParams reads connect.parameters, a map of strings.
func connectParams(s avro.PropertySchema) map[string]string {
	m, ok := s.Prop("connect.parameters").(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if sv, ok := v.(string); ok {
			out[k] = sv
		} else {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// --- decoding ---

// maxAvroDepth bounds the nesting of a decoded value: only a recursive
// writer schema can nest deeper than its own depth, and a hostile payload
// must not exhaust the stack through it.
const maxAvroDepth = 64

// avroRun decodes one datum.
type avroRun struct {
	r   *avro.Reader
	n   int // payload length
	err error
	// items counts array and map entries against the payload length: an
	// entry of a zero-byte type (null, an empty record) costs nothing on
	// the wire, so a block count alone could ask for any number of them.
	items int
}

var readers = sync.Pool{New: func() any { return avro.NewReader(nil, 0) }}

func newAvroRun(payload []byte) *avroRun {
	r, _ := readers.Get().(*avro.Reader)
	r.Error = nil
	r.Reset(payload)
	return &avroRun{r: r, n: len(payload)}
}

func (a *avroRun) release() {
	a.r.Reset(nil)
	a.r.Error = nil
	readers.Put(a.r)
}

func (a *avroRun) fail(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf(format, args...)
	}
}

// ok reports whether decoding may go on.
func (a *avroRun) ok() bool { return a.err == nil && a.r.Error == nil }

// finish returns the first error, or ErrAvroData for bytes left over.
func (a *avroRun) finish() error {
	switch {
	case a.err != nil:
		if errors.Is(a.err, ErrNotEnvelope) {
			return a.err
		}
		return fmt.Errorf("%w: %w", ErrAvroData, a.err)
	case a.r.Error != nil:
		return fmt.Errorf("%w: %w", ErrAvroData, a.r.Error)
	}
	// Peek at the end of the bytes sets io.EOF; without it, bytes are left.
	if a.r.Peek(); a.r.Error == nil {
		return fmt.Errorf("%w: bytes left after the datum", ErrAvroData)
	}
	return nil
}

func (a *avroRun) envelope(p *valuePlan) *Change {
	c := &Change{}
	for i, f := range p.root.fields {
		if !a.ok() {
			return nil
		}
		switch p.roles[i] {
		case roleBefore:
			c.Before = a.row(f.node)
		case roleAfter:
			c.After = a.row(f.node)
		case roleSource:
			a.source(f.node, p.source, &c.Source)
		case roleOp:
			s, ok := a.value(f.node, 0).(string)
			if !ok {
				a.err = fmt.Errorf("op is not a string: %w", ErrNotEnvelope)
				return nil
			}
			op, err := parseOp(s)
			if err != nil {
				a.err = err
				return nil
			}
			c.Op = op
		case roleTsMs:
			if v, ok := a.long(f.node, "ts_ms"); ok {
				c.TsMs = v
			}
		default:
			a.skip(f.node, 0)
		}
	}
	return c
}

// flat mirrors decoder.flat for the row written by the unwrap SMT.
func (a *avroRun) flat(p *valuePlan) *Change {
	c := &Change{Unwrapped: true}
	fields := make(map[string]Field, p.columns)
	var (
		op                  Op
		deleted, hasDeleted bool
	)
	for i, f := range p.root.fields {
		if !a.ok() {
			return nil
		}
		raw := a.value(f.node, 0)
		if p.roles[i] == roleColumn {
			fields[f.name] = Field{Raw: raw, Type: f.node.col.typ, Semantic: f.node.col.semantic, Params: f.node.col.params}
			continue
		}
		if raw == nil {
			continue // an optional metadata field that is null says nothing
		}
		var err error
		switch meta := p.meta[i]; meta {
		case "deleted":
			hasDeleted = true
			deleted, err = rawDeleted(raw)
		case "op":
			s, ok := raw.(string)
			if !ok {
				err = errors.New("want a string")
				break
			}
			op, err = parseOp(s)
		case "ts_ms":
			c.TsMs, _, err = rawInt(raw)
		default:
			if src, ok := strings.CutPrefix(meta, "source_"); ok {
				meta = src
			}
			err = setSourceRaw(&c.Source, srcTargets[meta], raw)
		}
		if err != nil {
			a.fail("decoding metadata column %q: %w", f.name, err)
			return nil
		}
	}
	if err := c.setUnwrapped(op, hasDeleted, deleted, fields); err != nil {
		a.fail("%w", err)
		return nil
	}
	return c
}

func rawDeleted(raw any) (bool, error) {
	switch x := raw.(type) {
	case bool:
		return x, nil
	case string:
		return deletedText(x)
	}
	return false, errors.New("want a string or boolean")
}

// row reads a before/after image or a key: a record, or null for no row.
func (a *avroRun) row(n *avroNode) Row {
	if n.typ == avro.Union {
		n = a.branch(n)
		if n == nil {
			return Row{}
		}
	}
	switch n.typ {
	case avro.Null:
		return Row{}
	case avro.Record:
	default:
		a.fail("row is %s, not a record: %w", n.typ, ErrNotEnvelope)
		return Row{}
	}
	fields := make(map[string]Field, len(n.fields))
	for _, f := range n.fields {
		raw := a.value(f.node, 1)
		if !a.ok() {
			return Row{}
		}
		c := &f.node.col
		fields[f.name] = Field{Raw: raw, Type: c.typ, Semantic: c.semantic, Params: c.params}
	}
	return Row{Fields: fields}
}

// branch reads a union's branch index and returns the branch.
func (a *avroRun) branch(n *avroNode) *avroNode {
	i := a.r.ReadLong()
	if !a.ok() {
		return nil
	}
	if i < 0 || i >= int64(len(n.branches)) {
		a.fail("union branch %d of %d", i, len(n.branches))
		return nil
	}
	return n.branches[i]
}

// long reads an integer field of the envelope, null as absent.
func (a *avroRun) long(n *avroNode, what string) (int64, bool) {
	if n.typ == avro.Union {
		if n = a.branch(n); n == nil {
			return 0, false
		}
	}
	switch n.typ {
	case avro.Long:
		return a.r.ReadLong(), true
	case avro.Int:
		return int64(a.r.ReadInt()), true
	case avro.Null:
		return 0, false
	}
	v, _, err := rawInt(a.value(n, 1))
	if err != nil {
		a.fail("decoding %s: %w", what, err)
	}
	return v, err == nil
}

// source reads the source block. Integer and string fields of the common
// types are read straight into Source; anything else goes through the
// JSON-like value, as in the JSON decoder.
func (a *avroRun) source(n *avroNode, targets []int, src *Source) {
	if n.typ == avro.Union {
		if n = a.branch(n); n == nil || n.typ == avro.Null {
			return
		}
	}
	if n.typ != avro.Record {
		a.fail("source is %s, not a record: %w", n.typ, ErrNotEnvelope)
		return
	}
	var tsSec int64
	for i, f := range n.fields {
		if !a.ok() {
			return
		}
		t := targets[i]
		if t == srcUnknown {
			a.skip(f.node, 1)
			continue
		}
		fn := f.node
		if fn.typ == avro.Union {
			if fn = a.branch(fn); fn == nil || fn.typ == avro.Null {
				continue
			}
		}
		var raw any
		switch fn.typ {
		case avro.Long, avro.Int:
			var v int64
			if fn.typ == avro.Long {
				v = a.r.ReadLong()
			} else {
				v = int64(a.r.ReadInt())
			}
			if t == srcTsSec {
				tsSec = v
				continue
			}
			if setSourceInt(src, t, v) {
				continue
			}
			raw = jsonInt(v)
		case avro.String:
			s := a.r.ReadString()
			if setSourceString(src, t, s) {
				continue
			}
			raw = s
		default:
			raw = a.value(fn, 1)
		}
		if t == srcTsSec {
			v, _, err := rawInt(raw)
			if err != nil {
				a.fail("decoding source block: ts_sec: %w", err)
				return
			}
			tsSec = v
			continue
		}
		if err := setSourceRaw(src, t, raw); err != nil {
			a.fail("decoding source block: %s: %w", f.name, err)
			return
		}
	}
	if src.TsMs == 0 && tsSec != 0 && tsSec < math.MaxInt64/1000 && tsSec > math.MinInt64/1000 {
		src.TsMs = tsSec * 1000
	}
}

// setSourceInt sets an integer target; false when t is not one.
func setSourceInt(src *Source, t int, v int64) bool {
	switch t {
	case srcTsMs:
		src.TsMs = v
	case srcTsUs:
		src.TsUs = v
	case srcTsNs:
		src.TsNs = v
	case srcLSN:
		src.LSN, src.HasLSN = v, true
	case srcTxID:
		src.TxID = v
	case srcPos:
		src.Pos = v
	case srcServerID:
		src.ServerID = v
	case srcRow:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return false // setSourceRaw reports it
		}
		src.Row = int32(v)
	default:
		return false
	}
	return true
}

// setSourceString sets a string target; false when t is not one.
func setSourceString(src *Source, t int, s string) bool {
	switch t {
	case srcVersion:
		src.Version = s
	case srcConnector:
		src.Connector = s
	case srcName:
		src.Name = s
	case srcDB:
		src.DB = s
	case srcSchema:
		src.Schema = s
	case srcTable:
		src.Table = s
	case srcFile:
		src.File = s
	case srcGTID:
		src.GTID = s
	case srcSnapshot:
		src.Snapshot = strings.ToLower(s)
	default:
		return false
	}
	return true
}

// setSourceRaw sets a target from a JSON-like value, with the tolerance of
// the JSON decoder's sourceField (digits in a string for an integer, a
// boolean snapshot).
func setSourceRaw(src *Source, t int, raw any) error {
	if raw == nil {
		return nil
	}
	switch t {
	case srcUnknown:
		return nil
	case srcSnapshot:
		switch x := raw.(type) {
		case bool:
			src.Snapshot = strconv.FormatBool(x)
			return nil
		case string:
			src.Snapshot = strings.ToLower(x)
			return nil
		}
		return errors.New("want a string or boolean")
	case srcVersion, srcConnector, srcName, srcDB, srcSchema, srcTable, srcFile, srcGTID:
		s, ok := raw.(string)
		if !ok {
			return errors.New("want a string")
		}
		setSourceString(src, t, s)
		return nil
	}
	v, _, err := rawInt(raw)
	if err != nil {
		return err
	}
	if t == srcRow && (v < math.MinInt32 || v > math.MaxInt32) {
		return fmt.Errorf("%d is out of range for int32", v)
	}
	setSourceInt(src, t, v)
	return nil
}

// rawInt reads an integer from a JSON-like value: a number, or a string of
// digits; null is (0, false).
func rawInt(raw any) (int64, bool, error) {
	switch x := raw.(type) {
	case nil:
		return 0, false, nil
	case string:
		if v, ok := parseInt([]byte(x)); ok {
			return v, true, nil
		}
		return 0, false, fmt.Errorf("want an integer, got %q", x)
	}
	v, err := asInt(raw)
	return v, err == nil, err
}

// jsonInt is the Raw of an integer, as the JSON decoder makes it.
func jsonInt(v int64) any { return json.Number(strconv.FormatInt(v, 10)) }

// value decodes one datum of n into the JSON-like form JsonConverter would
// have written for it: integers and floats as json.Number (NaN and the
// infinities as the strings Jackson writes), bytes and fixed as base64
// text, enums as their symbol, records and maps as map[string]any.
func (a *avroRun) value(n *avroNode, depth int) any {
	if !a.ok() {
		return nil
	}
	r := a.r
	switch n.typ {
	case avro.Null:
		return nil
	case avro.Boolean:
		return r.ReadBool()
	case avro.Int:
		return jsonInt(int64(r.ReadInt()))
	case avro.Long:
		return jsonInt(r.ReadLong())
	case avro.Float:
		return jsonFloat(float64(r.ReadFloat()), 32)
	case avro.Double:
		return jsonFloat(r.ReadDouble(), 64)
	case avro.String:
		return r.ReadString()
	case avro.Bytes:
		return base64.StdEncoding.EncodeToString(r.ReadBytes())
	case avro.Fixed:
		b := make([]byte, n.size)
		r.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	case avro.Enum:
		i := r.ReadInt()
		if !a.ok() {
			return nil
		}
		if i < 0 || int(i) >= len(n.symbols) {
			a.fail("enum symbol %d of %d", i, len(n.symbols))
			return nil
		}
		return n.symbols[i]
	case avro.Union:
		b := a.branch(n)
		if b == nil {
			return nil
		}
		return a.value(b, depth)
	}
	if depth >= maxAvroDepth {
		a.fail("value nested deeper than %d levels", maxAvroDepth)
		return nil
	}
	switch n.typ {
	case avro.Record:
		m := make(map[string]any, len(n.fields))
		for _, f := range n.fields {
			m[f.name] = a.value(f.node, depth+1)
		}
		return m
	case avro.Array:
		var out []any
		a.blocks(func() { out = append(out, a.value(n.items, depth+1)) })
		if out == nil && a.ok() {
			out = []any{}
		}
		return out
	case avro.Map:
		out := map[string]any{}
		a.blocks(func() {
			k := r.ReadString()
			out[k] = a.value(n.items, depth+1)
		})
		return out
	}
	a.fail("unsupported Avro type %s", n.typ)
	return nil
}

// blocks reads the blocks of an array or map, calling item for each entry.
func (a *avroRun) blocks(item func()) {
	for a.ok() {
		count, _ := a.r.ReadBlockHeader()
		if !a.ok() || count == 0 {
			return
		}
		if count < 0 || count > int64(a.n-a.items) {
			a.fail("block of %d entries in a %d-byte payload", count, a.n)
			return
		}
		a.items += int(count)
		for range count {
			item()
			if !a.ok() {
				return
			}
		}
	}
}

// skip reads past a datum of n.
func (a *avroRun) skip(n *avroNode, depth int) {
	if !a.ok() {
		return
	}
	r := a.r
	switch n.typ {
	case avro.Null:
	case avro.Boolean:
		r.SkipBool()
	case avro.Int, avro.Enum:
		r.SkipInt()
	case avro.Long:
		r.SkipLong()
	case avro.Float:
		r.SkipFloat()
	case avro.Double:
		r.SkipDouble()
	case avro.String, avro.Bytes:
		if size := r.ReadLong(); size < 0 {
			a.fail("negative length %d", size)
		} else if size > int64(a.n) {
			a.fail("length %d beyond the %d-byte payload", size, a.n)
		} else {
			r.SkipNBytes(int(size))
		}
	case avro.Fixed:
		r.SkipNBytes(n.size)
	case avro.Union:
		if b := a.branch(n); b != nil {
			a.skip(b, depth)
		}
	default:
		// Records, arrays and maps are rare outside rows (the transaction
		// block); decoding them is simpler than a second walker.
		a.value(n, depth)
	}
}

// jsonFloat is the Raw of a float: its shortest text for the width, or the
// strings Jackson writes for NaN and the infinities.
func jsonFloat(f float64, bits int) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, bits))
}

// --- plan cache ---

// maxCachedPlans bounds the compiled schemas kept; when full the cache
// starts over, which only costs recompiling (the schema source caches the
// registry's answers).
const maxCachedPlans = 1024

// planCache maps schema ids to compiled plans; reads are lock-free like
// the JSON schema cache's.
type planCache struct {
	mu sync.Mutex
	m  atomic.Pointer[map[int]*avroPlan]
}

func (c *planCache) get(id int) *avroPlan {
	if m := c.m.Load(); m != nil {
		return (*m)[id]
	}
	return nil
}

func (c *planCache) put(id int, p *avroPlan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	var next map[int]*avroPlan
	if old == nil || len(*old) >= maxCachedPlans {
		next = make(map[int]*avroPlan, 8)
	} else {
		next = make(map[int]*avroPlan, len(*old)+1)
		for k, v := range *old {
			next[k] = v
		}
	}
	next[id] = p
	c.m.Store(&next)
}
