// Package profileavro is the typed, versioned contract of the profiles
// topic: the profile's Avro schema generated from the data dictionary, a
// fast encoder of profiles to the Confluent wire format, registration with
// a BACKWARD compatibility check that names the attribute at fault, and the
// same contract as JSON Schema (draft 2020-12) for the JSON output.
//
// # The record
//
//	record profiled.Profile
//	  profile_id  string
//	  version     long                          grows by one per emitted change
//	  updated_at  long (timestamp-micros)       event time of the newest change
//	  attributes  record profiled.Attributes    every attribute, sorted by name,
//	                                            each ["null", T] with default null
//	  changed     array<string>                 attributes that changed
//
// Attribute types: string → string, int → long, float → double,
// bool → boolean, date → int (date), timestamp → long (timestamp-micros),
// decimal with a scale → bytes (decimal, precision 38, that scale), and a
// decimal without a fixed scale → string (its text, since Avro decimals
// have one scale). Each field's doc is the attribute's description followed
// by where its value comes from (the sources and columns that map it, the
// collection it is derived from, or the sources that count it).
//
// The schema text is deterministic: the same dictionary gives the same
// bytes, so an unchanged configuration registers nothing new.
package profileavro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/dictionary"
)

// Names of the generated record types.
const (
	Namespace      = "profiled"
	RecordName     = "Profile"
	AttributesName = "Attributes"
)

// DecimalPrecision is the precision declared for decimal attributes: the
// dictionary has none, and 38 digits is the widest many consumers (Spark,
// most SQL engines' DECIMAL) accept. The encoder refuses a larger value.
const DecimalPrecision = 38

// Schema is the generated profile schema.
type Schema struct {
	// JSON is the schema text as registered.
	JSON string
	// Avro is JSON parsed.
	Avro avro.Schema
	// attrs are the attributes in field order, for the encoder.
	attrs []attrField
}

type attrField struct {
	name   string
	kind   schemas.Kind
	scale  int32 // decimal: the scale, -1 for the string form
	doc    string
	avroTy any
}

var avroName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Generate builds the profile schema of a dictionary.
func Generate(d *dictionary.File) (*Schema, error) {
	s := &Schema{}
	for _, name := range d.Names {
		a := d.Attributes[name]
		if !avroName.MatchString(name) {
			return nil, fmt.Errorf("attribute %q: not a valid Avro field name (letters, digits and _, not starting with a digit)", name)
		}
		f := attrField{name: name, kind: a.Type, scale: a.Scale, doc: attributeDoc(d, a)}
		switch a.Type {
		case schemas.KindString:
			f.avroTy = "string"
		case schemas.KindInt:
			f.avroTy = "long"
		case schemas.KindFloat:
			f.avroTy = "double"
		case schemas.KindBool:
			f.avroTy = "boolean"
		case schemas.KindDate:
			f.avroTy = logical{Type: "int", LogicalType: "date"}
		case schemas.KindTimestamp:
			f.avroTy = logical{Type: "long", LogicalType: "timestamp-micros"}
		case schemas.KindDecimal:
			if a.Scale < 0 {
				f.avroTy = "string"
			} else {
				f.avroTy = decimal{Type: "bytes", LogicalType: "decimal", Precision: DecimalPrecision, Scale: a.Scale}
			}
		default:
			return nil, fmt.Errorf("attribute %q: type %s has no Avro mapping", name, a.Type)
		}
		s.attrs = append(s.attrs, f)
	}
	text, err := s.render()
	if err != nil {
		return nil, err
	}
	s.JSON = text
	if s.Avro, err = parse(text); err != nil {
		return nil, fmt.Errorf("generated profile schema does not parse: %w", err)
	}
	return s, nil
}

// parse parses a schema with its own name cache, so that versions of the
// same record name never meet in hamba/avro's package-wide cache.
func parse(text string) (avro.Schema, error) {
	return avro.ParseWithCache(text, "", &avro.SchemaCache{})
}

// The JSON shapes of the schema, in the order fields are written.
type (
	record struct {
		Type      string  `json:"type"`
		Name      string  `json:"name"`
		Namespace string  `json:"namespace,omitempty"`
		Doc       string  `json:"doc,omitempty"`
		Fields    []field `json:"fields"`
	}
	field struct {
		Name    string `json:"name"`
		Type    any    `json:"type"`
		Default any    `json:"default,omitempty"`
		Doc     string `json:"doc,omitempty"`
	}
	logical struct {
		Type        string `json:"type"`
		LogicalType string `json:"logicalType"`
	}
	decimal struct {
		Type        string `json:"type"`
		LogicalType string `json:"logicalType"`
		Precision   int    `json:"precision"`
		Scale       int32  `json:"scale"`
	}
	array struct {
		Type  string `json:"type"`
		Items string `json:"items"`
	}
	// nullDefault marshals as null: a field with "default": null.
	nullDefault struct{}
)

func (nullDefault) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func (s *Schema) render() (string, error) {
	attrs := record{Type: "record", Name: AttributesName,
		Doc:    "The profile's attributes as the data dictionary declares them; null when the profile has no value.",
		Fields: make([]field, 0, len(s.attrs))}
	for _, a := range s.attrs {
		attrs.Fields = append(attrs.Fields, field{Name: a.name, Type: []any{"null", a.avroTy}, Default: nullDefault{}, Doc: a.doc})
	}
	top := record{Type: "record", Name: RecordName, Namespace: Namespace,
		Doc: "One version of a customer profile, keyed by profile_id on a compacted topic. Generated by profiled from the data dictionary.",
		Fields: []field{
			{Name: "profile_id", Type: "string", Doc: "The profile's id; also the record key."},
			{Name: "version", Type: "long", Doc: "Grows by one with each emitted change of the profile."},
			{Name: "updated_at", Type: logical{Type: "long", LogicalType: "timestamp-micros"},
				Doc: "Event time of the newest change that altered the profile."},
			{Name: "attributes", Type: attrs},
			{Name: "changed", Type: array{Type: "array", Items: "string"}, Doc: "Names of the attributes this version changed, sorted."},
		}}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // docs are text; "<" is not a threat in a schema
	if err := enc.Encode(top); err != nil {
		return "", fmt.Errorf("rendering the profile schema: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// attributeDoc is the description followed by where the value comes from.
func attributeDoc(d *dictionary.File, a *dictionary.Attribute) string {
	var parts []string
	if desc := strings.TrimSpace(a.Description); desc != "" {
		if !strings.HasSuffix(desc, ".") {
			desc += "."
		}
		parts = append(parts, desc)
	}
	if a.Derive != nil {
		parts = append(parts, "Derived: "+deriveText(a.Derive)+".")
	}
	var mapped, counted []string
	for _, src := range d.Sources {
		for _, m := range src.Attributes {
			if m.Target != a {
				continue
			}
			from := strings.Join(m.From, " or ")
			if m.EventTime {
				from = "its event time"
			}
			mapped = append(mapped, fmt.Sprintf("%s (%s)", src.Name, from))
		}
		for _, c := range src.Counters {
			if c.Target == a {
				counted = append(counted, src.Name)
			}
		}
	}
	if len(mapped) > 0 {
		parts = append(parts, "Sources: "+strings.Join(mapped, ", ")+".")
	}
	if len(counted) > 0 {
		parts = append(parts, "Counted from: "+strings.Join(counted, ", ")+".")
	}
	return strings.Join(parts, " ")
}

func deriveText(dv *dictionary.Derive) string {
	s := dv.Aggregate + " of " + dv.Collection
	if dv.Field != "" {
		s = dv.Aggregate + " of " + dv.Collection + "." + dv.Field
	}
	var conds []string
	for _, w := range dv.Where {
		vals := slices.Clone(w.Values)
		conds = append(conds, fmt.Sprintf("%s %s %s", w.Field, strings.ReplaceAll(w.Op, "_", " "), strings.Join(vals, ", ")))
	}
	if len(conds) > 0 {
		s += " where " + strings.Join(conds, " and ")
	}
	return s
}
