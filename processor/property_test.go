package processor_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/ingest"
	"github.com/profiled/profiled/processor/internal/memstate"
	"github.com/profiled/profiled/processor/merge"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/schemas/dictionary"
)

// runInMemory runs stage 1 and stage 2 logic without Kafka: every record is
// mapped in the given order and its facts applied at once. It returns the
// rendered profiles (as the profiles topic shows them) and the number of
// records rejected.
func runInMemory(t testing.TB, d *dictionary.File, recs []scenario.Record) (map[string]map[string]any, int) {
	t.Helper()
	mapper, merger := ingest.NewMapper(d), merge.New(d)
	owners, seen := memstate.Owners{}, memstate.Seen{}
	states := map[string]*merge.State{}
	bad := 0
	for i, r := range recs {
		facts, _, err := mapper.Map(&ingest.Record{Topic: r.Topic, Offset: int64(i), Key: r.Key, Value: r.Value}, owners)
		if err != nil {
			if _, ok := ingest.AsError(err); !ok {
				t.Fatalf("record %d: %v", i, err)
			}
			bad++
			continue
		}
		for _, f := range facts {
			if err := merger.Check(f); err != nil {
				t.Fatal(err)
			}
			st := states[f.ProfileID]
			if st == nil {
				st = merge.NewState()
				states[f.ProfileID] = st
			}
			if _, err := merger.Apply(st, f, seen); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := map[string]map[string]any{}
	for id, st := range states {
		var p profile
		if err := json.Unmarshal(processor.AppendProfileJSON(nil, id, 1, 0, merger.Render(st), nil), &p); err != nil {
			t.Fatal(err)
		}
		out[id] = p.Attributes
	}
	return out, bad
}

// TestPropertyAnyOrderAnyDuplicates: random permutations (across topics and
// within an entity's own history) and duplications of the generated input
// give identical final profiles, equal to the oracle's.
func TestPropertyAnyOrderAnyDuplicates(t *testing.T) {
	d := devConfig(t)
	cfg := scenario.DefaultConfig()
	cfg.Customers = 40
	rounds := 40
	if testing.Short() {
		rounds = 5
	}
	for seed := range int64(3) {
		cfg.Seed = 100 + seed
		sc := scenario.Generate(cfg)
		wantBad := 0
		for _, n := range sc.Bad {
			wantBad += n
		}
		base, bad := runInMemory(t, d, sc.Records)
		if bad < wantBad {
			t.Fatalf("seed %d: %d records rejected, want at least %d", cfg.Seed, bad, wantBad)
		}
		got := map[string]profile{}
		for id, attrs := range base {
			got[id] = profile{ProfileID: id, Attributes: attrs}
		}
		compareProfiles(t, got, sc.Expected)
		for i := range rounds {
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
			perm := permuteWithDuplicates(rng, sc.Records, 0.3)
			again, _ := runInMemory(t, d, perm)
			if !reflect.DeepEqual(again, base) {
				for id := range base {
					if !reflect.DeepEqual(again[id], base[id]) {
						t.Fatalf("seed %d round %d: profile %s differs:\n got %v\nwant %v", cfg.Seed, i, id, again[id], base[id])
					}
				}
				t.Fatalf("seed %d round %d: profile sets differ", cfg.Seed, i)
			}
		}
	}
}
