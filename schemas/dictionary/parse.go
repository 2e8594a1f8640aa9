package dictionary

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/profiled/profiled/schemas"
)

// The words the format allows, in the order messages list them.
var (
	typeNames      = []string{"string", "int", "float", "bool", "decimal", "timestamp", "date"}
	policyNames    = []string{string(PolicyLWW), string(PolicyFirst), string(PolicyMax), string(PolicyMin), string(PolicyPriority)}
	validatorNames = []string{"required", "email", "one_of", "range", "length", "pattern"}
	aggregateNames = []string{"count", "sum", "max", "min"}
	whereOps       = []string{"in", "not_in", "eq", "ne"}
	formatNames    = []string{string(FormatDebeziumJSON), string(FormatDebeziumAvro), string(FormatSegment)}
	onDeleteNames  = []string{"clear", "ignore"}
	eventTimeForms = []string{"source.ts_ms", "source.ts_us", "source.ts_ns", "field:<path>"}

	topKeys       = []string{"pipeline", "kafka", "store", "registry", "output", "sinks", "attributes", "collections", "sources"}
	pipelineKeys  = []string{"group", "profiles_topic", "dlq_topic", "partitions"}
	attributeKeys = []string{"type", "description", "normalize", "validate", "policy", "scale", "derive"}
	fieldKeys     = []string{"type", "description", "normalize", "validate", "scale"}
	sourceKeys    = []string{"name", "topic", "topic_pattern", "format", "priority", "profile_id",
		"event_time", "on_delete", "types", "attributes", "entity", "count"}

	// knownSemantics are the Connect schema names a type hint may give: the
	// ones that change how a JSON value is read (times encoded as numbers,
	// decimals encoded as bytes). A typo here would silently turn
	// timestamps into plain integers, so the list is closed.
	knownSemantics = []string{
		"io.debezium.time.Date", "io.debezium.time.Time", "io.debezium.time.MicroTime",
		"io.debezium.time.NanoTime", "io.debezium.time.Timestamp", "io.debezium.time.MicroTimestamp",
		"io.debezium.time.NanoTimestamp", "io.debezium.time.ZonedTimestamp", "io.debezium.time.ZonedTime",
		"io.debezium.time.IsoDate", "io.debezium.time.IsoTime", "io.debezium.time.IsoTimestamp",
		"io.debezium.time.Year",
		"org.apache.kafka.connect.data.Date", "org.apache.kafka.connect.data.Time",
		"org.apache.kafka.connect.data.Timestamp", decimalSemantic,
		"io.debezium.data.VariableScaleDecimal",
	}
)

const decimalSemantic = "org.apache.kafka.connect.data.Decimal"

func load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load data dictionary: %w", err)
	}
	return parse(data, path)
}

func parse(data []byte, name string) (*File, error) {
	p := &parser{
		reader:  reader{file: name},
		f:       &File{Path: name, Attributes: map[string]*Attribute{}, Collections: map[string]*Collection{}},
		mapped:  map[*Attribute][]ref{},
		counted: map[*Attribute][]ref{},
	}
	if body, ok := p.parseYAML(data); ok {
		p.top(body)
	}
	if err := p.result(); err != nil {
		return nil, err
	}
	return p.f, nil
}

// parser checks one file; semantic checks across sections need the state
// below.
type parser struct {
	reader
	f       *File
	order   []*attrInfo          // profile attributes in file order
	mapped  map[*Attribute][]ref // where sources map onto an attribute
	counted map[*Attribute][]ref // where sources count into an attribute
}

// attrInfo is what the later checks need to know about an attribute.
type attrInfo struct {
	a          *Attribute
	what       string
	policyLine int // 0 when the policy was not given
	derive     *entry
	deriveLine int
}

// ref is a use of an attribute by a source.
type ref struct {
	source string
	what   string
	line   int
}

func (p *parser) top(body ast.Node) {
	top, ok := p.object(body, 1, "top level", topKeys...)
	if !ok {
		return
	}
	get := func(k string) entry { e, _ := top.get(k); return e }
	p.pipeline(get("pipeline"))
	p.kafka(get("kafka"))
	p.store(get("store"))
	if e, has := top.get("registry"); has {
		p.f.Registry = p.registry(e)
	}
	p.attributes(get("attributes"))
	p.collections(get("collections"))
	// Derivations refer to collections, which may come later in the file.
	for _, info := range p.order {
		if info.derive != nil {
			p.derive(info)
		}
	}
	p.sources(get("sources"))
	p.output(get("output"))
	p.sinks(get("sinks"))
	p.crossChecks()
}

// --- pipeline ---

// topicRE is what Kafka accepts as a topic name (length is checked apart).
var topicRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

func (p *parser) topicName(e entry, what string) (string, bool) {
	s, ok := p.name(e.value, e.line, what)
	if !ok {
		return "", false
	}
	if len(s) > 249 || !topicRE.MatchString(s) || s == "." || s == ".." {
		p.errorf(lineOf(e.value, e.line), "%s: %s is not a valid Kafka topic name "+
			"(letters, digits, '.', '_' and '-', at most 249 characters)", what, clip(s))
		return "", false
	}
	return s, true
}

func (p *parser) pipeline(e entry) {
	pl := Pipeline{Group: "profiled", ProfilesTopic: "profiles", DLQTopic: "profiled.dlq", Partitions: 6}
	o, _ := p.object(e.value, e.line, "pipeline", pipelineKeys...)
	// The group also prefixes internal topic names, so it obeys the same rules.
	if x, has := o.get("group"); has {
		if s, ok := p.topicName(x, "pipeline.group"); ok {
			pl.Group = s
		}
	}
	if x, has := o.get("profiles_topic"); has {
		if s, ok := p.topicName(x, "pipeline.profiles_topic"); ok {
			pl.ProfilesTopic = s
		}
	}
	if x, has := o.get("dlq_topic"); has {
		if s, ok := p.topicName(x, "pipeline.dlq_topic"); ok {
			pl.DLQTopic = s
			if s == pl.ProfilesTopic {
				p.errorf(lineOf(x.value, x.line), "pipeline.dlq_topic: %q is also the profiles topic; rejected records must not mix with profiles", s)
			}
		}
	}
	if x, has := o.get("partitions"); has {
		if n, ok := p.integer(x.value, x.line, "pipeline.partitions", 1, 10000); ok {
			pl.Partitions = int(n)
		}
	}
	p.f.Pipeline = pl
}

// --- attributes and collection fields ---

func (p *parser) attributes(e entry) {
	entries, _ := p.mapping(e.value, e.line, "attributes")
	for _, en := range entries {
		what := "attributes." + en.key
		if strings.TrimSpace(en.key) == "" {
			p.errorf(en.line, "attributes: an attribute name must not be empty")
			continue
		}
		info := p.attribute(en, what, attributeKeys)
		p.f.Attributes[en.key] = info.a
		p.f.Names = append(p.f.Names, en.key)
		p.order = append(p.order, info)
	}
	sort.Strings(p.f.Names)
}

func (p *parser) collections(e entry) {
	entries, _ := p.mapping(e.value, e.line, "collections")
	for _, en := range entries {
		what := "collections." + en.key
		if strings.TrimSpace(en.key) == "" {
			p.errorf(en.line, "collections: a collection name must not be empty")
			continue
		}
		c := &Collection{Name: en.key, Fields: map[string]*Attribute{}, Line: en.line}
		p.f.Collections[en.key] = c
		o, _ := p.object(en.value, en.line, what, "fields")
		fe, _ := o.get("fields")
		fields, _ := p.mapping(fe.value, fe.line, what+".fields")
		for _, f := range fields {
			if strings.TrimSpace(f.key) == "" {
				p.errorf(f.line, "%s.fields: a field name must not be empty", what)
				continue
			}
			info := p.attribute(f, what+".fields."+f.key, fieldKeys)
			c.Fields[f.key] = info.a
			c.Names = append(c.Names, f.key)
		}
		sort.Strings(c.Names)
	}
}

// attribute reads the definition of a profile attribute or collection field
// (allowed tells which). Derivations are read later, once collections are
// known.
func (p *parser) attribute(en entry, what string, allowed []string) *attrInfo {
	a := &Attribute{Name: en.key, Scale: -1, Policy: PolicyLWW, Line: en.line}
	info := &attrInfo{a: a, what: what}
	o, ok := p.object(en.value, en.line, what, allowed...)
	if !ok {
		return info
	}
	if te, has := o.get("type"); !has {
		p.errorf(en.line, "%s: missing required key \"type\" (want %s)", what, oneOfText(typeNames))
	} else if s, ok := p.choice(te.value, te.line, what+".type", "type", typeNames); ok {
		a.Type, _ = schemas.ParseKind(s)
	}
	// Checks that depend on the type are skipped when the type is missing or
	// wrong: that one error says it all.
	typed := a.Type != schemas.KindNull
	if x, has := o.get("description"); has {
		a.Description, _ = p.str(x.value, x.line, what+".description")
	}
	if x, has := o.get("scale"); has {
		if n, ok := p.integer(x.value, x.line, what+".scale", 0, 1000); ok {
			if typed && a.Type != schemas.KindDecimal {
				p.errorf(lineOf(x.value, x.line), "%s.scale: scale applies to decimal attributes only; %s has type %s", what, a.Name, a.Type)
			} else {
				a.Scale = int32(n)
			}
		}
	}
	if x, has := o.get("normalize"); has {
		p.normalizers(a, x, what+".normalize", typed)
	}
	if x, has := o.get("validate"); has {
		p.validators(a, x, what+".validate", typed)
	}
	if x, has := o.get("policy"); has {
		info.policyLine = lineOf(x.value, x.line)
		if s, ok := p.choice(x.value, x.line, what+".policy", "policy", policyNames); ok {
			a.Policy = Policy(s)
		}
	}
	if x, has := o.get("derive"); has {
		info.derive = &x
		info.deriveLine = x.line
		// Set now so that the cross checks know it is derived even when the
		// derivation has errors.
		a.Derive = &Derive{}
	}
	return info
}

func (p *parser) normalizers(a *Attribute, e entry, what string, typed bool) {
	items, _ := p.list(e.value, e.line, what)
	for i, it := range items {
		iw := fmt.Sprintf("%s[%d]", what, i)
		il := lineOf(it, e.line)
		var name, arg string
		switch p.resolve(it).(type) {
		case *ast.MappingNode, *ast.MappingValueNode:
			es, _ := p.mapping(it, il, iw)
			if len(es) != 1 {
				p.errorf(il, "%s: want a normalizer name or a one-key mapping such as {e164: US}, got %d keys", iw, len(es))
				continue
			}
			name = es[0].key
			sc, ok := p.scalarOf(es[0].value, es[0].line, iw+"."+name)
			if !ok {
				continue
			}
			if !sc.isNull {
				arg = sc.text
			}
		default:
			s, ok := p.str(it, il, iw)
			if !ok {
				continue
			}
			name = s
		}
		n, err := newNormalizer(name, arg)
		if err != nil {
			msg := fmt.Sprintf("%s: %v", iw, err)
			if g := suggest(name, normalizerNames); g != "" && !contains(normalizerNames, name) {
				msg += fmt.Sprintf("; did you mean %q?", g)
			}
			p.errors(il, msg, err)
			continue
		}
		if typed && a.Type != schemas.KindString {
			p.errorf(il, "%s: normalizer %s applies to string attributes; %s has type %s", iw, name, a.Name, a.Type)
			continue
		}
		a.Normalizers = append(a.Normalizers, n)
	}
}

// errors records msg (already prefixed) wrapping err.
func (p *parser) errors(line int, msg string, err error) {
	p.errs = append(p.errs, &lineError{file: p.file, line: max(line, 1), err: wrapped{msg, err}})
}

// wrapped is an error with its own complete message that still unwraps to
// its cause.
type wrapped struct {
	msg string
	err error
}

func (w wrapped) Error() string { return w.msg }
func (w wrapped) Unwrap() error { return w.err }

func isNumeric(k schemas.Kind) bool {
	return k == schemas.KindInt || k == schemas.KindFloat || k == schemas.KindDecimal
}

func isOrdered(k schemas.Kind) bool {
	return isNumeric(k) || k == schemas.KindTimestamp || k == schemas.KindDate
}

func (p *parser) validators(a *Attribute, e entry, what string, typed bool) {
	o, _ := p.object(e.value, e.line, what, validatorNames...)
	// needs reports (and returns false) when validator v does not apply.
	needs := func(x entry, v string, ok func(schemas.Kind) bool, want string) bool {
		if typed && !ok(a.Type) {
			p.errorf(x.line, "%s.%s: %s applies to %s attributes; %s has type %s", what, v, v, want, a.Name, a.Type)
			return false
		}
		return true
	}
	isString := func(k schemas.Kind) bool { return k == schemas.KindString }
	for _, x := range o.entries {
		vw := what + "." + x.key
		switch x.key {
		case "required":
			if b, ok := p.boolean(x.value, x.line, vw); ok && b {
				a.Validators = append(a.Validators, requiredValidator())
			}
		case "email":
			b, ok := p.boolean(x.value, x.line, vw)
			if ok && needs(x, "email", isString, "string") && b {
				a.Validators = append(a.Validators, emailValidator())
			}
		case "pattern":
			s, ok := p.str(x.value, x.line, vw)
			if !ok || !needs(x, "pattern", isString, "string") {
				continue
			}
			re, err := regexp.Compile(s)
			if err != nil {
				p.errors(lineOf(x.value, x.line), fmt.Sprintf("%s: invalid regular expression: %v", vw, err), err)
				continue
			}
			a.Validators = append(a.Validators, patternValidator(re))
		case "length":
			lo, hi, ok := p.bounds(x, vw, func(n ast.Node, line int, w string) (int64, bool) {
				return p.integer(n, line, w, 0, math.MaxInt32)
			})
			if !ok || !needs(x, "length", isString, "string") {
				continue
			}
			if lo >= 0 && hi >= 0 && lo > hi {
				p.errorf(x.line, "%s: min %d is greater than max %d", vw, lo, hi)
				continue
			}
			a.Validators = append(a.Validators, lengthValidator(lo, hi))
		case "range":
			if !needs(x, "range", isOrdered, "int, float, decimal, timestamp and date") {
				continue
			}
			p.rangeValidator(a, x, vw, typed)
		case "one_of":
			p.oneOf(a, x, vw, typed)
		}
	}
}

// bounds reads {min, max} (at least one) with read; an absent bound is -1.
func (p *parser) bounds(x entry, what string, read func(ast.Node, int, string) (int64, bool)) (lo, hi int64, ok bool) {
	o, ok := p.object(x.value, x.line, what, "min", "max")
	if !ok {
		return 0, 0, false
	}
	lo, hi, ok = -1, -1, true
	if len(o.entries) == 0 {
		p.errorf(x.line, "%s: want min, max or both", what)
		return 0, 0, false
	}
	if e, has := o.get("min"); has {
		v, good := read(e.value, e.line, what+".min")
		lo, ok = v, ok && good
	}
	if e, has := o.get("max"); has {
		v, good := read(e.value, e.line, what+".max")
		hi, ok = v, ok && good
	}
	return lo, hi, ok
}

func (p *parser) rangeValidator(a *Attribute, x entry, what string, typed bool) {
	o, ok := p.object(x.value, x.line, what, "min", "max")
	if !ok {
		return
	}
	if len(o.entries) == 0 {
		p.errorf(x.line, "%s: want min, max or both", what)
		return
	}
	var lo, hi schemas.Value
	good := true
	read := func(key string) schemas.Value {
		e, has := o.get(key)
		if !has {
			return schemas.Null
		}
		w := what + "." + key
		sc, ok := p.scalarOf(e.value, e.line, w)
		if !ok {
			good = false
			return schemas.Null
		}
		if sc.isNull {
			p.errorf(lineOf(e.value, e.line), "%s: want a value, got nothing (null); leave %s out for an open range", w, key)
			good = false
			return schemas.Null
		}
		if (a.Type == schemas.KindTimestamp || a.Type == schemas.KindDate) && !sc.isStr {
			p.errorf(lineOf(e.value, e.line), "%s: want an ISO-8601 string such as \"2024-01-31\" for a %s attribute, got %s",
				w, a.Type, describe(p.resolve(e.value)))
			good = false
			return schemas.Null
		}
		if !typed {
			return schemas.Null
		}
		v, err := configValue(sc, a)
		if err != nil {
			p.errors(lineOf(e.value, e.line), fmt.Sprintf("%s: %v", w, err), err)
			good = false
			return schemas.Null
		}
		return v
	}
	lo, hi = read("min"), read("max")
	if !good || !typed {
		return
	}
	if !lo.IsNull() && !hi.IsNull() && compareValues(lo, hi) > 0 {
		p.errorf(x.line, "%s: min %s is greater than max %s", what, lo.Text(), hi.Text())
		return
	}
	a.Validators = append(a.Validators, rangeValidator(lo, hi))
}

func (p *parser) oneOf(a *Attribute, x entry, what string, typed bool) {
	items, ok := p.list(x.value, x.line, what)
	if !ok {
		return
	}
	if len(items) == 0 {
		p.errorf(lineOf(x.value, x.line), "%s: want at least one value", what)
		return
	}
	var values []schemas.Value
	good := true
	for i, it := range items {
		iw := fmt.Sprintf("%s[%d]", what, i)
		il := lineOf(it, x.line)
		sc, ok := p.scalarOf(it, il, iw)
		if !ok {
			good = false
			continue
		}
		if sc.isNull {
			p.errorf(il, "%s: null is not a value to allow; one_of accepts null anyway unless required is set", iw)
			good = false
			continue
		}
		if !typed {
			continue
		}
		v, err := p.stableValue(sc, a, il, iw)
		if err != nil {
			good = false
			continue
		}
		values = append(values, v)
	}
	if good && typed {
		a.Validators = append(a.Validators, oneOfValidator(values))
	}
}

// configValue converts a value written in the file to attribute a's type.
// Numbers go through their text so that decimals keep every digit.
func configValue(sc scalar, a *Attribute) (schemas.Value, error) {
	var v schemas.Value
	switch {
	case sc.isNull:
		return schemas.Null, nil
	case sc.isBool:
		v = schemas.Bool(sc.b)
	case sc.isInt:
		v = schemas.Int(sc.i)
	default:
		v = schemas.String(sc.text)
	}
	return convert(v, a.Type, a.Scale)
}

// stableValue converts a value written in the file (a one_of entry, a where
// value) and checks that a's normalizers leave it alone: values are compared
// after normalization, so one that normalization would change can never
// match. It reports errors itself.
func (p *parser) stableValue(sc scalar, a *Attribute, line int, what string) (schemas.Value, error) {
	v, err := configValue(sc, a)
	if err != nil {
		p.errors(line, fmt.Sprintf("%s: %v", what, err), err)
		return schemas.Null, err
	}
	n := v
	for _, nz := range a.Normalizers {
		if n, err = nz.Fn(n); err != nil {
			p.errors(line, fmt.Sprintf("%s: %s can never match: normalizer %s rejects it: %v", what, quote(v), nz.Name, err), err)
			return schemas.Null, err
		}
	}
	if !schemas.Equal(n, v) {
		err := fmt.Errorf("%s: %s can never match: %s is normalized, so write it as %s", what, quote(v), a.Name, quote(n))
		p.errors(line, err.Error(), nil)
		return schemas.Null, err
	}
	return v, nil
}

// --- derivations ---

func (p *parser) derive(info *attrInfo) {
	a, e := info.a, *info.derive
	what := info.what + ".derive"
	d := a.Derive
	o, ok := p.object(e.value, e.line, what, "collection", "aggregate", "field", "where")
	if !ok {
		return
	}
	var coll *Collection
	if x, has := o.get("collection"); !has {
		p.errorf(e.line, "%s: missing required key \"collection\"", what)
	} else if s, ok := p.name(x.value, x.line, what+".collection"); ok {
		d.Collection = s
		if coll = p.f.Collections[s]; coll == nil {
			p.unknown(lineOf(x.value, x.line), what+".collection", "collection", s, p.collectionNames())
		}
	}
	aggLine := e.line
	if x, has := o.get("aggregate"); !has {
		p.errorf(e.line, "%s: missing required key \"aggregate\" (want %s)", what, oneOfText(aggregateNames))
	} else {
		aggLine = lineOf(x.value, x.line)
		d.Aggregate, _ = p.choice(x.value, x.line, what+".aggregate", "aggregate", aggregateNames)
	}
	var field *Attribute
	x, hasField := o.get("field")
	switch {
	case hasField && d.Aggregate == "count":
		p.errorf(x.line, "%s.field: count counts entities and takes no field (use where to filter them)", what)
	case hasField:
		if s, ok := p.name(x.value, x.line, what+".field"); ok {
			d.Field = s
			if coll != nil {
				if field = coll.Fields[s]; field == nil {
					p.unknown(lineOf(x.value, x.line), what+".field", "field of collection "+coll.Name, s, coll.Names)
				}
			}
		}
	case d.Aggregate != "" && d.Aggregate != "count":
		p.errorf(e.line, "%s: %s needs a field: the collection field to aggregate", what, d.Aggregate)
	}
	// Type checks: what the aggregate accepts, and whether its result fits
	// the attribute.
	if field != nil && field.Type != schemas.KindNull {
		switch {
		case d.Aggregate == "sum" && !isNumeric(field.Type):
			p.errorf(x.line, "%s.field: sum needs an int, float or decimal field; %s.%s has type %s", what, coll.Name, field.Name, field.Type)
			field = nil
		case (d.Aggregate == "max" || d.Aggregate == "min") && !isOrdered(field.Type):
			p.errorf(x.line, "%s.field: %s needs an int, float, decimal, timestamp or date field; %s.%s has type %s",
				what, d.Aggregate, coll.Name, field.Name, field.Type)
			field = nil
		}
	}
	if a.Type != schemas.KindNull {
		switch d.Aggregate {
		case "count":
			if a.Type != schemas.KindInt {
				p.errorf(aggLine, "%s: count yields an int, but %s has type %s", what, a.Name, a.Type)
			}
		case "sum":
			if !isNumeric(a.Type) {
				p.errorf(aggLine, "%s: sum yields a number, but %s has type %s", what, a.Name, a.Type)
			}
		case "max", "min":
			if field != nil && field.Type != schemas.KindNull && field.Type != a.Type && !(isNumeric(field.Type) && isNumeric(a.Type)) {
				p.errorf(aggLine, "%s: %s of %s.%s yields a %s, but %s has type %s",
					what, d.Aggregate, coll.Name, field.Name, field.Type, a.Name, a.Type)
			}
		}
	}
	if x, has := o.get("where"); has {
		p.where(d, coll, x, what+".where")
	}
}

func (p *parser) where(d *Derive, coll *Collection, e entry, what string) {
	items, _ := p.list(e.value, e.line, what)
	for i, it := range items {
		iw := fmt.Sprintf("%s[%d]", what, i)
		il := lineOf(it, e.line)
		o, ok := p.object(it, il, iw, append([]string{"field"}, whereOps...)...)
		if !ok {
			continue
		}
		var f Filter
		var field *Attribute
		if x, has := o.get("field"); !has {
			p.errorf(il, "%s: missing required key \"field\"", iw)
		} else if s, ok := p.name(x.value, x.line, iw+".field"); ok {
			f.Field = s
			if coll != nil {
				if field = coll.Fields[s]; field == nil {
					p.unknown(lineOf(x.value, x.line), iw+".field", "field of collection "+coll.Name, s, coll.Names)
				}
			}
		}
		var op entry
		for _, x := range o.entries {
			if x.key == "field" {
				continue
			}
			if f.Op != "" {
				p.errorf(x.line, "%s: has both %s and %s; use exactly one of %s", iw, f.Op, x.key, oneOfText(whereOps))
				continue
			}
			f.Op, op = x.key, x
		}
		if f.Op == "" {
			if o.unknown > 0 {
				continue // the unknown key is most likely the misspelt operator
			}
			p.errorf(il, "%s: missing the condition: one of %s", iw, oneOfText(whereOps))
			continue
		}
		ow := iw + "." + f.Op
		var values []ast.Node
		if f.Op == "in" || f.Op == "not_in" {
			values, ok = p.list(op.value, op.line, ow)
			if ok && len(values) == 0 {
				p.errorf(lineOf(op.value, op.line), "%s: want at least one value", ow)
			}
		} else {
			values = []ast.Node{op.value}
		}
		for j, v := range values {
			vw := ow
			if f.Op == "in" || f.Op == "not_in" {
				vw = fmt.Sprintf("%s[%d]", ow, j)
			}
			vl := lineOf(v, op.line)
			sc, ok := p.scalarOf(v, vl, vw)
			if !ok {
				continue
			}
			if sc.isNull {
				// A null field has no text to compare: it is in no list and
				// equal to nothing, so "eq: null" could never hold.
				p.errorf(vl, "%s: null cannot be compared: a null field matches no value (and every ne/not_in)", vw)
				continue
			}
			// Values are compared with the field's Text(), so store them in
			// that canonical form: eq: 10 on a decimal(2) field is "10.00".
			text := sc.text
			if field != nil && field.Type != schemas.KindNull {
				cv, err := p.stableValue(sc, field, vl, vw)
				if err != nil {
					continue
				}
				text = cv.Text()
			}
			f.Values = append(f.Values, text)
		}
		d.Where = append(d.Where, f)
	}
}

// unknown reports a reference to something not defined.
func (p *parser) unknown(line int, what, noun, name string, defined []string) {
	msg := fmt.Sprintf("%s: unknown %s %s", what, noun, clip(name))
	if len(defined) == 0 {
		msg += " (none are defined)"
	} else {
		msg += fmt.Sprintf(" (defined: %s)", strings.Join(shorten(defined), ", "))
		if g := suggest(name, defined); g != "" {
			msg += fmt.Sprintf("; did you mean %q?", g)
		}
	}
	p.errorf(line, "%s", msg)
}

func shorten(names []string) []string {
	if len(names) > 12 {
		return append(slices.Clip(names[:12]), fmt.Sprintf("… (%d in all)", len(names)))
	}
	return names
}

func (p *parser) collectionNames() []string {
	names := make([]string, 0, len(p.f.Collections))
	for n := range p.f.Collections {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// --- sources ---

func (p *parser) sources(e entry) {
	items, _ := p.list(e.value, e.line, "sources")
	names := map[string]int{}
	for i, it := range items {
		s := &Source{Index: i, Line: lineOf(it, e.line), OnDelete: "clear"}
		p.f.Sources = append(p.f.Sources, s)
		p.source(s, it, fmt.Sprintf("sources[%d]", i), names)
	}
}

func (p *parser) source(s *Source, n ast.Node, what string, names map[string]int) {
	// Messages say which source by name, which is what people search the
	// file for; peek at it before the keys are checked.
	if name := p.peekName(n); name != "" {
		what = "sources." + name
	}
	o, ok := p.object(n, s.Line, what, sourceKeys...)
	if !ok {
		return
	}
	if x, has := o.get("name"); !has {
		p.errorf(s.Line, "%s: missing required key \"name\"", what)
	} else if name, ok := p.name(x.value, x.line, what+".name"); ok {
		s.Name = name
		nl := lineOf(x.value, x.line)
		if first, dup := names[name]; dup {
			p.errorf(nl, "%s: duplicate source name %q (first at line %d)", what, name, first)
		} else {
			names[name] = nl
		}
	}

	topic, hasTopic := o.get("topic")
	pattern, hasPattern := o.get("topic_pattern")
	switch {
	case hasTopic && hasPattern:
		p.errorf(pattern.line, "%s: has both topic and topic_pattern; use exactly one", what)
	case hasTopic:
		s.Topic, _ = p.topicName(topic, what+".topic")
	case hasPattern:
		if pat, ok := p.name(pattern.value, pattern.line, what+".topic_pattern"); ok {
			// Anchored: the pattern must match the whole topic name, as in
			// Kafka's own pattern subscriptions; "crm\..*" must not match
			// "old.crm.x".
			re, err := regexp.Compile(`^(?:` + pat + `)$`)
			if err != nil {
				p.errors(lineOf(pattern.value, pattern.line), fmt.Sprintf("%s.topic_pattern: invalid regular expression: %v", what, err), err)
			} else {
				s.Pattern = re
			}
		}
	default:
		p.errorf(s.Line, "%s: missing required key \"topic\" (or \"topic_pattern\" for a regular expression)", what)
	}

	if x, has := o.get("format"); !has {
		p.errorf(s.Line, "%s: missing required key \"format\" (want %s)", what, oneOfText(formatNames))
	} else if f, ok := p.choice(x.value, x.line, what+".format", "format", formatNames); ok {
		s.Format = Format(f)
		if s.Format == FormatDebeziumAvro && p.f.Registry == nil {
			p.errorf(lineOf(x.value, x.line), "%s.format: %s needs a registry: section, where the records' schemas are looked up by id", what, f)
		}
	}
	segment := s.Format == FormatSegment
	onlyDebezium := func(x entry) bool {
		if segment {
			p.errorf(x.line, "%s.%s: applies to %s sources only; this source is %s", what, x.key, FormatDebeziumJSON, s.Format)
			return false
		}
		return true
	}

	if x, has := o.get("priority"); has {
		if v, ok := p.integer(x.value, x.line, what+".priority", math.MinInt32, math.MaxInt32); ok {
			s.Priority = int(v)
		}
	}
	if x, has := o.get("profile_id"); !has {
		p.errorf(s.Line, "%s: missing required key \"profile_id\" (e.g. {field: id})", what)
	} else {
		s.ProfileID = p.idSpec(x, what+".profile_id", true)
	}
	if x, has := o.get("event_time"); has {
		s.EventTime = p.eventTime(x, what+".event_time", segment)
	}
	if x, has := o.get("on_delete"); has && onlyDebezium(x) {
		if v, ok := p.choice(x.value, x.line, what+".on_delete", "on_delete", onDeleteNames); ok {
			s.OnDelete = v
		}
	}
	if x, has := o.get("types"); has && onlyDebezium(x) {
		s.Types = p.typeHints(x, what+".types")
	}
	if x, has := o.get("attributes"); has {
		entries, _ := p.mapping(x.value, x.line, what+".attributes")
		for _, en := range entries {
			mw := what + ".attributes." + en.key
			m := p.mappingSpec(en, mw)
			if m.Target = p.f.Attributes[en.key]; m.Target == nil {
				p.unknown(en.line, what+".attributes", "attribute", en.key, p.f.Names)
				continue
			}
			s.Attributes = append(s.Attributes, m)
			p.mapped[m.Target] = append(p.mapped[m.Target], ref{source: s.Name, what: mw, line: en.line})
		}
	}
	if x, has := o.get("entity"); has {
		s.Entity = p.entity(x, what+".entity")
	}
	if x, has := o.get("count"); has {
		entries, _ := p.mapping(x.value, x.line, what+".count")
		for _, en := range entries {
			cw := what + ".count." + en.key
			c := p.counter(en, cw)
			if c.Target = p.f.Attributes[en.key]; c.Target == nil {
				p.unknown(en.line, what+".count", "attribute", en.key, p.f.Names)
				continue
			}
			if t := c.Target.Type; t != schemas.KindNull && t != schemas.KindInt {
				p.errorf(en.line, "%s: a counter counts into an int attribute; %s has type %s", cw, en.key, t)
			}
			s.Counters = append(s.Counters, c)
			p.counted[c.Target] = append(p.counted[c.Target], ref{source: s.Name, what: cw, line: en.line})
		}
	}
}

// peekName returns the name of a source without reporting anything; ""
// when it has none usable.
func (p *parser) peekName(n ast.Node) string {
	m, ok := p.resolve(n).(*ast.MappingNode)
	if !ok {
		return ""
	}
	for _, mv := range m.Values {
		k, kok := p.resolve(mv.Key).(*ast.StringNode)
		v, vok := p.resolve(mv.Value).(*ast.StringNode)
		if kok && vok && k.Value == "name" && strings.TrimSpace(v.Value) != "" {
			return v.Value
		}
	}
	return ""
}

func (p *parser) idSpec(e entry, what string, allowFallback bool) IDSpec {
	var id IDSpec
	keys := []string{"field", "prefix"}
	if allowFallback {
		keys = append(keys, "fallback")
	}
	o, ok := p.object(e.value, e.line, what, keys...)
	if !ok {
		return id
	}
	if x, has := o.get("field"); !has {
		p.errorf(e.line, "%s: missing required key \"field\"", what)
	} else {
		id.Field, _ = p.name(x.value, x.line, what+".field")
	}
	if x, has := o.get("prefix"); has {
		id.Prefix, _ = p.str(x.value, x.line, what+".prefix")
	}
	if x, has := o.get("fallback"); has {
		fb := p.idSpec(x, what+".fallback", false)
		id.Fallback = &fb
	}
	return id
}

func (p *parser) eventTime(e entry, what string, segment bool) string {
	s, ok := p.str(e.value, e.line, what)
	if !ok {
		return ""
	}
	line := lineOf(e.value, e.line)
	switch {
	case s == "":
		return "" // the format's default, written out
	case s == "source.ts_ms" || s == "source.ts_us" || s == "source.ts_ns":
		if segment {
			p.errorf(line, "%s: %s exists in Debezium events only; a segment source uses the event's timestamps (the default) or field:<path>", what, s)
			return ""
		}
		return s
	case strings.HasPrefix(s, "field:"):
		if strings.TrimSpace(strings.TrimPrefix(s, "field:")) == "" {
			p.errorf(line, "%s: field: needs a column or path, e.g. field:updated_at", what)
			return ""
		}
		return s
	}
	p.errorf(line, "%s: unknown event_time form %s (want %s)", what, clip(s), oneOfText(eventTimeForms))
	return ""
}

func (p *parser) typeHints(e entry, what string) map[string]TypeHint {
	entries, _ := p.mapping(e.value, e.line, what)
	if len(entries) == 0 {
		return nil
	}
	hints := make(map[string]TypeHint, len(entries))
	for _, en := range entries {
		hw := what + "." + en.key
		var h TypeHint
		scaleGiven := false
		scaleLine := en.line
		switch p.resolve(en.value).(type) {
		case *ast.MappingNode, *ast.MappingValueNode:
			o, _ := p.object(en.value, en.line, hw, "semantic", "scale")
			if x, has := o.get("semantic"); !has {
				p.errorf(en.line, "%s: missing required key \"semantic\"", hw)
				continue
			} else if h.Semantic, _ = p.name(x.value, x.line, hw+".semantic"); h.Semantic == "" {
				continue
			}
			if x, has := o.get("scale"); has {
				v, ok := p.integer(x.value, x.line, hw+".scale", 0, 1000)
				if !ok {
					continue
				}
				h.Scale, scaleGiven, scaleLine = int32(v), true, x.line
			}
		default:
			var ok bool
			if h.Semantic, ok = p.name(en.value, en.line, hw); !ok {
				continue
			}
		}
		switch {
		case !contains(knownSemantics, h.Semantic):
			p.unknown(en.line, hw, "semantic type", h.Semantic, knownSemantics)
		case h.Semantic == decimalSemantic && !scaleGiven:
			p.errorf(en.line, "%s: %s needs a scale: {semantic: %s, scale: 2}", hw, decimalSemantic, decimalSemantic)
		case h.Semantic != decimalSemantic && scaleGiven:
			p.errorf(scaleLine, "%s.scale: scale applies to %s only", hw, decimalSemantic)
		default:
			hints[en.key] = h
		}
	}
	return hints
}

func (p *parser) entity(e entry, what string) *EntityMapping {
	em := &EntityMapping{}
	o, ok := p.object(e.value, e.line, what, "collection", "key", "fields")
	if !ok {
		return em
	}
	if x, has := o.get("collection"); !has {
		p.errorf(e.line, "%s: missing required key \"collection\"", what)
	} else if s, ok := p.name(x.value, x.line, what+".collection"); ok {
		if em.Collection = p.f.Collections[s]; em.Collection == nil {
			p.unknown(lineOf(x.value, x.line), what+".collection", "collection", s, p.collectionNames())
		}
	}
	if x, has := o.get("key"); !has {
		p.errorf(e.line, "%s: missing required key \"key\" (the column or path holding the entity id)", what)
	} else {
		em.Key, _ = p.name(x.value, x.line, what+".key")
	}
	if x, has := o.get("fields"); has {
		entries, _ := p.mapping(x.value, x.line, what+".fields")
		for _, en := range entries {
			m := p.mappingSpec(en, what+".fields."+en.key)
			if em.Collection == nil {
				continue
			}
			if m.Target = em.Collection.Fields[en.key]; m.Target == nil {
				p.unknown(en.line, what+".fields", "field of collection "+em.Collection.Name, en.key, em.Collection.Names)
				continue
			}
			em.Fields = append(em.Fields, m)
		}
	}
	return em
}

// mappingSpec reads {from, when, required}; the caller resolves the target.
func (p *parser) mappingSpec(en entry, what string) *Mapping {
	m := &Mapping{Line: en.line}
	o, ok := p.object(en.value, en.line, what, "from", "when", "required")
	if !ok {
		return m
	}
	if x, has := o.get("from"); !has {
		p.errorf(en.line, "%s: missing required key \"from\" (a path, a list of paths, or $event_time)", what)
	} else {
		p.from(m, x, what+".from")
	}
	if x, has := o.get("when"); has {
		m.When = p.conditions(x, what+".when")
	}
	if x, has := o.get("required"); has {
		m.Required, _ = p.boolean(x.value, x.line, what+".required")
	}
	return m
}

const eventTimeRef = "$event_time"

func (p *parser) from(m *Mapping, e entry, what string) {
	var items []ast.Node
	list := false
	if _, ok := p.resolve(e.value).(*ast.SequenceNode); ok {
		items, _ = p.list(e.value, e.line, what)
		list = true
		if len(items) == 0 {
			p.errorf(lineOf(e.value, e.line), "%s: want at least one path", what)
			return
		}
	} else {
		items = []ast.Node{e.value}
	}
	for i, it := range items {
		iw := what
		if list {
			iw = fmt.Sprintf("%s[%d]", what, i)
		}
		il := lineOf(it, e.line)
		path, ok := p.name(it, il, iw)
		if !ok {
			continue
		}
		switch {
		case path == eventTimeRef && len(items) == 1:
			m.EventTime = true
		case path == eventTimeRef:
			p.errorf(il, "%s: %s cannot be combined with other paths", iw, eventTimeRef)
		case strings.HasPrefix(path, "$"):
			p.errorf(il, "%s: unknown special value %s (the only one is %s)", iw, clip(path), eventTimeRef)
		default:
			m.From = append(m.From, path)
		}
	}
}

// conditions reads `when`: path -> value or list of values.
func (p *parser) conditions(e entry, what string) []Condition {
	entries, _ := p.mapping(e.value, e.line, what)
	var conds []Condition
	for _, en := range entries {
		cw := what + "." + en.key
		c := Condition{Path: en.key}
		var items []ast.Node
		list := false
		if _, ok := p.resolve(en.value).(*ast.SequenceNode); ok {
			items, _ = p.list(en.value, en.line, cw)
			list = true
			if len(items) == 0 {
				p.errorf(lineOf(en.value, en.line), "%s: want at least one value", cw)
			}
		} else {
			items = []ast.Node{en.value}
		}
		for i, it := range items {
			iw := cw
			if list {
				iw = fmt.Sprintf("%s[%d]", cw, i)
			}
			sc, ok := p.scalarOf(it, lineOf(it, en.line), iw)
			if !ok {
				continue
			}
			if sc.isNull {
				p.errorf(lineOf(it, en.line), "%s: want a value to compare the field's text with, got nothing (null)", iw)
				continue
			}
			c.Values = append(c.Values, sc.text)
		}
		conds = append(conds, c)
	}
	return conds
}

func (p *parser) counter(en entry, what string) *Counter {
	c := &Counter{Line: en.line}
	o, ok := p.object(en.value, en.line, what, "when", "distinct")
	if !ok {
		return c
	}
	if x, has := o.get("when"); has {
		c.When = p.conditions(x, what+".when")
	}
	if x, has := o.get("distinct"); has {
		c.Distinct, _ = p.name(x.value, x.line, what+".distinct")
	}
	return c
}

// crossChecks finds conflicts between sections: an attribute has exactly one
// way of getting its value (mapped, counted or derived).
func (p *parser) crossChecks() {
	for _, info := range p.order {
		a := info.a
		for _, m := range p.mapped[a] {
			switch {
			case a.Derive != nil:
				p.errorf(m.line, "%s: %s is derived (line %d) and cannot also be mapped by a source", m.what, a.Name, info.deriveLine)
			case len(p.counted[a]) > 0:
				c := p.counted[a][0]
				p.errorf(m.line, "%s: %s is a counter (counted by source %s at line %d) and cannot also be mapped",
					m.what, a.Name, c.source, c.line)
			}
		}
		for _, c := range p.counted[a] {
			if a.Derive != nil {
				p.errorf(c.line, "%s: %s is derived (line %d) and cannot also be counted", c.what, a.Name, info.deriveLine)
			}
		}
		a.Counter = len(p.counted[a]) > 0
		if info.policyLine > 0 && a.Policy != PolicyLWW && (a.Derive != nil || a.Counter) {
			kind := "a derived attribute (it is recomputed from its collection)"
			if a.Derive == nil {
				kind = "a counter (it is a running count)"
			}
			p.errorf(info.policyLine, "%s.policy: %s is %s and takes no merge policy; remove policy: %s", info.what, a.Name, kind, a.Policy)
		}
	}
}
