package profileavro

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// Problem is one reason a new profile schema cannot read what the
// registered one wrote.
type Problem struct {
	// Attribute names the attribute (or top-level field, prefixed with
	// "profile.") at fault; empty when the problem is the record itself.
	Attribute string
	Reason    string
}

func (p Problem) String() string {
	if p.Attribute == "" {
		return p.Reason
	}
	return p.Attribute + ": " + p.Reason
}

// Report is the outcome of a compatibility check against a subject.
type Report struct {
	Subject string
	// Latest is the version the schema was checked against, 0 when the
	// subject has none yet (anything is compatible then).
	Latest   int
	LatestID int
	// Same is true when the latest version is this very schema.
	Same     bool
	Problems []Problem
}

// Compatible reports whether the schema may be registered.
func (r Report) Compatible() bool { return len(r.Problems) == 0 }

// IncompatibleError refuses a schema that breaks BACKWARD compatibility.
type IncompatibleError struct{ Report Report }

func (e *IncompatibleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the profile schema is not BACKWARD compatible with version %d of subject %s (consumers could not read the profiles already written):",
		e.Report.Latest, e.Report.Subject)
	for _, p := range e.Report.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Check compares s with the latest version registered under subject, as
// a registry with BACKWARD compatibility would, but with hamba/avro's
// compatibility rules (registries differ, and some accept anything) and
// attribute by attribute, so that the report names what broke.
//
// Beyond Avro's rules it also refuses a changed logical type or decimal
// scale: Avro resolves those (a long is a long), but a consumer would read
// old values in the wrong unit.
func Check(ctx context.Context, cl *sr.Client, subject string, s *Schema) (Report, error) {
	rep := Report{Subject: subject}
	latest, err := cl.SchemaByVersion(ctx, subject, -1)
	if err != nil {
		if re, ok := errors.AsType[*sr.ResponseError](err); ok && re.StatusCode == http.StatusNotFound {
			return rep, nil // a new subject
		}
		return rep, fmt.Errorf("reading the latest version of subject %s: %w", subject, err)
	}
	rep.Latest, rep.LatestID = latest.Version, latest.ID
	if latest.Type != sr.TypeAvro {
		rep.Problems = append(rep.Problems, Problem{Reason: fmt.Sprintf("the registered schema is %s, not Avro", latest.Type)})
		return rep, nil
	}
	writer, err := parse(latest.Schema.Schema)
	if err != nil {
		rep.Problems = append(rep.Problems, Problem{Reason: fmt.Sprintf("the registered schema does not parse: %v", err)})
		return rep, nil
	}
	rep.Same = writer.Fingerprint() == s.Avro.Fingerprint()
	rep.Problems = compare(s.Avro, writer)
	return rep, nil
}

// Register checks s against the latest version under subject and, when
// compatible, registers it (a new version, or the existing id when it is
// already registered). It returns the schema id to encode with. An
// incompatible schema is refused with *IncompatibleError, and so is one a
// registry refuses with HTTP 409.
func Register(ctx context.Context, cl *sr.Client, subject string, s *Schema) (int, Report, error) {
	rep, err := Check(ctx, cl, subject, s)
	if err != nil {
		return 0, rep, err
	}
	if !rep.Compatible() {
		return 0, rep, &IncompatibleError{Report: rep}
	}
	id, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: s.JSON, Type: sr.TypeAvro}, -1, -1)
	if err != nil {
		// Registries answer 409 with error_code 409 or, since 2025, 40901.
		if re, ok := errors.AsType[*sr.ResponseError](err); ok && re.StatusCode == http.StatusConflict {
			rep.Problems = append(rep.Problems, Problem{Reason: "the registry refused it: " + re.Message})
			return 0, rep, &IncompatibleError{Report: rep}
		}
		return 0, rep, fmt.Errorf("registering the profile schema under subject %s: %w", subject, err)
	}
	return id, rep, nil
}

var compat = avro.NewSchemaCompatibility()

// compare lists why reader cannot read what writer wrote, field by field:
// the top-level fields of the profile record, then each attribute.
func compare(reader, writer avro.Schema) []Problem {
	r, rok := reader.(*avro.RecordSchema)
	w, wok := writer.(*avro.RecordSchema)
	if !rok || !wok {
		if err := compat.Compatible(reader, writer); err != nil {
			return []Problem{{Reason: err.Error()}}
		}
		return nil
	}
	var out []Problem
	if r.FullName() != w.FullName() {
		out = append(out, Problem{Reason: fmt.Sprintf("the record is named %s, the registered one %s", r.FullName(), w.FullName())})
	}
	out = append(out, compareFields(r, w, "profile.", func(rf, wf *avro.Field) []Problem {
		ra, rIsRec := rf.Type().(*avro.RecordSchema)
		wa, wIsRec := wf.Type().(*avro.RecordSchema)
		if rf.Name() == "attributes" && rIsRec && wIsRec {
			if ra.FullName() != wa.FullName() {
				return []Problem{{Attribute: "profile.attributes", Reason: fmt.Sprintf("the record is named %s, the registered one %s", ra.FullName(), wa.FullName())}}
			}
			return compareFields(ra, wa, "", nil)
		}
		return nil
	})...)
	if len(out) == 0 {
		// Anything the field-by-field walk does not look at (a changed
		// array item type, say) still has to pass Avro's own check.
		if err := compat.Compatible(reader, writer); err != nil {
			out = append(out, Problem{Reason: err.Error()})
		}
	}
	return out
}

// compareFields checks each field of the reader record against the
// writer's field of the same name; nested, when given, handles a field
// itself (returning its problems) instead of the type check.
func compareFields(r, w *avro.RecordSchema, prefix string, nested func(rf, wf *avro.Field) []Problem) []Problem {
	var out []Problem
	byName := map[string]*avro.Field{}
	for _, f := range w.Fields() {
		byName[f.Name()] = f
	}
	for _, rf := range r.Fields() {
		name := prefix + rf.Name()
		wf, ok := byName[rf.Name()]
		if !ok {
			if !rf.HasDefault() {
				out = append(out, Problem{Attribute: name, Reason: fmt.Sprintf(
					"added as %s without a default; records written before have no value for it (make it nullable with default null)", typeText(rf.Type()))})
			}
			continue
		}
		if nested != nil && rf.Name() == "attributes" {
			out = append(out, nested(rf, wf)...)
			continue
		}
		if err := compat.Compatible(rf.Type(), wf.Type()); err != nil {
			out = append(out, Problem{Attribute: name, Reason: fmt.Sprintf("type changed from %s to %s, which cannot read the old values (%v)",
				typeText(wf.Type()), typeText(rf.Type()), err)})
			continue
		}
		if rl, wl := logicalText(rf.Type()), logicalText(wf.Type()); rl != wl {
			out = append(out, Problem{Attribute: name, Reason: fmt.Sprintf("type changed from %s to %s: the old values would be read in the wrong unit or scale",
				typeText(wf.Type()), typeText(rf.Type()))})
		}
	}
	return out
}

// nonNull returns the one non-null branch of a nullable union, or s.
func nonNull(s avro.Schema) avro.Schema {
	u, ok := s.(*avro.UnionSchema)
	if !ok || !u.Nullable() {
		return s
	}
	for _, t := range u.Types() {
		if t.Type() != avro.Null {
			return t
		}
	}
	return s
}

// logicalText describes the logical type of a (nullable) schema; "" for
// none.
func logicalText(s avro.Schema) string {
	lt, ok := nonNull(s).(avro.LogicalTypeSchema)
	if !ok || lt.Logical() == nil {
		return ""
	}
	if d, ok := lt.Logical().(*avro.DecimalLogicalSchema); ok {
		return fmt.Sprintf("decimal(%d,%d)", d.Precision(), d.Scale())
	}
	return string(lt.Logical().Type())
}

// typeText names a field type for messages: "long", "nullable
// timestamp-micros", "nullable decimal(38,2)".
func typeText(s avro.Schema) string {
	t := nonNull(s)
	name := string(t.Type())
	if l := logicalText(t); l != "" {
		name = l
	}
	if t != s {
		return "nullable " + name
	}
	return name
}
