package dictionary

import (
	"slices"
	"testing"

	"github.com/profiled/profiled/schemas"
)

const devYAML = "../../deploy/config/dev.yaml"

func names[T any](list []T, name func(T) string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = name(x)
	}
	return out
}

func normalizerNamesOf(a *Attribute) []string {
	return names(a.Normalizers, func(n Normalizer) string {
		if n.Arg != "" {
			return n.Name + ":" + n.Arg
		}
		return n.Name
	})
}

func validatorNamesOf(a *Attribute) []string {
	return names(a.Validators, func(v Validator) string { return v.Name })
}

func TestDevYAML(t *testing.T) {
	f, err := Load(devYAML)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Pipeline{Group: "profiled", ProfilesTopic: "profiles", DLQTopic: "profiled.dlq", Partitions: 6}); f.Pipeline != want {
		t.Errorf("pipeline = %+v", f.Pipeline)
	}

	wantNames := []string{"birth_date", "country", "email", "first_name", "last_name", "last_order_at",
		"last_product_viewed", "last_seen_at", "lifetime_value", "marketing_opt_in", "order_count", "page_views", "phone"}
	if !slices.Equal(f.Names, wantNames) {
		t.Errorf("Names = %v\nwant    %v", f.Names, wantNames)
	}

	// Attribute definitions.
	type def struct {
		typ       schemas.Kind
		scale     int32
		policy    Policy
		normalize []string
		validate  []string
		derived   bool
		counter   bool
	}
	wantAttrs := map[string]def{
		"email":               {schemas.KindString, -1, PolicyLWW, []string{"trim", "lower"}, []string{"email"}, false, false},
		"first_name":          {schemas.KindString, -1, PolicyLWW, []string{"trim", "collapse_spaces"}, nil, false, false},
		"last_name":           {schemas.KindString, -1, PolicyLWW, []string{"trim", "collapse_spaces"}, nil, false, false},
		"phone":               {schemas.KindString, -1, PolicyLWW, []string{"e164:US"}, nil, false, false},
		"country":             {schemas.KindString, -1, PolicyLWW, []string{"trim", "upper"}, []string{"pattern"}, false, false},
		"birth_date":          {schemas.KindDate, -1, PolicyLWW, nil, nil, false, false},
		"marketing_opt_in":    {schemas.KindBool, -1, PolicyLWW, nil, nil, false, false},
		"order_count":         {schemas.KindInt, -1, PolicyLWW, nil, nil, true, false},
		"lifetime_value":      {schemas.KindDecimal, 2, PolicyLWW, nil, nil, true, false},
		"last_order_at":       {schemas.KindTimestamp, -1, PolicyLWW, nil, nil, true, false},
		"last_seen_at":        {schemas.KindTimestamp, -1, PolicyMax, nil, nil, false, false},
		"page_views":          {schemas.KindInt, -1, PolicyLWW, nil, nil, false, true},
		"last_product_viewed": {schemas.KindString, -1, PolicyLWW, nil, nil, false, false},
	}
	for name, w := range wantAttrs {
		a := f.Attributes[name]
		if a == nil {
			t.Errorf("attribute %s missing", name)
			continue
		}
		if a.Name != name || a.Type != w.typ || a.Scale != w.scale || a.Policy != w.policy ||
			!slices.Equal(normalizerNamesOf(a), w.normalize) || !slices.Equal(validatorNamesOf(a), w.validate) ||
			(a.Derive != nil) != w.derived || a.Counter != w.counter || a.Line == 0 {
			t.Errorf("%s = {%s scale %d %s norm %v val %v derive %v counter %v line %d}, want %+v", name, a.Type, a.Scale, a.Policy,
				normalizerNamesOf(a), validatorNamesOf(a), a.Derive, a.Counter, a.Line, w)
		}
	}

	// Derivations: all three share the live-orders filter.
	live := []Filter{{Field: "status", Op: "not_in", Values: []string{"cancelled", "refunded"}}}
	for name, want := range map[string]Derive{
		"order_count":    {Collection: "orders", Aggregate: "count", Where: live},
		"lifetime_value": {Collection: "orders", Aggregate: "sum", Field: "total", Where: live},
		"last_order_at":  {Collection: "orders", Aggregate: "max", Field: "created_at", Where: live},
	} {
		d := f.Attributes[name].Derive
		if d.Collection != want.Collection || d.Aggregate != want.Aggregate || d.Field != want.Field ||
			len(d.Where) != 1 || d.Where[0].Field != "status" || d.Where[0].Op != "not_in" ||
			!slices.Equal(d.Where[0].Values, live[0].Values) {
			t.Errorf("%s.Derive = %+v, want %+v", name, d, want)
		}
	}

	// The orders collection.
	orders := f.Collections["orders"]
	if orders == nil || len(f.Collections) != 1 {
		t.Fatalf("collections = %v", f.Collections)
	}
	if !slices.Equal(orders.Names, []string{"created_at", "currency", "status", "total"}) {
		t.Errorf("orders.Names = %v", orders.Names)
	}
	if fl := orders.Fields["status"]; fl.Type != schemas.KindString || !slices.Equal(normalizerNamesOf(fl), []string{"trim", "lower"}) {
		t.Errorf("orders.status = %+v", fl)
	}
	if fl := orders.Fields["total"]; fl.Type != schemas.KindDecimal || fl.Scale != 2 || !slices.Equal(validatorNamesOf(fl), []string{"range"}) {
		t.Errorf("orders.total = %+v", fl)
	}
	if fl := orders.Fields["currency"]; fl.Type != schemas.KindString || !slices.Equal(normalizerNamesOf(fl), []string{"upper"}) {
		t.Errorf("orders.currency = %+v", fl)
	}
	if fl := orders.Fields["created_at"]; fl.Type != schemas.KindTimestamp {
		t.Errorf("orders.created_at = %+v", fl)
	}

	// Sources, in file order.
	if got := names(f.Sources, func(s *Source) string { return s.Name }); !slices.Equal(got, []string{"crm", "orders", "clickstream"}) {
		t.Fatalf("sources = %v", got)
	}
	crm, shop, click := f.Sources[0], f.Sources[1], f.Sources[2]
	for i, s := range f.Sources {
		if s.Index != i || s.Pattern != nil || s.EventTime != "" || s.Line == 0 {
			t.Errorf("source %s: Index %d Pattern %v EventTime %q Line %d", s.Name, s.Index, s.Pattern, s.EventTime, s.Line)
		}
	}

	// crm
	if crm.Topic != "crm.public.customers" || crm.Format != FormatDebeziumJSON || crm.Priority != 10 ||
		crm.ProfileID != (IDSpec{Field: "id"}) || crm.OnDelete != "clear" || crm.Entity != nil || len(crm.Counters) != 0 {
		t.Errorf("crm = %+v", crm)
	}
	if len(crm.Types) != 2 || crm.Types["birth_date"] != (TypeHint{Semantic: "io.debezium.time.Date"}) ||
		crm.Types["updated_at"] != (TypeHint{Semantic: "io.debezium.time.MicroTimestamp"}) {
		t.Errorf("crm.Types = %v", crm.Types)
	}
	crmAttrs := []string{"email", "first_name", "last_name", "phone", "country", "birth_date", "marketing_opt_in"}
	if got := names(crm.Attributes, func(m *Mapping) string { return m.Target.Name }); !slices.Equal(got, crmAttrs) {
		t.Errorf("crm attributes = %v", got)
	}
	for _, m := range crm.Attributes {
		if !slices.Equal(m.From, []string{m.Target.Name}) || m.When != nil || m.EventTime || m.Required || m.Target != f.Attributes[m.Target.Name] {
			t.Errorf("crm mapping %s = %+v", m.Target.Name, m)
		}
	}

	// orders
	if shop.Topic != "shop.public.orders" || shop.Format != FormatDebeziumJSON || shop.Priority != 0 ||
		shop.ProfileID != (IDSpec{Field: "customer_id"}) || len(shop.Attributes) != 0 {
		t.Errorf("orders = %+v", shop)
	}
	if len(shop.Types) != 1 || shop.Types["created_at"] != (TypeHint{Semantic: "io.debezium.time.MicroTimestamp"}) {
		t.Errorf("orders.Types = %v (total must have no hint: the dev feed sends decimals as strings)", shop.Types)
	}
	if e := shop.Entity; e == nil || e.Collection != orders || e.Key != "id" {
		t.Fatalf("orders.Entity = %+v", shop.Entity)
	}
	if got := names(shop.Entity.Fields, func(m *Mapping) string { return m.Target.Name }); !slices.Equal(got, []string{"status", "total", "currency", "created_at"}) {
		t.Errorf("orders entity fields = %v", got)
	}
	for _, m := range shop.Entity.Fields {
		if m.Target != orders.Fields[m.Target.Name] || !slices.Equal(m.From, []string{m.Target.Name}) {
			t.Errorf("orders field mapping %+v", m)
		}
	}

	// clickstream
	wantID := IDSpec{Field: "userId", Fallback: &IDSpec{Field: "anonymousId", Prefix: "anon:"}}
	if click.Topic != "clickstream" || click.Format != FormatSegment || click.ProfileID.Field != wantID.Field ||
		click.ProfileID.Prefix != "" || click.ProfileID.Fallback == nil || *click.ProfileID.Fallback != *wantID.Fallback ||
		click.Types != nil || click.Entity != nil {
		t.Errorf("clickstream = %+v (fallback %+v)", click, click.ProfileID.Fallback)
	}
	byTarget := map[string]*Mapping{}
	for _, m := range click.Attributes {
		byTarget[m.Target.Name] = m
	}
	if m := byTarget["last_seen_at"]; m == nil || !m.EventTime || m.From != nil || m.When != nil {
		t.Errorf("last_seen_at mapping = %+v", m)
	}
	if m := byTarget["last_product_viewed"]; m == nil || !slices.Equal(m.From, []string{"properties.product_id"}) || len(m.When) != 2 ||
		m.When[0].Path != "type" || !slices.Equal(m.When[0].Values, []string{"track"}) ||
		m.When[1].Path != "event" || !slices.Equal(m.When[1].Values, []string{"Product Viewed"}) {
		t.Errorf("last_product_viewed mapping = %+v", m)
	}
	identify := []Condition{{Path: "type", Values: []string{"identify"}}}
	for name, from := range map[string][]string{
		"email":      {"traits.email"},
		"first_name": {"traits.first_name", "traits.firstName"},
		"last_name":  {"traits.last_name", "traits.lastName"},
	} {
		m := byTarget[name]
		if m == nil || m.Target != f.Attributes[name] || !slices.Equal(m.From, from) || len(m.When) != 1 ||
			m.When[0].Path != identify[0].Path || !slices.Equal(m.When[0].Values, identify[0].Values) {
			t.Errorf("clickstream %s mapping = %+v", name, m)
		}
	}
	if len(click.Attributes) != 5 {
		t.Errorf("clickstream maps %d attributes, want 5", len(click.Attributes))
	}
	if len(click.Counters) != 1 {
		t.Fatalf("clickstream counters = %+v", click.Counters)
	}
	if c := click.Counters[0]; c.Target != f.Attributes["page_views"] || c.Distinct != "messageId" ||
		len(c.When) != 1 || c.When[0].Path != "type" || !slices.Equal(c.When[0].Values, []string{"page"}) {
		t.Errorf("page_views counter = %+v", c)
	}
}

// The dev attributes behave as the comments in dev.yaml promise.
func TestDevYAMLCoerce(t *testing.T) {
	f, err := Load(devYAML)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		attr string
		in   schemas.Value
		want schemas.Value
		err  string
	}{
		{"email", schemas.String("  Bob@Example.COM "), schemas.String("bob@example.com"), ""},
		{"email", schemas.String("bob@"), schemas.Null, `email: "bob@" is not a valid email address`},
		{"first_name", schemas.String("  Mary   Ann "), schemas.String("Mary Ann"), ""},
		{"phone", schemas.String("(415) 555-2671"), schemas.String("+14155552671"), ""},
		{"country", schemas.String(" de "), schemas.String("DE"), ""},
		{"country", schemas.String("USA"), schemas.Null, `country: "USA" does not match pattern ^[A-Z]{2}$`},
		{"birth_date", schemas.String("1990-07-14"), date("1990-07-14"), ""},
		{"marketing_opt_in", schemas.String("yes"), schemas.Bool(true), ""},
		{"lifetime_value", schemas.String("10.5"), dec("10.50"), ""},
		{"last_seen_at", schemas.String("2024-05-01T12:30:00Z"), ts("2024-05-01T12:30:00Z"), ""},
	} {
		got, err := f.Attributes[tc.attr].Coerce(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s.Coerce(%v): got %v, %v; want error %s", tc.attr, tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s.Coerce(%v) = %v, %v; want %v", tc.attr, tc.in, got, err, tc.want)
		}
	}
	if _, err := f.Collections["orders"].Fields["total"].Coerce(schemas.String("-1")); err == nil ||
		err.Error() != `total: "-1.00" is less than the minimum 0.00` {
		t.Errorf("orders.total: got %v", err)
	}
}
