package dictionary

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/profiled/profiled/schemas"
)

// coerce implements Attribute.Coerce: convert, normalize, validate.
func (a *Attribute) coerce(v schemas.Value) (schemas.Value, error) {
	out, err := convert(v, a.Type, a.Scale)
	if err != nil {
		return schemas.Null, fmt.Errorf("%s: %w", a.Name, err)
	}
	if !out.IsNull() {
		for _, n := range a.Normalizers {
			fn := n.Fn
			if fn == nil {
				// An Attribute built by hand (tests, tools) may name its
				// normalizers without functions; build them on demand.
				built, err := buildNormalizer(n.Name, n.Arg, false)
				if err != nil {
					return schemas.Null, fmt.Errorf("%s: %w", a.Name, err)
				}
				fn = built.Fn
			}
			if out, err = fn(out); err != nil {
				return schemas.Null, fmt.Errorf("%s: %w", a.Name, err)
			}
		}
	}
	for _, val := range a.Validators {
		if val.Fn == nil {
			// Validators carry their arguments only in Fn; a validator
			// without one cannot be checked, and skipping it silently would
			// let bad values through.
			return schemas.Null, fmt.Errorf("%s: validator %q has no check function", a.Name, val.Name)
		}
		if err := val.Fn(out); err != nil {
			return schemas.Null, fmt.Errorf("%s: %w", a.Name, err)
		}
	}
	return out, nil
}

// quote renders a value for error messages: its text, quoted.
func quote(v schemas.Value) string {
	if v.IsNull() {
		return "null"
	}
	return clip(v.Text())
}

// convert converts v to kind k. scale >= 0 fixes the scale of decimals.
// Null converts to null.
func convert(v schemas.Value, k schemas.Kind, scale int32) (schemas.Value, error) {
	if v.IsNull() {
		return schemas.Null, nil
	}
	switch k {
	case schemas.KindString:
		if v.Kind > schemas.KindDate {
			return schemas.Null, fmt.Errorf("value of unknown kind %d cannot be converted to string", v.Kind)
		}
		return schemas.String(v.Text()), nil
	case schemas.KindInt:
		return toInt(v)
	case schemas.KindFloat:
		return toFloat(v)
	case schemas.KindBool:
		return toBool(v)
	case schemas.KindDecimal:
		d, err := toDecimal(v)
		if err != nil {
			return schemas.Null, err
		}
		if scale >= 0 {
			d = d.Rescale(scale)
		}
		return d.Value(), nil
	case schemas.KindTimestamp:
		return toTimestamp(v)
	case schemas.KindDate:
		return toDate(v)
	}
	return schemas.Null, fmt.Errorf("the attribute has no valid type (%s)", k)
}

func cannot(v schemas.Value, k schemas.Kind) error {
	return fmt.Errorf("%s %s cannot be converted to %s", v.Kind, quote(v), k)
}

var (
	minInt64 = new(big.Int).SetInt64(math.MinInt64)
	maxInt64 = new(big.Int).SetInt64(math.MaxInt64)
)

func toInt(v schemas.Value) (schemas.Value, error) {
	switch v.Kind {
	case schemas.KindInt:
		return v, nil
	case schemas.KindFloat:
		f := v.Float
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return schemas.Null, fmt.Errorf("%s is not a finite number", quote(v))
		}
		if f != math.Trunc(f) {
			return schemas.Null, fmt.Errorf("%s has a fractional part; int needs a whole number", quote(v))
		}
		// 2^63 is exactly representable, int64's maximum is not.
		if f < -(1<<63) || f >= 1<<63 {
			return schemas.Null, fmt.Errorf("%s is out of range for int", quote(v))
		}
		return schemas.Int(int64(f)), nil
	case schemas.KindDecimal:
		d, err := schemas.ParseDecimal(v.Str)
		if err != nil {
			return schemas.Null, fmt.Errorf("%s is not a valid decimal: %w", quote(v), err)
		}
		return decimalToInt(d, v)
	case schemas.KindString:
		s := strings.TrimSpace(v.Str)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return schemas.Int(i), nil
		}
		// Also whole numbers written as decimals ("42.00", from a numeric
		// column in Debezium's decimal.handling.mode=string).
		d, err := parseNumber(s)
		if err != nil {
			return schemas.Null, fmt.Errorf("%s is not an integer", quote(v))
		}
		return decimalToInt(d, v)
	}
	return schemas.Null, cannot(v, schemas.KindInt)
}

func decimalToInt(d schemas.Decimal, v schemas.Value) (schemas.Value, error) {
	u := d.Unscaled
	if d.Scale > 0 {
		q, rem := new(big.Int).QuoRem(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil), new(big.Int))
		if rem.Sign() != 0 {
			return schemas.Null, fmt.Errorf("%s has a fractional part; int needs a whole number", quote(v))
		}
		u = q
	}
	if u.Cmp(minInt64) < 0 || u.Cmp(maxInt64) > 0 {
		return schemas.Null, fmt.Errorf("%s is out of range for int", quote(v))
	}
	return schemas.Int(u.Int64()), nil
}

// numberRE is the syntax accepted for numbers in strings: plain decimal
// notation with an optional exponent. strconv alone would also accept "NaN",
// "Inf", hex floats and underscores, none of which a data feed means as a
// number.
var numberRE = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$`)

func toFloat(v schemas.Value) (schemas.Value, error) {
	switch v.Kind {
	case schemas.KindFloat:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return schemas.Null, fmt.Errorf("%s is not a finite number", quote(v))
		}
		return v, nil
	case schemas.KindInt:
		return schemas.Float(float64(v.Int)), nil
	case schemas.KindDecimal, schemas.KindString:
		s := strings.TrimSpace(v.Str)
		if !numberRE.MatchString(s) {
			return schemas.Null, fmt.Errorf("%s is not a number", quote(v))
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return schemas.Null, fmt.Errorf("%s is out of range for float", quote(v))
		}
		return schemas.Float(f), nil
	}
	return schemas.Null, cannot(v, schemas.KindFloat)
}

func toBool(v schemas.Value) (schemas.Value, error) {
	switch v.Kind {
	case schemas.KindBool:
		return v, nil
	case schemas.KindInt:
		switch v.Int {
		case 0:
			return schemas.Bool(false), nil
		case 1:
			return schemas.Bool(true), nil
		}
		return schemas.Null, fmt.Errorf("%s is not a boolean (only the integers 0 and 1 are)", quote(v))
	case schemas.KindString:
		switch strings.ToLower(strings.TrimSpace(v.Str)) {
		case "true", "t", "yes", "1":
			return schemas.Bool(true), nil
		case "false", "f", "no", "0":
			return schemas.Bool(false), nil
		}
		return schemas.Null, fmt.Errorf("%s is not a boolean (want true/false, t/f, yes/no or 1/0)", quote(v))
	}
	return schemas.Null, cannot(v, schemas.KindBool)
}

func toDecimal(v schemas.Value) (schemas.Decimal, error) {
	switch v.Kind {
	case schemas.KindDecimal, schemas.KindString:
		d, err := parseNumber(v.Str)
		if err != nil {
			return schemas.Decimal{}, fmt.Errorf("%s is not a decimal number: %w", quote(v), err)
		}
		return d, nil
	case schemas.KindInt:
		return schemas.Decimal{Unscaled: big.NewInt(v.Int)}, nil
	case schemas.KindFloat:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return schemas.Decimal{}, fmt.Errorf("%s is not a finite number", quote(v))
		}
		// The shortest text that reads back as the same float: 0.1 becomes
		// 0.1, not 0.1000000000000000055511151231257827.
		return schemas.ParseDecimal(strconv.FormatFloat(v.Float, 'f', -1, 64))
	}
	return schemas.Decimal{}, cannot(v, schemas.KindDecimal)
}

// maxExponent bounds exponents in decimal text so that "1e999999999" cannot
// make us build a number with a billion digits.
const maxExponent = 1000

// parseNumber parses decimal text with an optional exponent into an exact
// decimal: "12.50", "-3", "1.5e3" (= 1500), "25E-1" (= 2.5).
func parseNumber(s string) (schemas.Decimal, error) {
	s = strings.TrimSpace(s)
	if !numberRE.MatchString(s) {
		return schemas.Decimal{}, errors.New("want digits with an optional sign, fraction and exponent")
	}
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	d, err := schemas.ParseDecimal(mant)
	if err != nil {
		return schemas.Decimal{}, err
	}
	if !hasExp {
		return d, nil
	}
	e, err := strconv.Atoi(exp)
	if err != nil || e > maxExponent || e < -maxExponent {
		return schemas.Decimal{}, fmt.Errorf("exponent out of range (±%d)", maxExponent)
	}
	scale := int64(d.Scale) - int64(e)
	if scale < 0 {
		u := new(big.Int).Mul(d.Unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(-scale), nil))
		return schemas.DecimalFromUnscaled(u, 0), nil
	}
	return schemas.DecimalFromUnscaled(d.Unscaled, int32(scale)), nil
}

const (
	microsPerDay = 86_400_000_000
	// The dates a timestamp can hold and Value.Time can render: years 1 to
	// 9999, as days since the epoch.
	minDays = -719_162  // 0001-01-01
	maxDays = 2_932_896 // 9999-12-31
)

func toTimestamp(v schemas.Value) (schemas.Value, error) {
	switch v.Kind {
	case schemas.KindTimestamp:
		return v, nil
	case schemas.KindDate:
		if v.Int < minDays || v.Int > maxDays {
			return schemas.Null, fmt.Errorf("date %d days from the epoch is out of range", v.Int)
		}
		return schemas.Timestamp(v.Int * microsPerDay), nil
	case schemas.KindString:
		t, _, err := parseISO(v.Str)
		if err != nil {
			return schemas.Null, fmt.Errorf("%s is not an ISO-8601 date-time (e.g. 2024-05-01T12:30:00Z): %w", quote(v), err)
		}
		return schemas.TimestampOf(t), nil
	case schemas.KindInt:
		// Seconds, milliseconds, microseconds or nanoseconds? Guessing from
		// the magnitude silently corrupts data; the source must say.
		return schemas.Null, fmt.Errorf("%s is an integer and its unit is unknown; "+
			"give the column a type hint in the source's types (e.g. io.debezium.time.MicroTimestamp) "+
			"or send an ISO-8601 string", quote(v))
	}
	return schemas.Null, cannot(v, schemas.KindTimestamp)
}

func toDate(v schemas.Value) (schemas.Value, error) {
	switch v.Kind {
	case schemas.KindDate:
		return v, nil
	case schemas.KindTimestamp:
		return schemas.Date(floorDiv(v.Int, microsPerDay)), nil
	case schemas.KindInt:
		if v.Int < minDays || v.Int > maxDays {
			return schemas.Null, fmt.Errorf("%s days from 1970-01-01 is outside the years 1 to 9999", quote(v))
		}
		return schemas.Date(v.Int), nil
	case schemas.KindString:
		t, _, err := parseISO(v.Str)
		if err != nil {
			return schemas.Null, fmt.Errorf("%s is not an ISO-8601 date (e.g. 2024-05-01): %w", quote(v), err)
		}
		return schemas.Date(floorDiv(t.Unix(), 86_400)), nil
	}
	return schemas.Null, cannot(v, schemas.KindDate)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// parseISO parses the ISO-8601 profile that real feeds send: RFC 3339
// ("2024-05-01T12:30:00.123Z", "...+02:00"), the same without an offset
// (read as UTC), a space instead of T ("2024-05-01 12:30:00", as databases
// print), offsets written +hh, +hhmm or +hh:mm (Postgres prints "+00"),
// seconds optional, and a bare date "2024-05-01" (midnight UTC; dateOnly is
// true). It is hand-written because time.Parse needs one layout per variant
// and would accept none of the shortened offsets.
func parseISO(s string) (t time.Time, dateOnly bool, err error) {
	s = strings.TrimSpace(s)
	p := isoScanner{s: s}
	year := p.digits(4)
	p.expect('-')
	month := p.digits(2)
	p.expect('-')
	day := p.digits(2)
	if p.err != nil {
		return time.Time{}, false, errors.New("want YYYY-MM-DD")
	}
	if p.done() {
		t = time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
		if t.Month() != time.Month(month) || t.Day() != day || month < 1 {
			return time.Time{}, false, fmt.Errorf("no such date %s", s[:10])
		}
		if year < 1 {
			return time.Time{}, false, errors.New("outside the years 0001 to 9999")
		}
		return t, true, nil
	}
	if c := p.next(); c != 'T' && c != 't' && c != ' ' {
		return time.Time{}, false, errors.New("want T or a space between date and time")
	}
	hour := p.digits(2)
	p.expect(':')
	minute := p.digits(2)
	sec, nanos := 0, 0
	if p.peek() == ':' {
		p.next()
		sec = p.digits(2)
		if c := p.peek(); c == '.' || c == ',' {
			p.next()
			n := 0
			for p.err == nil && p.peek() >= '0' && p.peek() <= '9' {
				c := p.next()
				if n < 9 {
					nanos = nanos*10 + int(c-'0')
				}
				n++
			}
			if n == 0 {
				return time.Time{}, false, errors.New("want digits after the decimal point of the seconds")
			}
			for ; n < 9; n++ {
				nanos *= 10
			}
		}
	}
	if p.err != nil {
		return time.Time{}, false, errors.New("want hh:mm or hh:mm:ss[.fraction] after the date")
	}
	offset := 0
	switch c := p.peek(); c {
	case 0:
	case 'Z', 'z':
		p.next()
	case '+', '-':
		p.next()
		oh := p.digits(2)
		om := 0
		if p.peek() == ':' {
			p.next()
			om = p.digits(2)
		} else if !p.done() {
			om = p.digits(2)
		}
		if p.err != nil || oh > 23 || om > 59 {
			return time.Time{}, false, errors.New("want a UTC offset Z, +hh, +hhmm or +hh:mm")
		}
		offset = oh*3600 + om*60
		if c == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false, errors.New("want a UTC offset Z, +hh, +hhmm or +hh:mm after the time")
	}
	if !p.done() {
		return time.Time{}, false, fmt.Errorf("unexpected %q after the time", s[p.i:])
	}
	if hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false, errors.New("no such time of day")
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.FixedZone("", offset))
	if t.Month() != time.Month(month) || t.Day() != day || month < 1 {
		return time.Time{}, false, fmt.Errorf("no such date %s", s[:10])
	}
	t = t.UTC()
	// RFC 3339, and so the profile output, has four-digit years.
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, false, errors.New("outside the years 0001 to 9999 (UTC)")
	}
	return t, false, nil
}

type isoScanner struct {
	s   string
	i   int
	err error
}

func (p *isoScanner) done() bool { return p.i >= len(p.s) }

func (p *isoScanner) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *isoScanner) next() byte {
	if p.done() {
		p.err = errors.New("unexpected end")
		return 0
	}
	c := p.s[p.i]
	p.i++
	return c
}

func (p *isoScanner) expect(c byte) {
	if p.next() != c && p.err == nil {
		p.err = fmt.Errorf("want %q", c)
	}
}

func (p *isoScanner) digits(n int) int {
	v := 0
	for range n {
		c := p.next()
		if c < '0' || c > '9' {
			if p.err == nil {
				p.err = errors.New("want a digit")
			}
			return 0
		}
		v = v*10 + int(c-'0')
	}
	return v
}
