package merge

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/profiled/profiled/processor/fact"
	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/dictionary"
)

// Cell is the current value of one attribute with what made it win.
type Cell struct {
	Value  schemas.Value
	Stamp  fact.Stamp
	Origin fact.Origin // lineage only; never compared
}

// Entity is one version of an entity of a collection.
type Entity struct {
	Stamp   fact.Stamp
	Deleted bool
	Fields  []fact.Field // sorted by name
	Origin  fact.Origin
}

// State is everything stored for one profile.
type State struct {
	// Version counts emitted changes of the profile.
	Version uint64
	// UpdatedAt is the greatest event time (µs) of a fact that changed the
	// rendered profile.
	UpdatedAt   int64
	Attrs       map[string]*Cell
	Collections map[string]map[string]*Entity
	Counters    map[string]int64
}

// NewState returns an empty state.
func NewState() *State {
	return &State{Attrs: map[string]*Cell{}, Collections: map[string]map[string]*Entity{}, Counters: map[string]int64{}}
}

// Seen reports whether a de-duplication id was already counted. Stage 2
// implements it over its store; the merge core only asks.
type Seen interface {
	// SeenOrAdd reports whether id was counted before for counter name of the
	// profile, and records it if not.
	SeenOrAdd(profile, counter, id string) (bool, error)
}

// Merger applies facts under a data dictionary.
type Merger struct {
	dict *dictionary.File
}

// New returns a merger for the dictionary.
func New(d *dictionary.File) *Merger { return &Merger{dict: d} }

// Apply applies one fact to st. It reports whether the state changed (which
// does not always change the rendered profile). Ops naming attributes or
// collections the dictionary does not know are errors: the fact came from a
// different configuration.
func (m *Merger) Apply(st *State, f *fact.Fact, seen Seen) (bool, error) {
	changed := false
	for i := range f.Ops {
		op := &f.Ops[i]
		var c bool
		var err error
		switch op.Kind {
		case fact.OpSet:
			c, err = m.set(st, f, op)
		case fact.OpUpsert, fact.OpDelete:
			c, err = m.entity(st, f, op)
		case fact.OpCount:
			c, err = m.count(st, f, op, seen)
		default:
			err = fmt.Errorf("unknown op kind %d", op.Kind)
		}
		if err != nil {
			return changed, fmt.Errorf("applying %s to profile %q: %w", op.Name, f.ProfileID, err)
		}
		changed = changed || c
	}
	return changed, nil
}

func (m *Merger) set(st *State, f *fact.Fact, op *fact.Op) (bool, error) {
	a, ok := m.dict.Attributes[op.Name]
	if !ok || a.Derive != nil || a.Counter {
		return false, fmt.Errorf("attribute %q is not a mapped attribute of this dictionary", op.Name)
	}
	cur := st.Attrs[op.Name]
	if cur != nil && !wins(a.Policy, op.Value, f.Stamp, cur.Value, cur.Stamp) {
		return false, nil
	}
	// A duplicate; compared with Compare, not ==, for which -0.0 == 0.0
	// although wins told them apart.
	if cur != nil && schemas.Compare(cur.Value, op.Value) == 0 && cur.Stamp.Compare(f.Stamp) == 0 {
		return false, nil
	}
	if cur == nil && op.Value.IsNull() && a.Policy != dictionary.PolicyLWW && a.Policy != dictionary.PolicyPriority {
		return false, nil // null never wins first/max/min, not even against nothing
	}
	st.Attrs[op.Name] = &Cell{Value: op.Value, Stamp: f.Stamp, Origin: f.Origin}
	return true, nil
}

// wins reports whether the candidate (v, s) beats the current (cv, cs) under
// policy p. Every policy is a strict total order on (key, value) pairs, so
// exactly one of two distinct candidates wins whatever the order they come in.
func wins(p dictionary.Policy, v schemas.Value, s fact.Stamp, cv schemas.Value, cs fact.Stamp) bool {
	switch p {
	case dictionary.PolicyFirst, dictionary.PolicyMax, dictionary.PolicyMin:
		// Null never wins these policies: a delete must not become the
		// "first" or the "max" value.
		if v.IsNull() {
			return false
		}
		if cv.IsNull() {
			return true
		}
	}
	var c int
	switch p {
	case dictionary.PolicyFirst:
		c = -s.Compare(cs)
	case dictionary.PolicyMax:
		c = schemas.Compare(v, cv)
	case dictionary.PolicyMin:
		c = -schemas.Compare(v, cv)
	case dictionary.PolicyPriority:
		c = cmp.Compare(s.Priority, cs.Priority)
	}
	if c == 0 {
		c = s.Compare(cs)
	}
	if c == 0 {
		c = schemas.Compare(v, cv)
	}
	return c > 0
}

func (m *Merger) entity(st *State, f *fact.Fact, op *fact.Op) (bool, error) {
	if _, ok := m.dict.Collections[op.Name]; !ok {
		return false, fmt.Errorf("collection %q is not in this dictionary", op.Name)
	}
	cand := &Entity{Stamp: f.Stamp, Deleted: op.Kind == fact.OpDelete, Fields: op.Fields, Origin: f.Origin}
	if cand.Deleted {
		cand.Fields = nil
	}
	coll := st.Collections[op.Name]
	if coll == nil {
		coll = map[string]*Entity{}
		st.Collections[op.Name] = coll
	}
	cur := coll[op.EntityID]
	if cur != nil && compareEntity(cand, cur) <= 0 {
		return false, nil
	}
	coll[op.EntityID] = cand
	return true, nil
}

// compareEntity orders entity versions: by stamp, then a delete above an
// upsert with the same stamp, then by fields.
func compareEntity(a, b *Entity) int {
	if c := a.Stamp.Compare(b.Stamp); c != 0 {
		return c
	}
	if a.Deleted != b.Deleted {
		if a.Deleted {
			return 1
		}
		return -1
	}
	return bytes.Compare(appendFields(nil, a.Fields), appendFields(nil, b.Fields))
}

func appendFields(b []byte, fs []fact.Field) []byte {
	for _, f := range fs {
		b = fact.AppendString(b, f.Name)
		b = fact.AppendValue(b, f.Value)
	}
	return b
}

func (m *Merger) count(st *State, f *fact.Fact, op *fact.Op, seen Seen) (bool, error) {
	a, ok := m.dict.Attributes[op.Name]
	if !ok || !a.Counter {
		return false, fmt.Errorf("attribute %q is not a counter of this dictionary", op.Name)
	}
	dup, err := seen.SeenOrAdd(f.ProfileID, op.Name, op.DedupID)
	if err != nil {
		return false, err
	}
	if dup {
		return false, nil
	}
	st.Counters[op.Name]++
	return true, nil
}

// View is the rendered profile: attribute name to value, for every attribute
// the profile has (mapped, counted or derived).
type View map[string]schemas.Value

// Render computes the profile's attributes from its state.
func (m *Merger) Render(st *State) View {
	v := make(View, len(st.Attrs)+len(st.Counters)+4)
	for name, c := range st.Attrs {
		v[name] = c.Value
	}
	for name, n := range st.Counters {
		v[name] = schemas.Int(n)
	}
	for _, name := range m.dict.Names {
		a := m.dict.Attributes[name]
		if a.Derive == nil {
			continue
		}
		coll, ok := st.Collections[a.Derive.Collection]
		if !ok {
			continue // the profile has never had such an entity
		}
		v[name] = derive(a, m.dict.Collections[a.Derive.Collection], coll)
	}
	return v
}

// Diff returns the sorted names of attributes whose values differ.
func Diff(before, after View) []string {
	var changed []string
	for k, av := range after {
		if bv, ok := before[k]; !ok || bv != av {
			changed = append(changed, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	return changed
}

func derive(a *dictionary.Attribute, c *dictionary.Collection, coll map[string]*Entity) schemas.Value {
	d := a.Derive
	// Iterate in a fixed order so that float sums are deterministic too.
	ids := make([]string, 0, len(coll))
	for id := range coll {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var (
		count int64
		best  schemas.Value
		isum  int64
		fsum  float64
		dsum  = schemas.Decimal{}
		dset  bool
	)
	var fieldKind schemas.Kind
	if d.Field != "" && c != nil {
		if fa := c.Fields[d.Field]; fa != nil {
			fieldKind = fa.Type
		}
	}
	for _, id := range ids {
		e := coll[id]
		if e.Deleted || !matches(d.Where, e.Fields) {
			continue
		}
		count++
		if d.Aggregate == "count" {
			continue
		}
		fv := fieldValue(e.Fields, d.Field)
		if fv.IsNull() {
			continue
		}
		switch d.Aggregate {
		case "sum":
			switch fv.Kind {
			case schemas.KindInt:
				isum += fv.Int
			case schemas.KindFloat:
				fsum += fv.Float
			case schemas.KindDecimal:
				dv, err := schemas.ParseDecimal(fv.Str)
				if err != nil {
					continue
				}
				if !dset {
					dsum, dset = dv, true
				} else {
					dsum = dsum.Add(dv)
				}
			}
		case "max":
			if best.IsNull() || schemas.Compare(fv, best) > 0 {
				best = fv
			}
		case "min":
			if best.IsNull() || schemas.Compare(fv, best) < 0 {
				best = fv
			}
		}
	}
	switch d.Aggregate {
	case "count":
		return schemas.Int(count)
	case "sum":
		return sumValue(a, fieldKind, isum, fsum, dsum, dset)
	}
	return convertDerived(a, best)
}

func sumValue(a *dictionary.Attribute, fieldKind schemas.Kind, isum int64, fsum float64, dsum schemas.Decimal, dset bool) schemas.Value {
	var v schemas.Value
	switch fieldKind {
	case schemas.KindFloat:
		v = schemas.Float(fsum)
	case schemas.KindDecimal:
		if !dset {
			dsum, _ = schemas.ParseDecimal("0")
		}
		v = dsum.Value()
	default:
		v = schemas.Int(isum)
	}
	return convertDerived(a, v)
}

// convertDerived gives a derived value the attribute's type and scale.
func convertDerived(a *dictionary.Attribute, v schemas.Value) schemas.Value {
	if v.IsNull() {
		return v
	}
	if out, err := a.Coerce(v); err == nil {
		return out
	}
	return v
}

func fieldValue(fs []fact.Field, name string) schemas.Value {
	i, ok := slices.BinarySearchFunc(fs, name, func(f fact.Field, n string) int {
		switch {
		case f.Name < n:
			return -1
		case f.Name > n:
			return 1
		}
		return 0
	})
	if !ok {
		return schemas.Null
	}
	return fs[i].Value
}

func matches(where []dictionary.Filter, fs []fact.Field) bool {
	for _, w := range where {
		fv := fieldValue(fs, w.Field)
		text := fv.Text()
		in := fv.Kind != schemas.KindNull && slices.Contains(w.Values, text)
		switch w.Op {
		case "in", "eq":
			if !in {
				return false
			}
		case "not_in", "ne":
			if in {
				return false
			}
		}
	}
	return true
}

// Check verifies that every op of f names something this dictionary has, so
// that Apply cannot fail half-way through a fact for that reason.
func (m *Merger) Check(f *fact.Fact) error {
	for i := range f.Ops {
		op := &f.Ops[i]
		switch op.Kind {
		case fact.OpSet:
			a, ok := m.dict.Attributes[op.Name]
			if !ok || a.Derive != nil || a.Counter {
				return fmt.Errorf("fact sets %q, which is not a mapped attribute of this dictionary", op.Name)
			}
		case fact.OpUpsert, fact.OpDelete:
			if _, ok := m.dict.Collections[op.Name]; !ok {
				return fmt.Errorf("fact changes collection %q, which this dictionary does not have", op.Name)
			}
		case fact.OpCount:
			a, ok := m.dict.Attributes[op.Name]
			if !ok || !a.Counter {
				return fmt.Errorf("fact counts %q, which is not a counter of this dictionary", op.Name)
			}
		default:
			return fmt.Errorf("fact has unknown op kind %d", op.Kind)
		}
	}
	return nil
}
