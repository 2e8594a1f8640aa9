package debezium

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/profiled/profiled/schemas"
)

// ErrUnavailable is returned (wrapped) by Row.Value for a column that holds
// Debezium's unavailable-value placeholder: Postgres did not send an
// unchanged TOASTed value, so the column must be left as it is rather than
// overwritten (formats.md §1.7). Check with errors.Is, or ask
// Row.Unavailable first.
var ErrUnavailable = errors.New("value unavailable (unchanged TOASTed column)")

// placeholder is the default of the connector option
// unavailable.value.placeholder.
const placeholder = "__debezium_unavailable_value"

// Binary columns carry the placeholder's bytes, which JsonConverter writes
// as base64 (binary.handling.mode=bytes/base64) or hex (mode hex).
var (
	placeholderBase64 = base64.StdEncoding.EncodeToString([]byte(placeholder))
	placeholderHex    = hex.EncodeToString([]byte(placeholder))
)

func (r Row) unavailable(column string) bool {
	f, ok := r.Fields[column]
	return ok && isUnavailable(f.Raw)
}

// isUnavailable reports whether a raw value is the placeholder: the string
// itself (any value starting with it, which covers custom suffixes), its
// binary encodings, or a one-element array holding it (Postgres array
// columns).
func isUnavailable(raw any) bool {
	switch x := raw.(type) {
	case string:
		return strings.HasPrefix(x, placeholder) || x == placeholderBase64 || x == placeholderHex
	case []any:
		if len(x) == 1 {
			s, ok := x[0].(string)
			return ok && strings.HasPrefix(s, placeholder)
		}
	}
	return false
}

func (r Row) value(column string, hint Hint) (schemas.Value, bool, error) {
	f, ok := r.Fields[column]
	if !ok {
		return schemas.Null, false, nil
	}
	if f.Raw == nil {
		return schemas.Null, true, nil
	}
	if isUnavailable(f.Raw) {
		return schemas.Null, true, fmt.Errorf("reading column %q: %w", column, ErrUnavailable)
	}
	v, err := convert(f, hint)
	if err != nil {
		return schemas.Null, true, fmt.Errorf("converting column %q: %w", column, err)
	}
	return v, true, nil
}

// Semantic type names (Connect schema names) the converter understands.
const (
	semDate           = "io.debezium.time.Date"
	semTime           = "io.debezium.time.Time"
	semMicroTime      = "io.debezium.time.MicroTime"
	semNanoTime       = "io.debezium.time.NanoTime"
	semTimestamp      = "io.debezium.time.Timestamp"
	semMicroTimestamp = "io.debezium.time.MicroTimestamp"
	semNanoTimestamp  = "io.debezium.time.NanoTimestamp"
	semZonedTimestamp = "io.debezium.time.ZonedTimestamp"
	semIsoDate        = "io.debezium.time.IsoDate"
	semIsoTime        = "io.debezium.time.IsoTime"
	semIsoTimestamp   = "io.debezium.time.IsoTimestamp"
	semConnectDate    = "org.apache.kafka.connect.data.Date"
	semConnectTime    = "org.apache.kafka.connect.data.Time"
	semConnectTs      = "org.apache.kafka.connect.data.Timestamp"
	semDecimal        = "org.apache.kafka.connect.data.Decimal"
	semVarDecimal     = "io.debezium.data.VariableScaleDecimal"
)

// passThrough are semantic types whose JSON value already is the profile
// value (a string, or an integer in its own unit), read by plain JSON typing.
var passThrough = map[string]bool{
	"io.debezium.time.ZonedTime":      true, // "13:37:03Z": no time-of-day kind
	"io.debezium.time.Year":           true,
	"io.debezium.time.MicroDuration":  true,
	"io.debezium.time.NanoDuration":   true,
	"io.debezium.time.Interval":       true,
	"io.debezium.data.Json":           true,
	"io.debezium.data.Uuid":           true,
	"io.debezium.data.Enum":           true,
	"io.debezium.data.EnumSet":        true,
	"io.debezium.data.Xml":            true,
	"io.debezium.data.Ltree":          true,
	"io.debezium.data.Bits":           true,
	"io.debezium.data.geometry.Point": true,
}

// KnownSemantic reports whether name is a semantic type Row.Value converts
// (or passes through) when given as Hint.Semantic. Configuration loaders can
// use it to reject a misspelt hint early; Row.Value rejects unknown hints.
func KnownSemantic(name string) bool {
	switch name {
	case semDate, semTime, semMicroTime, semNanoTime, semTimestamp, semMicroTimestamp,
		semNanoTimestamp, semZonedTimestamp, semIsoDate, semIsoTime, semIsoTimestamp,
		semConnectDate, semConnectTime, semConnectTs, semDecimal, semVarDecimal:
		return true
	}
	return passThrough[name]
}

// convert types a non-null, available field. The schema's semantic type
// wins, then the hint's, then the schema's literal type, then plain JSON.
//
// Times of day (io.debezium.time.Time, MicroTime, NanoTime, IsoTime and
// Connect Time) become KindInt holding MICROseconds since midnight: the
// value kinds have no time-of-day, and one unit for all of them keeps a
// column comparable when time.precision.mode changes.
func convert(f Field, h Hint) (schemas.Value, error) {
	sem, params := f.Semantic, f.Params
	fromHint := false
	if h.Semantic != "" && !KnownSemantic(sem) {
		// No semantic type in the schema (or none this package knows,
		// such as a table's own struct name): the configured hint says how
		// to read the literal value, e.g. epoch millis in a BIGINT column.
		sem, params, fromHint = h.Semantic, nil, true
	}
	if sem != "" {
		v, handled, err := convertSemantic(sem, f.Type, params, h.Scale, f.Raw)
		if handled {
			return v, err
		}
		if fromHint && !passThrough[sem] {
			return schemas.Null, fmt.Errorf("unsupported type hint %q", sem)
		}
	}
	if f.Type != "" {
		return convertLiteral(f.Type, f.Raw)
	}
	return plain(f.Raw)
}

func convertSemantic(sem, literal string, params map[string]string, hintScale int32, raw any) (v schemas.Value, handled bool, err error) {
	switch sem {
	case semDate, semConnectDate:
		days, err := asInt(raw)
		if err == nil && (days < math.MinInt32 || days > math.MaxInt32) {
			err = fmt.Errorf("date %d days is out of range", days)
		}
		return schemas.Date(days), true, err
	case semTime, semConnectTime:
		return scaled(raw, 1000, schemas.Int)
	case semMicroTime:
		return scaled(raw, 1, schemas.Int)
	case semNanoTime:
		return divided(raw, schemas.Int)
	case semTimestamp, semConnectTs:
		return scaled(raw, 1000, schemas.Timestamp)
	case semMicroTimestamp:
		return scaled(raw, 1, schemas.Timestamp)
	case semNanoTimestamp:
		return divided(raw, schemas.Timestamp)
	case semZonedTimestamp, semIsoTimestamp:
		s, err := asString(raw)
		if err != nil {
			return schemas.Null, true, err
		}
		us, err := parseTimestamp(s)
		return schemas.Timestamp(us), true, err
	case semIsoDate:
		s, err := asString(raw)
		if err != nil {
			return schemas.Null, true, err
		}
		days, err := parseIsoDate(s)
		return schemas.Date(days), true, err
	case semIsoTime:
		s, err := asString(raw)
		if err != nil {
			return schemas.Null, true, err
		}
		us, err := parseIsoTime(s)
		return schemas.Int(us), true, err
	case semDecimal:
		scale := hintScale
		if p, ok := params["scale"]; ok {
			s, err := strconv.ParseInt(p, 10, 32)
			if err != nil {
				return schemas.Null, true, fmt.Errorf("decimal scale parameter %q is not an integer", p)
			}
			scale = int32(s)
		}
		v, err := decimalValue(raw, scale, literal)
		return v, true, err
	case semVarDecimal:
		v, err := variableScaleDecimal(raw)
		return v, true, err
	}
	return schemas.Null, false, nil
}

// scaled reads an integer and multiplies it by mul, refusing overflow.
func scaled(raw any, mul int64, mk func(int64) schemas.Value) (schemas.Value, bool, error) {
	i, err := asInt(raw)
	if err != nil {
		return schemas.Null, true, err
	}
	if i > math.MaxInt64/mul || i < math.MinInt64/mul {
		return schemas.Null, true, fmt.Errorf("%d is out of range", i)
	}
	return mk(i * mul), true, nil
}

// divided reads nanoseconds as microseconds, rounding toward negative
// infinity so that instants before the epoch stay ordered.
func divided(raw any, mk func(int64) schemas.Value) (schemas.Value, bool, error) {
	i, err := asInt(raw)
	if err != nil {
		return schemas.Null, true, err
	}
	return mk(floorDiv(i, 1000)), true, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Postgres ±infinity timestamps: Debezium writes these epoch-µs values for
// MicroTimestamp (PGDOC L2000-2004) and the strings for ZonedTimestamp; the
// same instants keep both encodings comparable.
const (
	positiveInfinityMicros = 9223372036825200000
	negativeInfinityMicros = -9223372036832400000
)

// parseTimestamp reads an ISO-8601 date-time. With an offset ("Z",
// "+00:00") it is that instant; without one it is read as UTC, which is how
// Debezium renders zone-less timestamps (and how the legacy ZonedTimestamp
// values in the fixtures look).
func parseTimestamp(s string) (int64, error) {
	switch s {
	case "infinity", "+infinity":
		return positiveInfinityMicros, nil
	case "-infinity":
		return negativeInfinityMicros, nil
	}
	// time.Parse accepts a fractional second after the seconds field even
	// though the layouts do not mention one.
	t, err := time.Parse("2006-01-02T15:04:05Z07:00", s)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse("2006-01-02T15:04:05", s); err2 != nil {
			return 0, fmt.Errorf("%q is not an ISO-8601 timestamp", s)
		}
	}
	return t.UnixMicro(), nil
}

// parseIsoDate reads "2018-06-20", ignoring an offset suffix ("Z",
// "+02:00") that ISO_DATE may add: a date is a calendar day.
func parseIsoDate(s string) (int64, error) {
	if len(s) < 10 {
		return 0, fmt.Errorf("%q is not an ISO-8601 date", s)
	}
	t, err := time.Parse(time.DateOnly, s[:10])
	if err == nil && len(s) > 10 && !validOffset(s[10:]) {
		err = errors.New("bad offset")
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not an ISO-8601 date", s)
	}
	return floorDiv(t.Unix(), 86400), nil
}

func validOffset(s string) bool {
	if s == "Z" {
		return true
	}
	_, err := time.Parse("-07:00", s)
	return err == nil
}

// parseIsoTime reads "13:37:03.123456" (optionally with an offset, which is
// ignored like ZonedTime's) as microseconds since midnight.
func parseIsoTime(s string) (int64, error) {
	t, err := time.Parse("15:04:05Z07:00", s)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse("15:04:05", s); err2 != nil {
			return 0, fmt.Errorf("%q is not an ISO-8601 time", s)
		}
	}
	return int64(t.Hour())*3600e6 + int64(t.Minute())*60e6 + int64(t.Second())*1e6 + int64(t.Nanosecond())/1000, nil
}

// Guards for decimal input; both are far beyond any CRM or commerce column
// and keep a hostile value from costing quadratic big-number formatting or a
// multi-gigabyte string of zeros.
const (
	maxDecimalScale  = 1000
	maxDecimalBytes  = 1024 // unscaled bytes, about 2466 decimal digits
	maxDecimalDigits = 2600 // length of decimal text
)

// decimalValue reads a Connect Decimal: base64 text of the two's-complement
// big-endian unscaled integer (JsonConverter's default decimal.format), a
// JSON number (decimal.format=NUMERIC), or decimal text when the literal type
// is string.
func decimalValue(raw any, scale int32, literal string) (schemas.Value, error) {
	if scale > maxDecimalScale || scale < -maxDecimalScale {
		return schemas.Null, fmt.Errorf("decimal scale %d is out of range", scale)
	}
	switch x := raw.(type) {
	case string:
		if literal == "string" {
			if len(x) > maxDecimalDigits {
				return schemas.Null, fmt.Errorf("decimal of %d characters is too long", len(x))
			}
			d, err := schemas.ParseDecimal(x)
			if err != nil {
				return schemas.Null, err
			}
			return d.Value(), nil
		}
		u, err := unscaled(x)
		if err != nil {
			return schemas.Null, err
		}
		return decimalOf(u, scale), nil
	case json.Number:
		if len(x) > maxDecimalDigits {
			return schemas.Null, fmt.Errorf("decimal of %d characters is too long", len(x))
		}
		d, err := parseDecimalNumber(string(x))
		if err != nil {
			return schemas.Null, err
		}
		if d.Scale < scale {
			d = d.Rescale(scale)
		} else if d.Scale > scale && scale >= 0 {
			r := d.Rescale(scale)
			if r.Cmp(d) != 0 {
				return schemas.Null, fmt.Errorf("%s has more than %d fraction digits", x, scale)
			}
			d = r
		}
		return d.Value(), nil
	}
	return schemas.Null, fmt.Errorf("want base64 decimal bytes, got %s", describe(raw))
}

// decimalOf builds the value; a negative scale (allowed by Connect) is
// folded into the unscaled integer so the text has no exponent.
func decimalOf(u *big.Int, scale int32) schemas.Value {
	if scale < 0 {
		u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil))
		scale = 0
	}
	return schemas.DecimalFromUnscaled(u, scale).Value()
}

// unscaled decodes base64 two's-complement big-endian bytes
// (BigInteger.toByteArray()).
func unscaled(s string) (*big.Int, error) {
	if base64.StdEncoding.DecodedLen(len(s)) > maxDecimalBytes+3 {
		return nil, fmt.Errorf("decimal of %d base64 characters is too long", len(s))
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// Jackson pads, but accept unpadded text from other writers.
		var err2 error
		if b, err2 = base64.RawStdEncoding.DecodeString(s); err2 != nil {
			return nil, fmt.Errorf("decimal %q is not base64: %w", s, err)
		}
	}
	if len(b) == 0 {
		return nil, errors.New("decimal has no bytes")
	}
	u := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		u.Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return u, nil
}

// parseDecimalNumber reads JSON number text, including an exponent, exactly.
func parseDecimalNumber(s string) (schemas.Decimal, error) {
	mant, exp := s, int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil || e > maxDecimalScale || e < -maxDecimalScale {
			return schemas.Decimal{}, fmt.Errorf("decimal %s has an exponent out of range", s)
		}
		mant, exp = s[:i], e
	}
	d, err := schemas.ParseDecimal(mant)
	if err != nil {
		return schemas.Decimal{}, err
	}
	sc := int64(d.Scale) - exp
	if sc < 0 {
		d.Unscaled.Mul(d.Unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(-sc), nil))
		sc = 0
	}
	if sc > maxDecimalScale {
		return schemas.Decimal{}, fmt.Errorf("decimal %s has too many fraction digits", s)
	}
	d.Scale = int32(sc)
	return d, nil
}

// variableScaleDecimal reads io.debezium.data.VariableScaleDecimal, the
// struct {"scale": int32, "value": base64 bytes} Postgres NUMERIC without a
// declared scale becomes.
func variableScaleDecimal(raw any) (schemas.Value, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return schemas.Null, fmt.Errorf("want a {scale, value} struct, got %s", describe(raw))
	}
	sc, err := asInt(m["scale"])
	if err != nil {
		return schemas.Null, fmt.Errorf("reading scale: %w", err)
	}
	if sc > maxDecimalScale || sc < -maxDecimalScale {
		return schemas.Null, fmt.Errorf("decimal scale %d is out of range", sc)
	}
	s, ok := m["value"].(string)
	if !ok {
		return schemas.Null, fmt.Errorf("want base64 decimal bytes, got %s", describe(m["value"]))
	}
	u, err := unscaled(s)
	if err != nil {
		return schemas.Null, err
	}
	return decimalOf(u, int32(sc)), nil
}

// convertLiteral types a value by its Connect literal type.
func convertLiteral(typ string, raw any) (schemas.Value, error) {
	switch typ {
	case "int8", "int16", "int32", "int64":
		i, err := asInt(raw)
		if err != nil {
			return schemas.Null, err
		}
		var lo, hi int64 = math.MinInt64, math.MaxInt64
		switch typ {
		case "int8":
			lo, hi = math.MinInt8, math.MaxInt8
		case "int16":
			lo, hi = math.MinInt16, math.MaxInt16
		case "int32":
			lo, hi = math.MinInt32, math.MaxInt32
		}
		if i < lo || i > hi {
			return schemas.Null, fmt.Errorf("%d is out of range for %s", i, typ)
		}
		return schemas.Int(i), nil
	case "float", "float32", "double", "float64":
		f, err := asFloat(raw)
		return schemas.Float(f), err
	case "boolean":
		b, ok := raw.(bool)
		if !ok {
			return schemas.Null, fmt.Errorf("want a boolean, got %s", describe(raw))
		}
		return schemas.Bool(b), nil
	case "string", "bytes":
		// bytes stay the base64 text JsonConverter wrote.
		s, err := asString(raw)
		return schemas.String(s), err
	}
	return plain(raw)
}

// plain types a value by its JSON type alone.
func plain(raw any) (schemas.Value, error) {
	switch x := raw.(type) {
	case nil:
		return schemas.Null, nil
	case string:
		return schemas.String(x), nil
	case bool:
		return schemas.Bool(x), nil
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			if i, ok := parseInt([]byte(x)); ok {
				return schemas.Int(i), nil
			}
			// An integer beyond int64 (MySQL BIGINT UNSIGNED in precise
			// mode has a schema; without one this is the closest reading).
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return schemas.Null, fmt.Errorf("number %s is out of range", x)
		}
		return schemas.Float(f), nil
	case float64:
		return schemas.Float(x), nil
	case int64:
		return schemas.Int(x), nil
	case int:
		return schemas.Int(int64(x)), nil
	case map[string]any, []any:
		return schemas.String(jsonText(x)), nil
	}
	return schemas.Null, fmt.Errorf("unsupported raw value of type %T", raw)
}

// jsonText renders a nested value as compact JSON with sorted keys, so equal
// values render equally. HTML characters are not escaped: the text is data.
func jsonText(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only values not produced by the decoder (channels, NaN floats in
		// a hand-built Field) can fail; fall back to Go syntax.
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func asInt(raw any) (int64, error) {
	switch x := raw.(type) {
	case json.Number:
		if i, ok := parseInt([]byte(x)); ok {
			return i, nil
		}
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return int64(x), nil
		}
	}
	return 0, fmt.Errorf("want an integer, got %s", describe(raw))
}

// asFloat reads a number. Jackson writes NaN and infinities as the strings
// "NaN", "Infinity" and "-Infinity" (Postgres NaN in double mode).
func asFloat(raw any) (float64, error) {
	switch x := raw.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err == nil {
			return f, nil
		}
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case int:
		return float64(x), nil
	case string:
		switch x {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
	}
	return 0, fmt.Errorf("want a number, got %s", describe(raw))
}

func asString(raw any) (string, error) {
	s, ok := raw.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", describe(raw))
	}
	return s, nil
}

// describe names a raw value for an error message, quoting at most a short
// prefix of it.
func describe(raw any) string {
	const max = 40
	switch x := raw.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > max {
			return "string " + strconv.Quote(x[:max]) + "..."
		}
		return "string " + strconv.Quote(x)
	case json.Number:
		if len(x) > max {
			return "number " + string(x[:max]) + "..."
		}
		return "number " + string(x)
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", raw)
}
