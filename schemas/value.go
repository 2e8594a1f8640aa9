package schemas

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the type of a profile value. The set is small on purpose: every
// attribute of the data dictionary has exactly one of these kinds, and every
// output format (JSON now, Avro later) maps each kind one to one.
type Kind uint8

// The kinds. Their numeric values are persisted (fact and state encodings), so
// they must never be renumbered.
const (
	KindNull      Kind = 0
	KindString    Kind = 1
	KindInt       Kind = 2
	KindFloat     Kind = 3
	KindBool      Kind = 4
	KindDecimal   Kind = 5 // Str holds the canonical decimal text with its scale, e.g. "-12.50"
	KindTimestamp Kind = 6 // Int holds microseconds since the Unix epoch, UTC
	KindDate      Kind = 7 // Int holds days since the Unix epoch
)

// String returns the name used in configuration files.
func (k Kind) String() string {
	switch k {
	case KindNull:
		return "null"
	case KindString:
		return "string"
	case KindInt:
		return "int"
	case KindFloat:
		return "float"
	case KindBool:
		return "bool"
	case KindDecimal:
		return "decimal"
	case KindTimestamp:
		return "timestamp"
	case KindDate:
		return "date"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind parses a kind name as written in configuration files.
func ParseKind(s string) (Kind, error) {
	for k := KindString; k <= KindDate; k++ {
		if k.String() == s {
			return k, nil
		}
	}
	return KindNull, fmt.Errorf("unknown type %q (want one of string, int, float, bool, decimal, timestamp, date)", s)
}

// Value is one typed scalar. The zero Value is null.
//
// Only the fields that belong to Kind are meaningful; constructors below keep
// the others zero so that two equal values are also equal as structs.
type Value struct {
	Kind  Kind
	Str   string
	Int   int64
	Float float64
}

// Null is the null value.
var Null = Value{}

// String builds a string value.
func String(s string) Value { return Value{Kind: KindString, Str: s} }

// Int builds an integer value.
func Int(i int64) Value { return Value{Kind: KindInt, Int: i} }

// Float builds a floating point value.
func Float(f float64) Value { return Value{Kind: KindFloat, Float: f} }

// Bool builds a boolean value.
func Bool(b bool) Value {
	if b {
		return Value{Kind: KindBool, Int: 1}
	}
	return Value{Kind: KindBool}
}

// Timestamp builds a timestamp value from microseconds since the epoch.
func Timestamp(micros int64) Value { return Value{Kind: KindTimestamp, Int: micros} }

// TimestampOf builds a timestamp value from a time.Time (truncated to µs).
func TimestampOf(t time.Time) Value { return Timestamp(t.UnixMicro()) }

// Date builds a date value from days since the epoch.
func Date(days int64) Value { return Value{Kind: KindDate, Int: days} }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.Kind == KindNull }

// AsBool returns the boolean of a bool value.
func (v Value) AsBool() bool { return v.Kind == KindBool && v.Int != 0 }

// Time returns the instant of a timestamp value, or midnight UTC of a date.
func (v Value) Time() time.Time {
	switch v.Kind {
	case KindTimestamp:
		return time.UnixMicro(v.Int).UTC()
	case KindDate:
		return time.Unix(v.Int*86400, 0).UTC()
	}
	return time.Time{}
}

// Text renders the value as the profile JSON output shows it: timestamps as
// RFC 3339 UTC, dates as YYYY-MM-DD, decimals with their scale.
func (v Value) Text() string {
	switch v.Kind {
	case KindNull:
		return "null"
	case KindString, KindDecimal:
		return v.Str
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindFloat:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case KindBool:
		return strconv.FormatBool(v.AsBool())
	case KindTimestamp:
		return v.Time().Format(time.RFC3339Nano)
	case KindDate:
		return v.Time().Format(time.DateOnly)
	}
	return ""
}

// String implements fmt.Stringer for logs and test failures.
func (v Value) String() string { return v.Kind.String() + ":" + v.Text() }

// AppendJSON appends the JSON form of v, as used in the profiles topic.
func (v Value) AppendJSON(b []byte) []byte {
	switch v.Kind {
	case KindNull:
		return append(b, "null"...)
	case KindInt:
		return strconv.AppendInt(b, v.Int, 10)
	case KindFloat:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v.Float, 'g', -1, 64)
	case KindBool:
		return strconv.AppendBool(b, v.AsBool())
	}
	return AppendJSONString(b, v.Text())
}

// AppendJSONString appends s as a JSON string. Unlike strconv.Quote, whose
// Go escapes (\a, \x00) are not JSON, it escapes control characters as
// \u00XX, and it replaces invalid UTF-8 with U+FFFD so that consumers of the
// profiles topic always receive valid JSON. U+2028 and U+2029 are escaped so
// the text can also be embedded in JavaScript.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\\ufffd"...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Compare orders two values. Values of the same kind compare naturally
// (decimals numerically); null sorts before everything; different kinds sort
// by kind. The order is total, which lets merge policies break every tie.
func Compare(a, b Value) int {
	if a.Kind != b.Kind {
		return cmp.Compare(int64(a.Kind), int64(b.Kind))
	}
	switch a.Kind {
	case KindNull:
		return 0
	case KindString:
		return strings.Compare(a.Str, b.Str)
	case KindInt, KindBool, KindTimestamp, KindDate:
		return cmp.Compare(a.Int, b.Int)
	case KindFloat:
		switch {
		case a.Float < b.Float:
			return -1
		case a.Float > b.Float:
			return 1
		}
		// NaN and equal values: fall back to the bit pattern so the order stays total.
		return cmp.Compare(int64(math.Float64bits(a.Float)), int64(math.Float64bits(b.Float)))
	case KindDecimal:
		da, ea := ParseDecimal(a.Str)
		db, eb := ParseDecimal(b.Str)
		if ea != nil || eb != nil {
			return strings.Compare(a.Str, b.Str)
		}
		if c := da.Cmp(db); c != 0 {
			return c
		}
		return strings.Compare(a.Str, b.Str)
	}
	return 0
}

// Equal reports whether a and b are the same value.
func Equal(a, b Value) bool { return a == b }

// Decimal is an exact decimal number: Unscaled × 10^-Scale.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// ParseDecimal parses plain decimal text such as "-12.5" or "1234" (no
// exponent; Debezium's decimal.handling.mode=string uses toPlainString).
func ParseDecimal(s string) (Decimal, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return Decimal{}, fmt.Errorf("empty decimal")
	}
	neg := false
	switch t[0] {
	case '-':
		neg = true
		t = t[1:]
	case '+':
		t = t[1:]
	}
	intPart, frac, _ := strings.Cut(t, ".")
	if intPart == "" && frac == "" {
		return Decimal{}, fmt.Errorf("invalid decimal %q", s)
	}
	digits := intPart + frac
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return Decimal{}, fmt.Errorf("invalid decimal %q", s)
		}
	}
	if len(frac) > 1000 {
		return Decimal{}, fmt.Errorf("decimal %q has too many digits", s)
	}
	u, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return Decimal{}, fmt.Errorf("invalid decimal %q", s)
	}
	if neg {
		u.Neg(u)
	}
	return Decimal{Unscaled: u, Scale: int32(len(frac))}, nil
}

// DecimalFromUnscaled builds a decimal from an unscaled integer and a scale.
func DecimalFromUnscaled(u *big.Int, scale int32) Decimal {
	return Decimal{Unscaled: new(big.Int).Set(u), Scale: scale}
}

// Rescale returns d at the given scale, rounding half away from zero when
// digits are dropped.
func (d Decimal) Rescale(scale int32) Decimal {
	u := new(big.Int).Set(d.Unscaled)
	switch {
	case scale > d.Scale:
		u.Mul(u, pow10(scale-d.Scale))
	case scale < d.Scale:
		div := pow10(d.Scale - scale)
		q, r := new(big.Int).QuoRem(u, div, new(big.Int))
		// Round half away from zero: compare 2|r| with the divisor.
		r.Abs(r).Lsh(r, 1)
		if r.Cmp(div) >= 0 {
			if u.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
		u = q
	}
	return Decimal{Unscaled: u, Scale: scale}
}

// Add returns d+o at the larger of both scales.
func (d Decimal) Add(o Decimal) Decimal {
	s := max(d.Scale, o.Scale)
	a, b := d.Rescale(s), o.Rescale(s)
	return Decimal{Unscaled: a.Unscaled.Add(a.Unscaled, b.Unscaled), Scale: s}
}

// Cmp compares d and o numerically.
func (d Decimal) Cmp(o Decimal) int {
	s := max(d.Scale, o.Scale)
	return d.Rescale(s).Unscaled.Cmp(o.Rescale(s).Unscaled)
}

// Sign returns -1, 0 or 1.
func (d Decimal) Sign() int { return d.Unscaled.Sign() }

// Float returns the nearest float64.
func (d Decimal) Float() float64 {
	f, _ := new(big.Float).SetInt(d.Unscaled).Float64()
	return f / math.Pow10(int(d.Scale))
}

// String renders plain text with exactly Scale fraction digits.
func (d Decimal) String() string {
	if d.Unscaled == nil {
		return "0"
	}
	var buf bytes.Buffer
	u := new(big.Int).Set(d.Unscaled)
	if u.Sign() < 0 {
		buf.WriteByte('-')
		u.Abs(u)
	}
	digits := u.String()
	if d.Scale <= 0 {
		buf.WriteString(digits)
		for i := int32(0); i < -d.Scale; i++ {
			buf.WriteByte('0')
		}
		return buf.String()
	}
	if int32(len(digits)) <= d.Scale {
		digits = strings.Repeat("0", int(d.Scale)-len(digits)+1) + digits
	}
	cut := len(digits) - int(d.Scale)
	buf.WriteString(digits[:cut])
	buf.WriteByte('.')
	buf.WriteString(digits[cut:])
	return buf.String()
}

// Value returns the decimal as a Value.
func (d Decimal) Value() Value { return Value{Kind: KindDecimal, Str: d.String()} }

func pow10(n int32) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}
