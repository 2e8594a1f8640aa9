package profileavro

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/dictionary"
)

func devDict(t testing.TB) *dictionary.File {
	t.Helper()
	d, err := dictionary.Load(filepath.Join("..", "..", "deploy", "config", "dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func dictOf(t testing.TB, attrs string) *dictionary.File {
	t.Helper()
	d, err := dictionary.Parse([]byte("attributes:\n"+attrs), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func generate(t testing.TB, d *dictionary.File) *Schema {
	t.Helper()
	s, err := Generate(d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newRegistry(t testing.TB) *sr.Client {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestGenerate: the schema of the reference dictionary has every attribute,
// nullable, with its Avro type and a doc naming its description and
// sources; generating twice gives the same bytes.
func TestGenerate(t *testing.T) {
	d := devDict(t)
	s := generate(t, d)
	if again := generate(t, devDict(t)); again.JSON != s.JSON {
		t.Fatal("the schema text differs between two runs")
	}
	rec := s.Avro.(*avro.RecordSchema)
	if rec.FullName() != "profiled.Profile" {
		t.Errorf("record %s", rec.FullName())
	}
	var top []string
	for _, f := range rec.Fields() {
		top = append(top, f.Name())
	}
	if !reflect.DeepEqual(top, []string{"profile_id", "version", "updated_at", "attributes", "changed"}) {
		t.Errorf("fields %v", top)
	}
	attrs := rec.Fields()[3].Type().(*avro.RecordSchema)
	if len(attrs.Fields()) != len(d.Names) {
		t.Fatalf("%d attribute fields, %d attributes", len(attrs.Fields()), len(d.Names))
	}
	wantTypes := map[string]string{
		"email": "nullable string", "order_count": "nullable long", "lifetime_value": "nullable decimal(38,2)",
		"last_order_at": "nullable timestamp-micros", "birth_date": "nullable date", "marketing_opt_in": "nullable boolean",
		"page_views": "nullable long",
	}
	for i, f := range attrs.Fields() {
		if f.Name() != d.Names[i] {
			t.Errorf("field %d is %s, want %s (sorted)", i, f.Name(), d.Names[i])
		}
		if !f.HasDefault() || f.Default() != nil {
			t.Errorf("%s: default %v, want null", f.Name(), f.Default())
		}
		if w, ok := wantTypes[f.Name()]; ok && typeText(f.Type()) != w {
			t.Errorf("%s: %s, want %s", f.Name(), typeText(f.Type()), w)
		}
	}
	docs := map[string]string{}
	for _, f := range attrs.Fields() {
		docs[f.Name()] = f.Doc()
	}
	for name, frags := range map[string][]string{
		"email":          {"Primary email address", "Sources: crm (email), clickstream (traits.email)"},
		"lifetime_value": {"Sum of the totals", "Derived: sum of orders.total where status not in cancelled, refunded"},
		"page_views":     {"Counted from: clickstream"},
		"last_seen_at":   {"Sources: clickstream (its event time)"},
	} {
		for _, frag := range frags {
			if !strings.Contains(docs[name], frag) {
				t.Errorf("%s doc %q lacks %q", name, docs[name], frag)
			}
		}
	}
}

func TestGenerateRejectsNonAvroNames(t *testing.T) {
	_, err := Generate(dictOf(t, "  first-name: {type: string}\n"))
	if err == nil || !strings.Contains(err.Error(), `"first-name"`) {
		t.Errorf("err = %v", err)
	}
}

// TestConsumerReadsProfiles is a consumer written only against the
// registry: it fetches the schema by the id in the record and decodes with
// plain hamba/avro into map[string]any; no code of this project takes part
// in the decoding.
func TestConsumerReadsProfiles(t *testing.T) {
	ctx := context.Background()
	cl := newRegistry(t)
	d := devDict(t)
	s := generate(t, d)
	id, _, err := Register(ctx, cl, "profiles-value", s)
	if err != nil {
		t.Fatal(err)
	}
	enc := NewEncoder(s, id)
	updated := time.Date(2026, 11, 22, 10, 15, 2, 412000000, time.UTC)
	view := map[string]schemas.Value{
		"email":            schemas.String("ann.lee@example.com"),
		"country":          schemas.String("DE"),
		"birth_date":       schemas.Date(-23034),
		"marketing_opt_in": schemas.Bool(true),
		"order_count":      schemas.Int(2),
		"lifetime_value":   {Kind: schemas.KindDecimal, Str: "129.90"},
		"last_order_at":    schemas.Timestamp(time.Date(2026, 11, 21, 18, 2, 11, 0, time.UTC).UnixMicro()),
		"first_name":       schemas.Null,
		"unknown_attr":     schemas.String("ignored"),
	}
	rec, err := enc.Append(nil, "42", 3, updated.UnixMicro(), view, []string{"email", "order_count"})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := enc.Append(nil, "43", 1, updated.UnixMicro(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	// --- the consumer: wire header, schema by id, hamba/avro ---
	consume := func(b []byte) map[string]any {
		t.Helper()
		if b[0] != 0 {
			t.Fatalf("magic byte %d", b[0])
		}
		schemaID := int(b[1])<<24 | int(b[2])<<16 | int(b[3])<<8 | int(b[4])
		got, err := cl.SchemaByID(ctx, schemaID)
		if err != nil {
			t.Fatal(err)
		}
		sch, err := avro.ParseWithCache(got.Schema, "", &avro.SchemaCache{})
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := avro.Unmarshal(sch, b[5:], &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	p := consume(rec)
	if p["profile_id"] != "42" || p["version"] != int64(3) || !p["updated_at"].(time.Time).Equal(updated) {
		t.Errorf("header fields: %v", p)
	}
	if !reflect.DeepEqual(p["changed"], []any{"email", "order_count"}) {
		t.Errorf("changed %v", p["changed"])
	}
	attrs := p["attributes"].(map[string]any)
	want := map[string]any{
		"email": "ann.lee@example.com", "country": "DE", "marketing_opt_in": true, "order_count": int64(2),
		"first_name": nil, "last_name": nil, "phone": nil, "page_views": nil,
	}
	for k, w := range want {
		if !reflect.DeepEqual(unwrapUnion(attrs[k]), w) {
			t.Errorf("%s = %#v, want %#v", k, attrs[k], w)
		}
	}
	if r, ok := unwrapUnion(attrs["lifetime_value"]).(*big.Rat); !ok || r.FloatString(2) != "129.90" {
		t.Errorf("lifetime_value %#v", attrs["lifetime_value"])
	}
	if tm, ok := unwrapUnion(attrs["birth_date"]).(time.Time); !ok || tm.Format(time.DateOnly) != "1906-12-09" {
		t.Errorf("birth_date %#v", attrs["birth_date"])
	}
	if tm, ok := unwrapUnion(attrs["last_order_at"]).(time.Time); !ok || !tm.Equal(time.Date(2026, 11, 21, 18, 2, 11, 0, time.UTC)) {
		t.Errorf("last_order_at %#v", attrs["last_order_at"])
	}
	if len(attrs) != len(d.Names) {
		t.Errorf("%d attributes, want all %d", len(attrs), len(d.Names))
	}
	e := consume(empty)
	if c, _ := e["changed"].([]any); len(c) != 0 {
		t.Errorf("empty changed: %v", e["changed"])
	}
}

// unwrapUnion takes the value out of hamba/avro's generic union form, a
// one-entry map from the branch's type name.
func unwrapUnion(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for _, x := range m {
			return x
		}
	}
	return v
}

// TestEncodeValues round-trips edge values through hamba/avro.
func TestEncodeValues(t *testing.T) {
	d := dictOf(t, `  d2: {type: decimal, scale: 2}
  d0: {type: decimal, scale: 0}
  dx: {type: decimal}
  f: {type: float}
  i: {type: int}
`)
	s := generate(t, d)
	enc := NewEncoder(s, 7)
	cases := []struct {
		d2, d0, dx string
		f          float64
		i          int64
	}{
		{"-0.50", "0", "1.2345", -1.5, -1 << 63},
		{"-128.00", "-128", "-3", 0.1, 1<<63 - 1},
		{"12345678901234567890.12", "-99999999999999999999999999999999999999", "0.000", 1e300, 0},
		{"1.5", "127", "9", 0, 255}, // 1.5: rescaled to 1.50
	}
	var buf []byte
	for _, c := range cases {
		view := map[string]schemas.Value{
			"d2": {Kind: schemas.KindDecimal, Str: c.d2}, "d0": {Kind: schemas.KindDecimal, Str: c.d0},
			"dx": {Kind: schemas.KindDecimal, Str: c.dx}, "f": schemas.Float(c.f), "i": schemas.Int(c.i),
		}
		var err error
		buf, err = enc.Append(buf[:0], "p", 1, 0, view, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := avro.Unmarshal(s.Avro, buf[5:], &out); err != nil {
			t.Fatal(err)
		}
		a := out["attributes"].(map[string]any)
		wantD2, _ := new(big.Rat).SetString(c.d2)
		wantD0, _ := new(big.Rat).SetString(c.d0)
		if r := unwrapUnion(a["d2"]).(*big.Rat); r.Cmp(wantD2) != 0 {
			t.Errorf("d2 %s, want %s", r.FloatString(2), c.d2)
		}
		if r := unwrapUnion(a["d0"]).(*big.Rat); r.Cmp(wantD0) != 0 {
			t.Errorf("d0 %s, want %s", r.FloatString(0), c.d0)
		}
		if unwrapUnion(a["dx"]) != c.dx || unwrapUnion(a["f"]) != c.f || unwrapUnion(a["i"]) != c.i {
			t.Errorf("dx/f/i: %v %v %v", a["dx"], a["f"], a["i"])
		}
	}
	// What does not fit is refused, naming the attribute.
	for _, bad := range []map[string]schemas.Value{
		{"d0": {Kind: schemas.KindDecimal, Str: "1" + strings.Repeat("0", 38)}},
		{"d2": {Kind: schemas.KindDecimal, Str: "1.234"}},
		{"i": schemas.String("7")},
	} {
		out, err := enc.Append([]byte("keep"), "p", 1, 0, bad, nil)
		if !errors.Is(err, ErrValue) || string(out) != "keep" {
			t.Errorf("%v: %q, %v", bad, out, err)
		}
		for name := range bad {
			if err != nil && !strings.Contains(err.Error(), "attribute "+name) {
				t.Errorf("error %q does not name %s", err, name)
			}
		}
	}
}

// TestRegisterCompatibleChange: adding an attribute (nullable, default
// null) and removing one register new versions; an unchanged dictionary
// registers nothing new.
func TestRegisterCompatibleChange(t *testing.T) {
	ctx := context.Background()
	cl := newRegistry(t)
	v1 := generate(t, dictOf(t, "  email: {type: string}\n  age: {type: int}\n"))
	id1, rep, err := Register(ctx, cl, "profiles-value", v1)
	if err != nil || rep.Latest != 0 {
		t.Fatalf("first registration: %v %+v", err, rep)
	}
	again, rep, err := Register(ctx, cl, "profiles-value", v1)
	if err != nil || again != id1 || !rep.Same {
		t.Fatalf("unchanged: id %d (want %d), %+v, %v", again, id1, rep, err)
	}
	v2 := generate(t, dictOf(t, "  email: {type: string}\n  age: {type: int}\n  tier: {type: string, description: Loyalty tier}\n"))
	id2, rep, err := Register(ctx, cl, "profiles-value", v2)
	if err != nil || id2 == id1 || rep.Latest != 1 {
		t.Fatalf("added attribute: id %d, %+v, %v", id2, rep, err)
	}
	v3 := generate(t, dictOf(t, "  email: {type: string}\n  tier: {type: string}\n"))
	if _, rep, err := Register(ctx, cl, "profiles-value", v3); err != nil || rep.Latest != 2 {
		t.Fatalf("removed attribute: %+v, %v", rep, err)
	}
	versions, err := cl.SubjectVersions(ctx, "profiles-value")
	if err != nil || !reflect.DeepEqual(versions, []int{1, 2, 3}) {
		t.Errorf("versions %v, %v", versions, err)
	}
}

// TestRegisterIncompatibleChange: changes that would break consumers of
// the registered schema are refused with the attribute and the reason, and
// nothing is registered.
func TestRegisterIncompatibleChange(t *testing.T) {
	ctx := context.Background()
	cl := newRegistry(t)
	base := "  email: {type: string}\n  country: {type: string}\n  total: {type: decimal, scale: 2}\n  seen: {type: timestamp}\n"
	if _, _, err := Register(ctx, cl, "profiles-value", generate(t, dictOf(t, base))); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		schema *Schema
		attr   string
		reason string
	}{
		{"type changed", generate(t, dictOf(t, strings.Replace(base, "country: {type: string}", "country: {type: int}", 1))),
			"country", "type changed from nullable string to nullable long"},
		{"scale changed", generate(t, dictOf(t, strings.Replace(base, "scale: 2", "scale: 3", 1))),
			"total", "type changed from nullable decimal(38,2) to nullable decimal(38,3)"},
		{"unit changed", generate(t, dictOf(t, strings.Replace(base, "seen: {type: timestamp}", "seen: {type: int}", 1))),
			"seen", "type changed from nullable timestamp-micros to nullable long"},
		{"non-nullable field added", nonNullableAdded(t, generate(t, dictOf(t, base))),
			"loyalty_points", "added as long without a default"},
	}
	for _, c := range cases {
		_, rep, err := Register(ctx, cl, "profiles-value", c.schema)
		ie, ok := errors.AsType[*IncompatibleError](err)
		if !ok {
			t.Errorf("%s: err = %v, want *IncompatibleError", c.name, err)
			continue
		}
		if len(rep.Problems) != 1 || rep.Problems[0].Attribute != c.attr || !strings.Contains(rep.Problems[0].Reason, c.reason) {
			t.Errorf("%s: problems %+v, want %s: %s", c.name, rep.Problems, c.attr, c.reason)
		}
		msg := ie.Error()
		if !strings.Contains(msg, "version 1 of subject profiles-value") || !strings.Contains(msg, c.attr+": "+c.reason) {
			t.Errorf("%s: message %q", c.name, msg)
		}
	}
	if versions, err := cl.SubjectVersions(ctx, "profiles-value"); err != nil || len(versions) != 1 {
		t.Errorf("versions after refusals: %v, %v", versions, err)
	}
}

// nonNullableAdded adds a required attribute field, which the generator
// never writes but a hand-edited schema might.
func nonNullableAdded(t *testing.T, s *Schema) *Schema {
	t.Helper()
	text := strings.Replace(s.JSON, `"fields":[{"name":"country"`, `"fields":[{"name":"loyalty_points","type":"long"},{"name":"country"`, 1)
	if text == s.JSON {
		t.Fatal("no attribute fields found")
	}
	a, err := parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return &Schema{JSON: text, Avro: a}
}

// TestRegistryConflict: a registry that refuses with 409 is reported as
// incompatible too.
func TestRegistryConflict(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != "POST" {
			return false
		}
		w.WriteHeader(409)
		_, _ = w.Write([]byte(`{"error_code":40901,"message":"Schema being registered is incompatible with an earlier schema"}`))
		return true
	})
	_, _, err = Register(context.Background(), cl, "profiles-value", generate(t, dictOf(t, "  email: {type: string}\n")))
	if _, ok := errors.AsType[*IncompatibleError](err); !ok || !strings.Contains(err.Error(), "incompatible with an earlier schema") {
		t.Errorf("err = %v", err)
	}
}

// TestJSONSchema: the export is valid JSON of draft 2020-12, with every
// attribute typed and described, and deterministic.
func TestJSONSchema(t *testing.T) {
	d := devDict(t)
	b, err := JSONSchema(d)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := JSONSchema(devDict(t))
	if !bytes.Equal(b, again) {
		t.Error("not deterministic")
	}
	var doc struct {
		Schema     string `json:"$schema"`
		Properties struct {
			Attributes struct {
				Properties map[string]struct {
					Type        []string `json:"type"`
					Format      string   `json:"format"`
					Pattern     string   `json:"pattern"`
					Description string   `json:"description"`
				} `json:"properties"`
			} `json:"attributes"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != JSONSchemaDialect {
		t.Errorf("$schema %q", doc.Schema)
	}
	props := doc.Properties.Attributes.Properties
	if len(props) != len(d.Names) {
		t.Errorf("%d attributes, want %d", len(props), len(d.Names))
	}
	if p := props["last_order_at"]; p.Format != "date-time" || !reflect.DeepEqual(p.Type, []string{"string", "null"}) {
		t.Errorf("last_order_at %+v", p)
	}
	if p := props["lifetime_value"]; p.Pattern != `^-?[0-9]+\.[0-9]{2}$` {
		t.Errorf("lifetime_value %+v", p)
	}
	if p := props["order_count"]; !reflect.DeepEqual(p.Type, []string{"integer", "null"}) {
		t.Errorf("order_count %+v", p)
	}
	if p := props["email"]; !strings.Contains(p.Description, "Primary email address") {
		t.Errorf("email %+v", p)
	}
}
