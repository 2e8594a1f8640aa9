package merge

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"github.com/profiled/profiled/processor/fact"
	"github.com/profiled/profiled/processor/internal/memstate"
	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/dictionary"
)

const testDict = `
attributes:
  email: {type: string}
  nick: {type: string, policy: first}
  score: {type: float, policy: max}
  low: {type: int, policy: min}
  tier: {type: string, policy: priority}
  visits: {type: int}
  order_count:
    type: int
    derive: {collection: orders, aggregate: count, where: [{field: status, not_in: [cancelled]}]}
  ltv:
    type: decimal
    scale: 2
    derive: {collection: orders, aggregate: sum, field: total, where: [{field: status, not_in: [cancelled]}]}
  last_order_at:
    type: timestamp
    derive: {collection: orders, aggregate: max, field: at}
collections:
  orders:
    fields:
      status: {type: string}
      total: {type: decimal, scale: 2}
      at: {type: timestamp}
sources:
  - name: a
    topic: a
    format: segment
    profile_id: {field: userId}
    attributes:
      email: {from: traits.email}
      nick: {from: traits.nick}
      score: {from: properties.score}
      low: {from: properties.low}
      tier: {from: traits.tier}
    count:
      visits: {when: {type: page}, distinct: messageId}
  - name: b
    topic: b
    format: debezium-json
    priority: 5
    profile_id: {field: customer_id}
    entity:
      collection: orders
      key: id
      fields:
        status: {from: status}
        total: {from: total}
        at: {from: at}
`

func testMerger(t testing.TB) *Merger {
	t.Helper()
	d, err := dictionary.Parse([]byte(testDict), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return New(d)
}

func set(name string, v schemas.Value, t int64, prio int32) *fact.Fact {
	return &fact.Fact{ProfileID: "p", Stamp: fact.Stamp{Time: t, Priority: prio}, Ops: []fact.Op{{Kind: fact.OpSet, Name: name, Value: v}}}
}

func TestPolicies(t *testing.T) {
	m := testMerger(t)
	cases := []struct {
		attr  string
		facts []*fact.Fact
		want  schemas.Value
	}{
		{"email", []*fact.Fact{set("email", schemas.String("new"), 20, 0), set("email", schemas.String("old"), 10, 9)}, schemas.String("new")},
		{"email", []*fact.Fact{set("email", schemas.String("a"), 10, 0), set("email", schemas.Null, 11, 0)}, schemas.Null},
		// A tie on time goes to the higher priority, then to the larger value.
		{"email", []*fact.Fact{set("email", schemas.String("hi"), 10, 5), set("email", schemas.String("lo"), 10, 1)}, schemas.String("hi")},
		{"email", []*fact.Fact{set("email", schemas.String("a"), 10, 1), set("email", schemas.String("b"), 10, 1)}, schemas.String("b")},
		{"nick", []*fact.Fact{set("nick", schemas.String("second"), 20, 0), set("nick", schemas.String("first"), 10, 0), set("nick", schemas.Null, 5, 0)}, schemas.String("first")},
		{"score", []*fact.Fact{set("score", schemas.Int(3), 30, 0), set("score", schemas.Int(9), 10, 0), set("score", schemas.Null, 40, 0)}, schemas.Int(9)},
		{"low", []*fact.Fact{set("low", schemas.Int(3), 30, 0), set("low", schemas.Int(-2), 10, 0)}, schemas.Int(-2)},
		{"tier", []*fact.Fact{set("tier", schemas.String("gold"), 10, 9), set("tier", schemas.String("silver"), 99, 1)}, schemas.String("gold")},
	}
	for i, c := range cases {
		st := NewState()
		for _, f := range c.facts {
			if _, err := m.Apply(st, f, memstate.Seen{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := m.Render(st)[c.attr]; got != c.want {
			t.Errorf("case %d (%s): got %v, want %v", i, c.attr, got, c.want)
		}
	}
}

func order(id string, t int64, status, total string, deleted bool) *fact.Fact {
	op := fact.Op{Kind: fact.OpUpsert, Name: "orders", EntityID: id, Fields: []fact.Field{
		{Name: "at", Value: schemas.Timestamp(t)},
		{Name: "status", Value: schemas.String(status)},
		{Name: "total", Value: schemas.Value{Kind: schemas.KindDecimal, Str: total}},
	}}
	if deleted {
		op = fact.Op{Kind: fact.OpDelete, Name: "orders", EntityID: id}
	}
	return &fact.Fact{ProfileID: "p", Stamp: fact.Stamp{Time: t, Priority: 5}, Ops: []fact.Op{op}}
}

func TestEntitiesAndDerived(t *testing.T) {
	m := testMerger(t)
	st := NewState()
	facts := []*fact.Fact{
		order("1", 10, "paid", "10.00", false),
		order("2", 11, "paid", "5.50", false),
		order("3", 12, "cancelled", "99.00", false),
		order("2", 30, "", "", true),          // deleted later
		order("2", 20, "paid", "7.00", false), // arrives late: older than the delete
		order("4", 13, "paid", "0.25", false),
	}
	for _, f := range facts {
		if _, err := m.Apply(st, f, memstate.Seen{}); err != nil {
			t.Fatal(err)
		}
	}
	v := m.Render(st)
	if v["order_count"] != schemas.Int(2) {
		t.Errorf("order_count = %v, want 2", v["order_count"])
	}
	if v["ltv"] != (schemas.Value{Kind: schemas.KindDecimal, Str: "10.25"}) {
		t.Errorf("ltv = %v, want 10.25", v["ltv"])
	}
	// max over all orders (no filter), deleted ones excluded.
	if v["last_order_at"] != schemas.Timestamp(13) {
		t.Errorf("last_order_at = %v, want 13", v["last_order_at"])
	}
}

func TestCounterCountsEachIDOnce(t *testing.T) {
	m := testMerger(t)
	st, seen := NewState(), memstate.Seen{}
	for _, id := range []string{"a", "b", "a", "c", "b"} {
		f := &fact.Fact{ProfileID: "p", Ops: []fact.Op{{Kind: fact.OpCount, Name: "visits", DedupID: id}}}
		if _, err := m.Apply(st, f, seen); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Render(st)["visits"]; got != schemas.Int(3) {
		t.Fatalf("visits = %v, want 3", got)
	}
}

func TestCheckRejectsUnknownNames(t *testing.T) {
	m := testMerger(t)
	for _, op := range []fact.Op{
		{Kind: fact.OpSet, Name: "nope"},
		{Kind: fact.OpSet, Name: "order_count"}, // derived
		{Kind: fact.OpSet, Name: "visits"},      // counter
		{Kind: fact.OpCount, Name: "email"},
		{Kind: fact.OpUpsert, Name: "carts"},
		{Kind: 77, Name: "email"},
	} {
		if err := m.Check(&fact.Fact{Ops: []fact.Op{op}}); err == nil {
			t.Errorf("Check accepted %+v", op)
		}
	}
}

// randomFacts generates facts over a few profiles and attributes with few
// distinct times, so that ties are frequent.
func randomFacts(rng *rand.Rand, n int) []*fact.Fact {
	var out []*fact.Fact
	str := []string{"", "a", "b", "c"}
	for i := range n {
		f := &fact.Fact{
			ProfileID: "p" + strconv.Itoa(rng.IntN(3)),
			Stamp:     fact.Stamp{Time: int64(rng.IntN(6)), Priority: int32(rng.IntN(2)), Position: []byte{byte(rng.IntN(3))}},
			Origin:    fact.Origin{Offset: int64(i)},
		}
		for range 1 + rng.IntN(3) {
			var op fact.Op
			switch rng.IntN(7) {
			case 0:
				op = fact.Op{Kind: fact.OpSet, Name: "email", Value: schemas.String(str[rng.IntN(4)])}
				if rng.IntN(5) == 0 {
					op.Value = schemas.Null
				}
			case 1:
				op = fact.Op{Kind: fact.OpSet, Name: "nick", Value: schemas.String(str[rng.IntN(4)])}
			case 2:
				op = fact.Op{Kind: fact.OpSet, Name: "score", Value: schemas.Int(int64(rng.IntN(5)))}
			case 3:
				op = fact.Op{Kind: fact.OpSet, Name: "tier", Value: schemas.String(str[rng.IntN(4)])}
			case 4:
				op = fact.Op{Kind: fact.OpCount, Name: "visits", DedupID: strconv.Itoa(rng.IntN(5))}
			case 5:
				op = order(strconv.Itoa(rng.IntN(3)), 0, []string{"paid", "cancelled"}[rng.IntN(2)], fmt.Sprintf("%d.%02d", rng.IntN(100), rng.IntN(100)), false).Ops[0]
			default:
				op = fact.Op{Kind: fact.OpDelete, Name: "orders", EntityID: strconv.Itoa(rng.IntN(3))}
			}
			f.Ops = append(f.Ops, op)
		}
		out = append(out, f)
	}
	return out
}

func applyAll(t testing.TB, m *Merger, facts []*fact.Fact) map[string]View {
	states, seen := map[string]*State{}, memstate.Seen{}
	for _, f := range facts {
		st := states[f.ProfileID]
		if st == nil {
			st = NewState()
			states[f.ProfileID] = st
		}
		if _, err := m.Apply(st, f, seen); err != nil {
			t.Fatal(err)
		}
		// Every state survives its own encoding.
		back, err := DecodeState(AppendState(nil, st))
		if err != nil {
			t.Fatal(err)
		}
		states[f.ProfileID] = back
	}
	out := map[string]View{}
	for id, st := range states {
		out[id] = m.Render(st)
	}
	return out
}

// TestOrderAndDuplicatesDoNotMatter is the merge algebra as a property: any
// permutation of a fact set, with any facts repeated, renders the same
// profiles.
func TestOrderAndDuplicatesDoNotMatter(t *testing.T) {
	m := testMerger(t)
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 1))
		facts := randomFacts(rng, 5+rng.IntN(40))
		want := applyAll(t, m, facts)
		for range 5 {
			perm := append([]*fact.Fact(nil), facts...)
			for _, f := range facts {
				if rng.IntN(3) == 0 {
					perm = append(perm, f)
				}
			}
			rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			if got := applyAll(t, m, perm); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: order changed the result\n got %v\nwant %v", seed, got, want)
			}
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	m := testMerger(f)
	st := NewState()
	for _, fa := range randomFacts(rand.New(rand.NewPCG(1, 2)), 30) {
		if fa.ProfileID == "p0" {
			_, _ = m.Apply(st, fa, memstate.Seen{})
		}
	}
	f.Add(AppendState(nil, st))
	f.Add([]byte{stateVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := DecodeState(b)
		if err != nil {
			return
		}
		if _, err := DecodeState(AppendState(nil, st)); err != nil {
			t.Fatalf("re-decoding own encoding: %v", err)
		}
	})
}

// BenchmarkApplyRender measures the merge hot path of stage 2: load a
// profile state, apply one clickstream-sized fact, render, diff, encode.
func BenchmarkApplyRender(b *testing.B) {
	m := testMerger(b)
	st := NewState()
	for _, f := range randomFacts(rand.New(rand.NewPCG(3, 4)), 200) {
		f.ProfileID = "p"
		_, _ = m.Apply(st, f, memstate.Seen{})
	}
	enc := AppendState(nil, st)
	f := set("email", schemas.String("x@example.com"), 1<<40, 0)
	seen := memstate.Seen{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s, err := DecodeState(enc)
		if err != nil {
			b.Fatal(err)
		}
		before := m.Render(s)
		f.Stamp.Time = int64(1<<40 + i)
		if _, err := m.Apply(s, f, seen); err != nil {
			b.Fatal(err)
		}
		_ = Diff(before, m.Render(s))
		enc2 := AppendState(nil, s)
		_ = enc2
	}
}

// TestNegativeZeroIsOrderIndependent is a regression test from the first
// review: the duplicate check used ==, for which -0.0 equals 0.0, while the
// policy ordered them, so the result depended on arrival order.
func TestNegativeZeroIsOrderIndependent(t *testing.T) {
	m := testMerger(t)
	negZero := schemas.Float(math.Copysign(0, -1))
	render := func(first, second schemas.Value) schemas.Value {
		st := NewState()
		for _, v := range []schemas.Value{first, second} {
			if _, err := m.Apply(st, set("score", v, 10, 0), memstate.Seen{}); err != nil {
				t.Fatal(err)
			}
		}
		return m.Render(st)["score"]
	}
	a, b := render(negZero, schemas.Float(0)), render(schemas.Float(0), negZero)
	if math.Signbit(a.Float) != math.Signbit(b.Float) {
		t.Fatalf("order changed the result: %v vs %v", a, b)
	}
}
