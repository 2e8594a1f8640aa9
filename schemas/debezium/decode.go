package debezium

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/profiled/profiled/schemas/internal/jsonscan"
)

// member is one object member as byte spans of the input: the key's bytes
// between the quotes (slow: they need jsonscan.DecodeString) and the value.
type member struct {
	k0, k1 int
	slow   bool
	v0, v1 int
	// parsed is set when the value, an object under "before" or "after",
	// was already parsed into row while collecting; withCols when the
	// schema's column info was attached then.
	parsed, withCols bool
	row              Row
}

// decoder decodes one record in two phases. The first collects the members
// of the top-level object (and of the payload) as spans, which validates the
// whole input once and tells the shapes apart. Because nearly all bytes of a
// change event are its row images, objects under "before" and "after" are
// parsed into rows right away instead of being validated now and parsed
// later (the guess is harmless: row parsing fails only on malformed JSON,
// which is an error in any shape). The second phase interprets the members
// as an envelope or a flat row.
type decoder struct {
	s jsonscan.Scanner
	// schemaHit is the cached schema found in the first phase, if any.
	schemaHit *schemaInfo
}

// The member lists live in arrays on the caller's stack; the decoder must
// not point into itself, or escape analysis moves it to the heap.
type (
	topMembers  [4]member
	bodyMembers [16]member
)

// Collection modes.
const (
	collectTop  = iota // top level: schema cache, payload body, rows
	collectBody        // an envelope candidate: rows
	collectKey         // validate only
)

func (d *decoder) key(m member) string { return jsonscan.DecodeString(d.s.Data[m.k0:m.k1], m.slow) }

// keyBytes returns the decoded key bytes, without allocating for the
// common unescaped key.
func (d *decoder) keyBytes(m member) []byte {
	if !m.slow {
		return d.s.Data[m.k0:m.k1]
	}
	return []byte(d.key(m))
}

func (d *decoder) keyIs(m member, name string) bool { return string(d.keyBytes(m)) == name }

// first returns the byte a value span starts with.
func (d *decoder) first(m member) byte { return d.s.Data[m.v0] }

// collect reads the members of the object at the scanner position into
// buf. At the top level it also collects the members of an object under
// "payload" into bodyBuf (body, with bodyOK), in case the document is
// JsonConverter's wrapper.
//
// At the top level, a member named "schema" is first looked up in the
// schema cache: bytes equal to a cached schema need no validation, being
// equal to bytes validated before.
func (d *decoder) collect(buf, bodyBuf []member, mode int) (ms, body []member, bodyOK bool, err error) {
	ms = buf[:0]
	err = d.s.Members(func(ks, ke int, slow bool) error {
		m := member{k0: ks, k1: ke, slow: slow}
		d.s.WS()
		m.v0 = d.s.Pos
		key := d.s.Data[ks:ke] // escaped keys take the generic path
		object := m.v0 < len(d.s.Data) && d.s.Data[m.v0] == '{'
		var err error
		switch {
		case mode != collectKey && !slow && object && (string(key) == "before" || string(key) == "after"):
			var cols map[string]colSchema
			if mode == collectBody && d.schemaHit != nil {
				cols, m.withCols = d.schemaHit.rowCols(string(key) == "before"), true
			}
			m.row, err = d.row(cols)
			m.parsed = true
		case mode == collectTop && !slow && object && string(key) == "payload" && !bodyOK:
			body, _, _, err = d.collect(bodyBuf, nil, collectBody)
			bodyOK = true
		case mode == collectTop && !slow && string(key) == "schema":
			d.s.SkipTrusted()
			if info := cache.get(d.s.Data[m.v0:d.s.Pos]); info != nil {
				d.schemaHit = info
				break
			}
			d.s.Pos = m.v0
			err = d.s.Skip()
		default:
			err = d.s.Skip()
		}
		if err != nil {
			return err
		}
		m.v1 = d.s.Pos
		ms = append(ms, m)
		return nil
	})
	return ms, body, bodyOK, err
}

func decode(value []byte) (*Change, error) {
	d := decoder{s: jsonscan.Scanner{Data: value}}
	switch d.s.Peek() {
	case 0:
		if d.s.Pos == len(value) { // nil, empty or only whitespace
			return &Change{Tombstone: true}, nil
		}
	case 'n':
		if err := d.s.Literal("null"); err != nil {
			return nil, err
		}
		if err := d.s.End(); err != nil {
			return nil, err
		}
		return &Change{Tombstone: true}, nil
	case '{':
		return d.document()
	}
	// Not an object: report a syntax error if there is one, else the shape.
	if err := d.s.Skip(); err != nil {
		return nil, err
	}
	if err := d.s.End(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("top-level JSON value is not an object: %w", ErrNotEnvelope)
}

func (d *decoder) document() (*Change, error) {
	var topBuf topMembers
	var bodyBuf bodyMembers
	top, payload, payloadOK, err := d.collect(topBuf[:], bodyBuf[:], collectTop)
	if err != nil {
		return nil, err
	}
	if err := d.s.End(); err != nil {
		return nil, err
	}
	body := top
	var info *schemaInfo
	if sch, pay, ok := d.wrapper(top); ok {
		// JsonConverter with schemas.enable=true.
		switch d.first(pay) {
		case 'n':
			return &Change{Tombstone: true}, nil
		case '{':
		default:
			return nil, fmt.Errorf("payload is not an object: %w", ErrNotEnvelope)
		}
		if info, err = d.schema(sch); err != nil {
			return nil, fmt.Errorf("decoding schema: %w", err)
		}
		if info != nil && info.notChange != "" {
			return nil, fmt.Errorf("record with schema %q: %w", info.notChange, ErrNotEnvelope)
		}
		body = payload
		if !payloadOK { // the key "payload" was written with escapes
			d.s.Pos = pay.v0
			if body, _, _, err = d.collect(bodyBuf[:], nil, collectBody); err != nil {
				return nil, err
			}
		}
	}
	if d.isEnvelope(body) {
		return d.envelope(body, info)
	}
	return d.flat(body, info)
}

// wrapper reports whether the members are JsonConverter's {"schema",
// "payload"} pair: exactly those two keys (toConnectData demands it), with a
// schema that is an object or null.
func (d *decoder) wrapper(ms []member) (sch, pay member, ok bool) {
	if len(ms) != 2 {
		return member{}, member{}, false
	}
	var hasSchema, hasPayload bool
	for _, m := range ms {
		switch {
		case d.keyIs(m, "schema"):
			sch, hasSchema = m, true
		case d.keyIs(m, "payload"):
			pay, hasPayload = m, true
		}
	}
	if !hasSchema || !hasPayload || (d.first(sch) != '{' && d.first(sch) != 'n') {
		return member{}, member{}, false
	}
	return sch, pay, true
}

// schema returns the parsed schema of a wrapper, nil for a null schema.
func (d *decoder) schema(m member) (*schemaInfo, error) {
	if d.first(m) == 'n' {
		return nil, nil
	}
	if d.schemaHit != nil {
		return d.schemaHit, nil
	}
	b := d.s.Data[m.v0:m.v1]
	info, err := parseSchema(b)
	if err != nil {
		return nil, err
	}
	cache.put(b, info)
	return info, nil
}

// isEnvelope tells an envelope from a flat row: an envelope has "op" and a
// "source" object. A row from the unwrap SMT has neither (its metadata
// columns are "__"-prefixed); a table with plain columns named op and source
// would need a struct-typed source column to be mistaken for an envelope.
func (d *decoder) isEnvelope(ms []member) bool {
	var op, src bool
	for _, m := range ms {
		switch {
		case d.keyIs(m, "op"):
			op = true
		case d.keyIs(m, "source"):
			src = d.first(m) == '{'
		}
	}
	return op && src
}

func (d *decoder) envelope(ms []member, info *schemaInfo) (*Change, error) {
	c := &Change{}
	var beforeCols, afterCols map[string]colSchema
	if info != nil {
		beforeCols, afterCols = info.before, info.after
	}
	var err error
	for _, m := range ms {
		d.s.Pos = m.v0
		switch string(d.keyBytes(m)) {
		case "op":
			if c.Op, err = d.op(); err != nil {
				return nil, fmt.Errorf("decoding op: %w", err)
			}
		case "source":
			if err = d.source(&c.Source); err != nil {
				return nil, fmt.Errorf("decoding source block: %w", err)
			}
		case "before":
			if c.Before, err = d.rowMember(m, beforeCols, info != nil); err != nil {
				return nil, fmt.Errorf("decoding before: %w", err)
			}
		case "after":
			if c.After, err = d.rowMember(m, afterCols, info != nil); err != nil {
				return nil, fmt.Errorf("decoding after: %w", err)
			}
		case "ts_ms":
			if c.TsMs, _, err = d.int64(); err != nil {
				return nil, fmt.Errorf("decoding ts_ms: %w", err)
			}
		}
	}
	return c, nil
}

// op reads an operation code. Like Debezium's Operation.forCode it accepts
// either case.
func (d *decoder) op() (Op, error) {
	if d.s.Peek() != '"' {
		return 0, fmt.Errorf("op is not a string: %w", ErrNotEnvelope)
	}
	s, err := d.s.Str()
	if err != nil {
		return 0, err
	}
	return parseOp(s)
}

func parseOp(s string) (Op, error) {
	if len(s) == 1 {
		switch o := Op(s[0] | 0x20); o {
		case OpCreate, OpUpdate, OpDelete, OpRead, OpTruncate, OpMessage:
			return o, nil
		}
	}
	return 0, fmt.Errorf("unknown operation %q: %w", s, ErrNotEnvelope)
}

// rowMember returns the row of a before/after member, parsed while
// collecting or now.
func (d *decoder) rowMember(m member, cols map[string]colSchema, withSchema bool) (Row, error) {
	if !m.parsed {
		d.s.Pos = m.v0
		return d.row(cols)
	}
	if withSchema && !m.withCols && len(cols) > 0 {
		// The schema was not known when the row was parsed (it was not
		// cached yet, or came after the payload).
		for name, f := range m.row.Fields {
			m.row.Fields[name] = field(f.Raw, cols, name)
		}
	}
	return m.row, nil
}

// row parses a before/after value: an object, or null for no row.
func (d *decoder) row(cols map[string]colSchema) (Row, error) {
	switch d.s.Peek() {
	case 'n':
		return Row{}, d.s.Literal("null")
	case '{':
	default:
		return Row{}, fmt.Errorf("row is not an object: %w", ErrNotEnvelope)
	}
	// Size the map exactly: growing it costs more than counting.
	n := len(cols)
	if n == 0 {
		n = d.countMembers()
	}
	fields := make(map[string]Field, n)
	err := d.s.Members(func(ks, ke int, slow bool) error {
		v, err := d.s.Value()
		if err != nil {
			return err
		}
		name := d.name(ks, ke, slow)
		fields[name] = field(v, cols, name)
		return nil
	})
	if err != nil {
		return Row{}, err
	}
	return Row{Fields: fields}, nil
}

// name returns a column name, interned.
func (d *decoder) name(ks, ke int, slow bool) string {
	b := d.s.Data[ks:ke]
	if slow {
		b = []byte(jsonscan.DecodeString(b, slow))
	}
	return names.get(b)
}

// countMembers counts the members of the validated object at the scanner
// position without moving it.
func (d *decoder) countMembers() int {
	s := jsonscan.Scanner{Data: d.s.Data, Pos: d.s.Pos}
	s.WS()
	s.Pos++ // '{'
	if s.Peek() == '}' {
		return 0
	}
	n := 0
	for {
		n++
		s.SkipTrusted() // key
		s.WS()
		s.Pos++ // ':'
		s.SkipTrusted()
		if s.Peek() != ',' {
			return n
		}
		s.Pos++
	}
}

func field(v any, cols map[string]colSchema, name string) Field {
	f := Field{Raw: v}
	if c, ok := cols[name]; ok {
		f.Type, f.Semantic, f.Params = c.typ, c.semantic, c.params
	}
	return f
}

// flat decodes the row written by the unwrap SMT (ExtractNewRecordState).
// Its "__"-prefixed columns are metadata (formats.md §1.9): __deleted from
// the rewrite delete modes, __op/__table/__lsn/__source_ts_ms/... from
// add.fields (a field f of the envelope or source becomes __f, a field f of
// struct s becomes __s_f). They are removed from the row; the ones that
// describe the change fill Op, TsMs and Source.
func (d *decoder) flat(ms []member, info *schemaInfo) (*Change, error) {
	c := &Change{Unwrapped: true}
	var cols map[string]colSchema
	if info != nil {
		cols = info.cols
	}
	fields := make(map[string]Field, len(ms))
	var (
		op                  Op
		deleted, hasDeleted bool
	)
	for _, m := range ms {
		name := d.name(m.k0, m.k1, m.slow)
		d.s.Pos = m.v0
		meta, isMeta := strings.CutPrefix(name, "__")
		if !isMeta {
			v, err := d.s.Value()
			if err != nil {
				return nil, err
			}
			fields[name] = field(v, cols, name)
			continue
		}
		var err error
		switch {
		case d.s.Peek() == 'n':
			// An optional metadata field that is null says nothing.
			err = d.s.Literal("null")
		case meta == "deleted":
			hasDeleted = true
			deleted, err = d.deletedFlag()
		case meta == "op":
			op, err = d.op()
		case meta == "ts_ms":
			c.TsMs, _, err = d.int64()
		default:
			if src, ok := strings.CutPrefix(meta, "source_"); ok {
				meta = src
			}
			_, err = d.sourceField(&c.Source, meta)
		}
		if err != nil {
			return nil, fmt.Errorf("decoding metadata column %q: %w", name, err)
		}
	}
	if err := c.setUnwrapped(op, hasDeleted, deleted, fields); err != nil {
		return nil, err
	}
	return c, nil
}

// setUnwrapped places a flat row written by the unwrap SMT as the change's
// before (a rewritten delete) or after image, from its __op and __deleted
// metadata, which must agree.
func (c *Change) setUnwrapped(op Op, hasDeleted, deleted bool, fields map[string]Field) error {
	switch {
	case op != 0 && hasDeleted && deleted != (op == OpDelete):
		return fmt.Errorf("decoding unwrapped row: __deleted=%t contradicts __op=%q: %w", deleted, string(op), ErrNotEnvelope)
	case op == OpDelete || deleted:
		c.Op = OpDelete
		c.Before = Row{Fields: fields}
	case op != 0:
		c.Op = op
		c.After = Row{Fields: fields}
	default:
		// Without __op, a surviving row is an upsert: 'u' is the one op
		// that claims neither "new" nor "snapshot".
		c.Op = OpUpdate
		c.After = Row{Fields: fields}
	}
	return nil
}

// deletedFlag reads __deleted: the SMT writes the string "true"/"false";
// a boolean is accepted for hand-written or converted records.
func (d *decoder) deletedFlag() (bool, error) {
	switch d.s.Peek() {
	case 't':
		return true, d.s.Literal("true")
	case 'f':
		return false, d.s.Literal("false")
	case '"':
		s, err := d.s.Str()
		if err != nil {
			return false, err
		}
		return deletedText(s)
	}
	return false, errors.New("want a string or boolean")
}

// deletedText reads the unwrap SMT's __deleted field written as text.
func deletedText(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("want \"true\" or \"false\", got %q", s)
}

// source decodes the source block at the scanner position.
func (d *decoder) source(src *Source) error {
	var tsSec int64
	err := d.s.Members(func(ks, ke int, slow bool) error {
		name := d.s.Data[ks:ke]
		if slow {
			name = []byte(jsonscan.DecodeString(name, slow))
		}
		if string(name) == "ts_sec" {
			// Debezium < 0.5 MySQL wrote seconds (fixtures
			// mysql-legacy-*); it stands in for ts_ms below.
			v, _, err := d.int64()
			if err != nil {
				return fmt.Errorf("ts_sec: %w", err)
			}
			tsSec = v
			return nil
		}
		known, err := d.sourceField(src, string(name))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if !known {
			return d.s.Skip()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if src.TsMs == 0 && tsSec != 0 && tsSec < math.MaxInt64/1000 && tsSec > math.MinInt64/1000 {
		src.TsMs = tsSec * 1000
	}
	return nil
}

// sourceField reads the value at the scanner position into the source field
// name. It reports false, without consuming anything, for names it does not
// know.
func (d *decoder) sourceField(src *Source, name string) (bool, error) {
	var err error
	switch name {
	case "version":
		src.Version, err = d.internedString()
	case "connector":
		src.Connector, err = d.internedString()
	case "name":
		src.Name, err = d.internedString()
	case "db":
		src.DB, err = d.internedString()
	case "schema":
		src.Schema, err = d.internedString()
	case "table":
		src.Table, err = d.internedString()
	case "ts_ms":
		src.TsMs, _, err = d.int64()
	case "ts_us":
		src.TsUs, _, err = d.int64()
	case "ts_ns":
		src.TsNs, _, err = d.int64()
	case "snapshot":
		src.Snapshot, err = d.snapshot()
	case "lsn":
		src.LSN, src.HasLSN, err = d.int64()
	case "txId":
		src.TxID, _, err = d.int64()
	case "file":
		src.File, err = d.internedString()
	case "pos":
		src.Pos, _, err = d.int64()
	case "row":
		var v int64
		v, _, err = d.int64()
		if err == nil && (v < math.MinInt32 || v > math.MaxInt32) {
			err = fmt.Errorf("%d is out of range for int32", v)
		}
		src.Row = int32(v)
	case "server_id":
		src.ServerID, _, err = d.int64()
	case "gtid":
		src.GTID, err = d.string()
	default:
		return false, nil
	}
	return true, err
}

// snapshot reads source.snapshot: a string enum in current Debezium, a
// boolean in older versions and in several documentation examples.
func (d *decoder) snapshot() (string, error) {
	switch d.s.Peek() {
	case 't':
		return "true", d.s.Literal("true")
	case 'f':
		return "false", d.s.Literal("false")
	case 'n':
		return "", d.s.Literal("null")
	case '"':
		s, err := d.s.Str()
		return strings.ToLower(s), err
	}
	return "", errors.New("want a string or boolean")
}

// string reads a string or null ("").
func (d *decoder) string() (string, error) {
	switch d.s.Peek() {
	case '"':
		return d.s.Str()
	case 'n':
		return "", d.s.Literal("null")
	}
	return "", errors.New("want a string")
}

// internedString reads a string or null ("") that repeats across records.
func (d *decoder) internedString() (string, error) {
	if d.s.Peek() != '"' {
		return d.string()
	}
	start, end, slow, err := d.s.RawString()
	if err != nil {
		return "", err
	}
	b := d.s.Data[start:end]
	if slow {
		return jsonscan.DecodeString(b, slow), nil
	}
	return names.get(b), nil
}

// int64 reads an integer or null (0, false). Metadata columns copied by
// the unwrap SMT are numbers too, but a string of digits is accepted for
// records that passed through a stringifying transform.
func (d *decoder) int64() (int64, bool, error) {
	switch c := d.s.Peek(); {
	case c == 'n':
		return 0, false, d.s.Literal("null")
	case c == '"':
		s, err := d.s.Str()
		if err != nil {
			return 0, false, err
		}
		v, ok := parseInt([]byte(s))
		if !ok {
			return 0, false, fmt.Errorf("want an integer, got %q", s)
		}
		return v, true, nil
	case c == '-' || '0' <= c && c <= '9':
		start, end, err := d.s.Number()
		if err != nil {
			return 0, false, err
		}
		v, ok := parseInt(d.s.Data[start:end])
		if !ok {
			return 0, false, fmt.Errorf("want an integer, got %s", d.s.Data[start:end])
		}
		return v, true, nil
	}
	return 0, false, errors.New("want an integer")
}

// parseInt parses a decimal int64 without allocating; false on anything
// else (fraction, exponent, overflow).
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func decodeKey(key []byte) (Row, error) {
	d := decoder{s: jsonscan.Scanner{Data: key}}
	switch d.s.Peek() {
	case 0:
		if d.s.Pos == len(key) {
			return Row{}, nil
		}
	case 'n':
		if err := d.s.Literal("null"); err != nil {
			return Row{}, err
		}
		return Row{}, d.s.End()
	case '{':
		return d.keyDocument()
	}
	if err := d.s.Skip(); err != nil {
		return Row{}, err
	}
	if err := d.s.End(); err != nil {
		return Row{}, err
	}
	return Row{}, errors.New("key is not a JSON object")
}

// keyDocument decodes a key object: JsonConverter's {"schema","payload"}
// pair or the bare struct.
func (d *decoder) keyDocument() (Row, error) {
	var buf bodyMembers
	top, _, _, err := d.collect(buf[:], nil, collectKey)
	if err != nil {
		return Row{}, err
	}
	if err := d.s.End(); err != nil {
		return Row{}, err
	}
	var cols map[string]colSchema
	if sch, pay, ok := d.wrapper(top); ok {
		switch d.first(pay) {
		case 'n':
			return Row{}, nil
		case '{':
		default:
			return Row{}, errors.New("key payload is not an object")
		}
		info, err := d.schema(sch)
		if err != nil {
			return Row{}, fmt.Errorf("decoding key schema: %w", err)
		}
		if info != nil {
			cols = info.cols
		}
		d.s.Pos = pay.v0
		return d.row(cols)
	}
	fields := make(map[string]Field, len(top))
	for _, m := range top {
		d.s.Pos = m.v0
		v, err := d.s.Value()
		if err != nil {
			return Row{}, err
		}
		fields[d.name(m.k0, m.k1, m.slow)] = Field{Raw: v}
	}
	return Row{Fields: fields}, nil
}
