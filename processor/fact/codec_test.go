package fact

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/profiled/profiled/schemas"
)

func sample() *Fact {
	return &Fact{
		ProfileID: "42",
		Stamp:     Stamp{Time: 1_700_000_000_123_456, Priority: -3, Position: []byte{1, 0, 0, 0, 0, 0, 0, 9}},
		Origin:    Origin{Source: 2, Topic: "shop.public.orders", Partition: 5, Offset: 1 << 40},
		Ops: []Op{
			{Kind: OpSet, Name: "email", Value: schemas.String("a@b.example")},
			{Kind: OpSet, Name: "gone", Value: schemas.Null},
			{Kind: OpSet, Name: "ratio", Value: schemas.Float(math.Inf(-1))},
			{Kind: OpUpsert, Name: "orders", EntityID: "7", Fields: []Field{
				{Name: "created_at", Value: schemas.Timestamp(-5)},
				{Name: "paid", Value: schemas.Bool(true)},
				{Name: "total", Value: schemas.Value{Kind: schemas.KindDecimal, Str: "-0.50"}},
				{Name: "when", Value: schemas.Date(19000)},
				{Name: "qty", Value: schemas.Int(math.MinInt64)},
			}},
			{Kind: OpDelete, Name: "orders", EntityID: "8"},
			{Kind: OpCount, Name: "page_views", DedupID: "msg-1"},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	f := sample()
	b := Append(nil, f)
	if b[0] != Version {
		t.Fatalf("first byte %d, want version %d", b[0], Version)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("round trip mismatch:\n got %+v\nwant %+v", got, f)
	}
}

func TestDecodeRejectsEveryTruncation(t *testing.T) {
	b := Append(nil, sample())
	for i := 0; i < len(b); i++ {
		if _, err := Decode(b[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix of %d bytes: err = %v, want ErrCorrupt", i, err)
		}
	}
	if _, err := Decode(append(b, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte accepted: %v", err)
	}
	bad := append([]byte(nil), b...)
	bad[0] = 9
	if _, err := Decode(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("unknown version accepted: %v", err)
	}
}

func TestStampOrder(t *testing.T) {
	a := Stamp{Time: 10, Priority: 1, Position: []byte{5}}
	cases := []struct {
		b    Stamp
		want int
	}{
		{Stamp{Time: 11}, -1},
		{Stamp{Time: 10, Priority: 2}, -1},
		{Stamp{Time: 10, Priority: 1, Position: []byte{6}}, -1},
		{Stamp{Time: 10, Priority: 1, Position: []byte{5}}, 0},
		{Stamp{Time: 9, Priority: 9, Position: []byte{9}}, 1},
	}
	for _, c := range cases {
		if got := a.Compare(c.b); got != c.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", a, c.b, got, c.want)
		}
		if got := c.b.Compare(a); got != -c.want {
			t.Errorf("antisymmetry broken for %v", c.b)
		}
	}
}

// FuzzDecode checks that arbitrary bytes never panic and that whatever decodes
// re-encodes to the same bytes (the encoding is canonical).
func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, sample()))
	f.Add([]byte{Version})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fa, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		again, err := Decode(Append(nil, fa))
		if err != nil {
			t.Fatalf("re-decoding own encoding: %v", err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(fa)) {
			t.Fatalf("re-encoding changed the fact")
		}
	})
}

// normalize maps NaN payloads to one value so DeepEqual can compare facts.
func normalize(f *Fact) *Fact {
	for i := range f.Ops {
		if f.Ops[i].Value.Kind == schemas.KindFloat && math.IsNaN(f.Ops[i].Value.Float) {
			f.Ops[i].Value.Float = 0
		}
		for j := range f.Ops[i].Fields {
			if v := &f.Ops[i].Fields[j].Value; v.Kind == schemas.KindFloat && math.IsNaN(v.Float) {
				v.Float = 0
			}
		}
	}
	return f
}
