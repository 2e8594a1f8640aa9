package fact

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/profiled/profiled/schemas"
)

// ErrCorrupt is returned (wrapped) for bytes that are not a valid encoding.
var ErrCorrupt = errors.New("corrupt fact encoding")

// maxOps bounds the ops of one fact so that a corrupt length cannot make the
// decoder allocate without limit.
const maxOps = 1 << 16

// Append appends the encoding of f to b.
func Append(b []byte, f *Fact) []byte {
	b = append(b, Version)
	b = appendString(b, f.ProfileID)
	b = AppendStamp(b, f.Stamp)
	b = binary.AppendUvarint(b, uint64(f.Origin.Source))
	b = appendString(b, f.Origin.Topic)
	b = binary.AppendVarint(b, int64(f.Origin.Partition))
	b = binary.AppendVarint(b, f.Origin.Offset)
	b = binary.AppendUvarint(b, uint64(len(f.Ops)))
	for i := range f.Ops {
		op := &f.Ops[i]
		b = append(b, byte(op.Kind))
		b = appendString(b, op.Name)
		switch op.Kind {
		case OpSet:
			b = AppendValue(b, op.Value)
		case OpUpsert:
			b = appendString(b, op.EntityID)
			b = binary.AppendUvarint(b, uint64(len(op.Fields)))
			for _, fl := range op.Fields {
				b = appendString(b, fl.Name)
				b = AppendValue(b, fl.Value)
			}
		case OpDelete:
			b = appendString(b, op.EntityID)
		case OpCount:
			b = appendString(b, op.DedupID)
		}
	}
	return b
}

// Decode decodes a fact. It never panics on malformed input.
func Decode(b []byte) (*Fact, error) {
	r := Reader{b: b}
	if v := r.Byte(); v != Version {
		if r.err != nil {
			return nil, r.err
		}
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, v)
	}
	f := &Fact{}
	f.ProfileID = r.String()
	f.Stamp = r.Stamp()
	src := r.Uvarint()
	if src > math.MaxUint32 {
		r.fail("source index out of range")
	}
	f.Origin.Source = uint32(src)
	f.Origin.Topic = r.String()
	f.Origin.Partition = int32(r.Varint())
	f.Origin.Offset = r.Varint()
	n := r.Uvarint()
	if n > maxOps || n > uint64(len(r.b)) {
		r.fail("too many ops")
		return nil, r.err
	}
	f.Ops = make([]Op, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		op := Op{Kind: OpKind(r.Byte()), Name: r.String()}
		switch op.Kind {
		case OpSet:
			op.Value = r.Value()
		case OpUpsert:
			op.EntityID = r.String()
			nf := r.Uvarint()
			if nf > uint64(len(r.b)) {
				r.fail("too many fields")
				break
			}
			op.Fields = make([]Field, 0, nf)
			for j := uint64(0); j < nf && r.err == nil; j++ {
				op.Fields = append(op.Fields, Field{Name: r.String(), Value: r.Value()})
			}
		case OpDelete:
			op.EntityID = r.String()
		case OpCount:
			op.DedupID = r.String()
		default:
			r.fail(fmt.Sprintf("unknown op kind %d", op.Kind))
		}
		f.Ops = append(f.Ops, op)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(r.b))
	}
	return f, nil
}

// AppendStamp appends the encoding of a stamp.
func AppendStamp(b []byte, s Stamp) []byte {
	b = binary.AppendVarint(b, s.Time)
	b = binary.AppendVarint(b, int64(s.Priority))
	return appendBytes(b, s.Position)
}

// AppendValue appends the encoding of a value.
func AppendValue(b []byte, v schemas.Value) []byte {
	b = append(b, byte(v.Kind))
	switch v.Kind {
	case schemas.KindString, schemas.KindDecimal:
		b = appendString(b, v.Str)
	case schemas.KindInt, schemas.KindBool, schemas.KindTimestamp, schemas.KindDate:
		b = binary.AppendVarint(b, v.Int)
	case schemas.KindFloat:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float))
	}
	return b
}

// AppendString appends a length-prefixed string.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// Reader decodes the primitives of this encoding. The first error sticks:
// later reads return zero values, so callers check Err once at the end.
type Reader struct {
	b   []byte
	err error
}

// NewReader returns a reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first error.
func (r *Reader) Err() error { return r.err }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) }

func (r *Reader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorrupt, msg)
	}
	r.b = nil
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.b) < 1 {
		r.fail("short input")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a signed varint.
func (r *Reader) Varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Bytes reads length-prefixed bytes (a copy).
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if n > uint64(len(r.b)) {
		r.fail("length beyond input")
		return nil
	}
	if n == 0 {
		return nil
	}
	p := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return p
}

// String reads a length-prefixed string.
func (r *Reader) String() string {
	n := r.Uvarint()
	if n > uint64(len(r.b)) {
		r.fail("length beyond input")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// Stamp reads a stamp.
func (r *Reader) Stamp() Stamp {
	s := Stamp{Time: r.Varint()}
	p := r.Varint()
	if p < math.MinInt32 || p > math.MaxInt32 {
		r.fail("priority out of range")
	}
	s.Priority = int32(p)
	s.Position = r.Bytes()
	return s
}

// Value reads a value.
func (r *Reader) Value() schemas.Value {
	k := schemas.Kind(r.Byte())
	switch k {
	case schemas.KindNull:
		return schemas.Null
	case schemas.KindString, schemas.KindDecimal:
		return schemas.Value{Kind: k, Str: r.String()}
	case schemas.KindInt, schemas.KindTimestamp, schemas.KindDate:
		return schemas.Value{Kind: k, Int: r.Varint()}
	case schemas.KindBool:
		return schemas.Bool(r.Varint() != 0)
	case schemas.KindFloat:
		if len(r.b) < 8 {
			r.fail("short float")
			return schemas.Null
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
		r.b = r.b[8:]
		return schemas.Float(f)
	}
	r.fail(fmt.Sprintf("unknown value kind %d", k))
	return schemas.Null
}
