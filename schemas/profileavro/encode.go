package profileavro

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/profiled/profiled/schemas"
)

// ErrValue is returned (wrapped, naming the attribute) when a value does
// not fit its attribute's Avro type: a kind other than the attribute's, a
// date beyond Avro's int, or a decimal of more than DecimalPrecision digits.
var ErrValue = errors.New("value does not fit the profile schema")

// Encoder writes profiles in the Confluent wire format (magic byte 0, the
// 4-byte schema id, the Avro binary datum) for one registered schema. It
// holds no state between calls and is safe for concurrent use.
type Encoder struct {
	s  *Schema
	id uint32
}

// NewEncoder returns an encoder of s, registered under id.
func NewEncoder(s *Schema, id int) *Encoder { return &Encoder{s: s, id: uint32(id)} }

// Append appends one profile version to b and returns the extended buffer;
// pass a reused buffer's b[:0] to encode without allocating. attrs holds
// the profile's values by attribute name (merge.View); an attribute that is
// missing or null is written as null, and names the schema does not have
// are ignored. On error b is returned unchanged in length.
func (e *Encoder) Append(b []byte, profileID string, version uint64, updatedAt int64, attrs map[string]schemas.Value, changed []string) ([]byte, error) {
	start := len(b)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint32(b, e.id)
	b = appendString(b, profileID)
	b = binary.AppendVarint(b, int64(version))
	b = binary.AppendVarint(b, updatedAt)
	for i := range e.s.attrs {
		a := &e.s.attrs[i]
		v, ok := attrs[a.name]
		if !ok || v.IsNull() {
			b = append(b, 0) // union branch 0: null
			continue
		}
		b = append(b, 2) // union branch 1, zigzag
		var err error
		if b, err = a.append(b, v); err != nil {
			return b[:start], fmt.Errorf("attribute %s: %w", a.name, err)
		}
	}
	if len(changed) > 0 {
		b = binary.AppendVarint(b, int64(len(changed)))
		for _, c := range changed {
			b = appendString(b, c)
		}
	}
	return append(b, 0), nil // end of the array's blocks
}

// Avro's long is Go's zigzag varint; strings and bytes are a long length
// followed by the bytes.
func appendString(b []byte, s string) []byte {
	b = binary.AppendVarint(b, int64(len(s)))
	return append(b, s...)
}

func (a *attrField) append(b []byte, v schemas.Value) ([]byte, error) {
	if v.Kind != a.kind {
		return b, fmt.Errorf("%w: a %s value for a %s attribute", ErrValue, v.Kind, a.kind)
	}
	switch a.kind {
	case schemas.KindString:
		return appendString(b, v.Str), nil
	case schemas.KindInt, schemas.KindTimestamp:
		return binary.AppendVarint(b, v.Int), nil
	case schemas.KindDate:
		if v.Int < math.MinInt32 || v.Int > math.MaxInt32 {
			return b, fmt.Errorf("%w: date %d days is beyond Avro's int", ErrValue, v.Int)
		}
		return binary.AppendVarint(b, v.Int), nil
	case schemas.KindFloat:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float)), nil
	case schemas.KindBool:
		if v.AsBool() {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case schemas.KindDecimal:
		if a.scale < 0 {
			return appendString(b, v.Str), nil
		}
		return appendDecimal(b, v.Str, a.scale)
	}
	return b, fmt.Errorf("%w: kind %s", ErrValue, a.kind)
}

// appendDecimal writes decimal text as the two's-complement big-endian
// unscaled integer at scale, with a fast path for the common case that the
// digits fit an int64 and the text already has the scale.
func appendDecimal(b []byte, text string, scale int32) ([]byte, error) {
	if u, ok := unscaledInt64(text, scale); ok {
		return appendTwos(b, u), nil
	}
	d, err := schemas.ParseDecimal(text)
	if err != nil {
		return b, fmt.Errorf("%w: %w", ErrValue, err)
	}
	if d.Scale != scale {
		r := d.Rescale(scale)
		if r.Cmp(d) != 0 {
			return b, fmt.Errorf("%w: %s has more than %d fraction digits", ErrValue, text, scale)
		}
		d = r
	}
	u := d.Unscaled
	if digits := len(new(big.Int).Abs(u).String()); digits > DecimalPrecision {
		return b, fmt.Errorf("%w: %s has %d digits, more than the schema's precision %d", ErrValue, text, digits, DecimalPrecision)
	}
	return appendTwosBig(b, u), nil
}

// unscaledInt64 reads "-123.45" with exactly scale fraction digits and at
// most 18 digits in all.
func unscaledInt64(s string, scale int32) (int64, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	var u int64
	digits, frac, dot := 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && !dot:
			dot = true
		case c >= '0' && c <= '9':
			digits++
			if dot {
				frac++
			}
			u = u*10 + int64(c-'0')
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 18 || int32(frac) != scale {
		return 0, false
	}
	if neg {
		u = -u
	}
	return u, true
}

// appendTwos writes the shortest big-endian two's complement of x, as
// Java's BigInteger.toByteArray does.
func appendTwos(b []byte, x int64) []byte {
	n := 8
	for n > 1 {
		top, next := byte(x>>((n-1)*8)), byte(x>>((n-2)*8))
		if (top == 0 && next&0x80 == 0) || (top == 0xff && next&0x80 != 0) {
			n--
			continue
		}
		break
	}
	b = binary.AppendVarint(b, int64(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(x>>(i*8)))
	}
	return b
}

func appendTwosBig(b []byte, u *big.Int) []byte {
	if u.IsInt64() {
		return appendTwos(b, u.Int64())
	}
	var raw []byte
	if u.Sign() > 0 {
		raw = u.Bytes()
		if raw[0]&0x80 != 0 {
			raw = append([]byte{0}, raw...)
		}
	} else {
		n := (u.BitLen() + 8) / 8
		m := new(big.Int).Add(u, new(big.Int).Lsh(big.NewInt(1), uint(n*8)))
		raw = m.FillBytes(make([]byte, n))
		for len(raw) > 1 && raw[0] == 0xff && raw[1]&0x80 != 0 {
			raw = raw[1:]
		}
	}
	b = binary.AppendVarint(b, int64(len(raw)))
	return append(b, raw...)
}
