package scenario

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// smallLoad is a load of three blocks, small enough to replay.
func smallLoad() LoadConfig {
	cfg := DefaultLoadConfig()
	cfg.Customers = 750
	cfg.BlockSize = 300 // blocks of 300, 300 and 150 customers
	cfg.EventsPerCustomer = 10
	cfg.OrdersPerCustomer = 2
	return cfg
}

func collectLoad(t *testing.T, cfg LoadConfig) ([]LoadRecord, LoadStats) {
	t.Helper()
	var recs []LoadRecord
	st, err := Load(cfg, func(r LoadRecord) error { recs = append(recs, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != len(recs) {
		t.Fatalf("stats count %d records, emitted %d", st.Records, len(recs))
	}
	return recs, st
}

func TestLoadDeterminism(t *testing.T) {
	cfg := smallLoad()
	a, _ := collectLoad(t, cfg)
	b, _ := collectLoad(t, cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two loads with the same config differ")
	}
	cfg.Seed++
	if c, _ := collectLoad(t, cfg); reflect.DeepEqual(a, c) {
		t.Fatal("a different seed produced the same load")
	}

	stop := errors.New("stop")
	n := 0
	_, err := Load(smallLoad(), func(LoadRecord) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("Load did not stop at emit's error: err %v after %d records", err, n)
	}
}

// TestLoadMatchesBlockOracles: the blocks are independent scenarios, so a
// consumer replaying the whole load must arrive at the union of the blocks'
// oracles, with every customer id and every anonymous id distinct.
func TestLoadMatchesBlockOracles(t *testing.T) {
	cfg := smallLoad()
	recs, st := collectLoad(t, cfg)
	plain := make([]Record, len(recs))
	for i, r := range recs {
		plain[i] = r.Record
	}
	got := replay(t, plain)

	want := map[string]map[string]any{}
	wantBad := map[string]int{}
	var orderBase int64
	for blk := 0; blk*cfg.BlockSize < cfg.Customers; blk++ {
		m := loadBlock(cfg, blk, orderBase)
		orderBase += int64(len(m.orders))
		for id, p := range oracle(m) {
			if _, dup := want[id]; dup {
				t.Fatalf("block %d: profile %s is in an earlier block too", blk, id)
			}
			want[id] = p
		}
		for _, b := range m.bad {
			wantBad[b.kind]++
		}
	}
	if len(got.keys[TopicCustomers]) != cfg.Customers {
		t.Errorf("%d distinct customer keys, want %d", len(got.keys[TopicCustomers]), cfg.Customers)
	}
	if int(orderBase) != st.Orders || len(got.keys[TopicOrders]) != st.Orders {
		t.Errorf("%d distinct order keys, %d orders built, stats say %d", len(got.keys[TopicOrders]), orderBase, st.Orders)
	}
	if len(want) != st.Profiles || len(got.expected) != len(want) {
		t.Errorf("replay has %d profiles, the oracles %d, stats %d", len(got.expected), len(want), st.Profiles)
	}
	if !reflect.DeepEqual(got.bad, wantBad) || got.tombstones != st.Tombstones {
		t.Errorf("replay found bad %v and %d tombstones, want %v and %d", got.bad, got.tombstones, wantBad, st.Tombstones)
	}
	diffs := 0
	for id, w := range want {
		if g := got.expected[id]; !reflect.DeepEqual(g, w) && diffs < 5 {
			diffs++
			t.Errorf("profile %s:\nreplay %v\noracle %v", id, g, w)
		}
	}
}

// TestLoadProfileIDs checks each record's ProfileID against what the record
// itself says: the CRM key, the order's customer_id (before the delete for a
// delete), the Segment userId or anonymousId.
func TestLoadProfileIDs(t *testing.T) {
	recs, _ := collectLoad(t, smallLoad())
	// A delete names no customer: it is about the customer of the version
	// before it, which may be delivered after it (late). So a delete is
	// checked against every customer the order ever had.
	owners := map[string]map[string]bool{}
	for _, r := range recs {
		if r.Topic == TopicOrders && r.Value != nil && r.ProfileID != "" {
			if c, ok := debeziumRow(t, r.Value)["customer_id"].(float64); ok {
				if owners[string(r.Key)] == nil {
					owners[string(r.Key)] = map[string]bool{}
				}
				owners[string(r.Key)][strconv.FormatInt(int64(c), 10)] = true
			}
		}
	}
	checked := map[string]int{}
	for i, r := range recs {
		if r.ProfileID == "" {
			continue
		}
		var want string
		switch r.Topic {
		case TopicCustomers:
			want = strconv.FormatInt(int64(debeziumField(t, r.Key, "id")), 10)
		case TopicOrders:
			want = r.ProfileID
			if r.Value != nil {
				if c, ok := debeziumRow(t, r.Value)["customer_id"].(float64); ok {
					want = strconv.FormatInt(int64(c), 10)
				}
			}
			if !owners[string(r.Key)][want] {
				t.Fatalf("record %d (%s %s): ProfileID %q was never the order's customer", i, r.Topic, r.Key, r.ProfileID)
			}
		case TopicClickstream:
			var ev struct{ UserID, AnonymousID string }
			if err := json.Unmarshal(r.Value, &ev); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			want = ev.UserID
			if want == "" {
				want = "anon:" + ev.AnonymousID
			}
		}
		if r.ProfileID != want {
			t.Fatalf("record %d (%s %s): ProfileID %q, the record says %q", i, r.Topic, r.Key, r.ProfileID, want)
		}
		checked[r.Topic]++
	}
	for _, topic := range []string{TopicCustomers, TopicOrders, TopicClickstream} {
		if checked[topic] == 0 {
			t.Errorf("no record of %s was checked", topic)
		}
	}
}

// debeziumRow returns the after image of a Debezium value, or the before
// image of a delete, with or without the Connect schema envelope.
func debeziumRow(t *testing.T, v []byte) map[string]any {
	t.Helper()
	var env struct {
		Payload       json.RawMessage
		Before, After map[string]any
	}
	if err := json.Unmarshal(v, &env); err != nil {
		t.Fatal(err)
	}
	if env.Payload != nil {
		return debeziumRow(t, env.Payload)
	}
	if env.After != nil {
		return env.After
	}
	return env.Before
}

// debeziumField returns a numeric field of a Debezium key.
func debeziumField(t *testing.T, key []byte, field string) float64 {
	t.Helper()
	var k map[string]any
	if err := json.Unmarshal(key, &k); err != nil {
		t.Fatal(err)
	}
	if p, ok := k["payload"].(map[string]any); ok {
		k = p
	}
	f, ok := k[field].(float64)
	if !ok {
		t.Fatalf("key %s has no numeric %s", key, field)
	}
	return f
}

// TestLoadSkewAndShares: the Zipf activity has the configured mean, most
// customers are quiet and a few very busy; late and duplicated records come
// in their configured shares.
func TestLoadSkewAndShares(t *testing.T) {
	cfg := DefaultLoadConfig()
	cfg.Customers = 2500 // two blocks
	recs, st := collectLoad(t, cfg)
	per := make([]int, cfg.Customers)
	for _, r := range recs {
		if r.Topic != TopicClickstream || r.ProfileID == "" || r.ProfileID[0] == 'a' {
			continue
		}
		id, err := strconv.Atoi(r.ProfileID)
		if err != nil || id < 1 || id > cfg.Customers {
			t.Fatalf("clickstream profile %q is no customer id in 1..%d", r.ProfileID, cfg.Customers)
		}
		per[id-1]++ // duplicates included: they are deliveries too
	}
	mean := float64(st.KnownEvents) / float64(cfg.Customers)
	if math.Abs(mean-cfg.EventsPerCustomer) > 0.15*cfg.EventsPerCustomer {
		t.Errorf("%.2f events per customer, want %.0f ± 15%%", mean, cfg.EventsPerCustomer)
	}
	slices.Sort(per)
	total := 0
	for _, n := range per {
		total += n
	}
	top := 0
	for _, n := range per[len(per)-len(per)/100:] {
		top += n
	}
	median := per[len(per)/2]
	t.Logf("events per customer: median %d, mean %.1f, max %d; busiest 1%% send %.0f%%", median, mean, per[len(per)-1], 100*float64(top)/float64(total))
	if float64(median) > mean/2 || float64(top) < 0.15*float64(total) || per[len(per)-1] < int(20*mean) {
		t.Errorf("activity is not Zipf-like: median %d, mean %.1f, max %d, busiest 1%% send %d of %d", median, mean, per[len(per)-1], top, total)
	}
	good := st.Records - st.Duplicates - st.Tombstones - st.Bad
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"late share", float64(st.Late) / float64(good), cfg.LateShare},
		{"duplicate share", float64(st.Duplicates) / float64(good), cfg.DuplicateShare},
		{"bad share", float64(st.Bad) / float64(good), cfg.BadShare},
		{"anonymous share", float64(st.AnonEvents) / float64(st.AnonEvents+st.KnownEvents), cfg.AnonymousShare},
	} {
		if math.Abs(c.got-c.want) > 0.3*c.want {
			t.Errorf("%s = %.4f, want %.4f ± 30%%", c.what, c.got, c.want)
		}
	}
}

func TestLoadConfigValidate(t *testing.T) {
	for _, mod := range []func(*LoadConfig){
		func(c *LoadConfig) { c.Customers = 0 },
		func(c *LoadConfig) { c.BlockSize = 0 },
		func(c *LoadConfig) { c.Skew = 0.5 },
		func(c *LoadConfig) { c.EventsPerCustomer = -1 },
	} {
		cfg := DefaultLoadConfig()
		mod(&cfg)
		if _, err := Load(cfg, func(LoadRecord) error { return nil }); err == nil {
			t.Errorf("Load accepted %+v", cfg)
		}
	}
}

func TestZipfParamsHitTheMean(t *testing.T) {
	for _, mean := range []float64{0.5, 3, 20, 200} {
		v, imax, active := zipfParams(mean, 2)
		if v < 1 || imax < uint64(mean) || active <= 0 || active > 1 {
			t.Errorf("mean %g: v %g, imax %d, active %g", mean, v, imax, active)
		}
		// The mean is computed here independently of zipfMean.
		var num, den float64
		for k := uint64(0); k <= imax; k++ {
			w := 1 / ((v + float64(k)) * (v + float64(k)))
			num += float64(k) * w
			den += w
		}
		if got := active * num / den; math.Abs(got-mean) > 0.01*mean {
			t.Errorf("mean %g: the law's mean is %g", mean, got)
		}
	}
}
