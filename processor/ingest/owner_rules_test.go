package ingest_test

import (
	"fmt"
	"testing"

	"github.com/profiled/profiled/processor/ingest"
	"github.com/profiled/profiled/processor/internal/memstate"
	"github.com/profiled/profiled/processor/merge"
	"github.com/profiled/profiled/schemas/dictionary"
)

const dictYAML = `
pipeline: {group: g, profiles_topic: profiles, dlq_topic: dlq, partitions: 1}
attributes:
  email: {type: string}
sources:
  - name: users
    topic: app.public.users
    format: debezium-json
    profile_id: {field: account_id}
    attributes:
      email: {from: email}
  - name: clickstream
    topic: clickstream
    format: segment
    profile_id: {field: userId}
    attributes:
      email: {from: traits.email, when: {type: identify}}
`

type rec struct{ topic, key, value string }

func user(id int, account, email string, tsSec int, op string) rec {
	return rec{"app.public.users", fmt.Sprintf(`{"id":%d}`, id),
		fmt.Sprintf(`{"before":null,"after":{"id":%d,"account_id":%q,"email":%q},"source":{"connector":"postgresql","ts_us":%d,"lsn":%d},"op":%q}`,
			id, account, email, (1704067200+int64(tsSec))*1000000, tsSec*10, op)}
}

// PK-only delete (REPLICA IDENTITY DEFAULT).
func userDelete(id int, tsSec int) rec {
	return rec{"app.public.users", fmt.Sprintf(`{"id":%d}`, id),
		fmt.Sprintf(`{"before":{"id":%d},"after":null,"source":{"connector":"postgresql","ts_us":%d,"lsn":%d},"op":"d"}`, id, (1704067200+int64(tsSec))*1000000, tsSec*10)}
}

func identify(user, email string, tsSec int) rec {
	return rec{"clickstream", "", fmt.Sprintf(`{"type":"identify","userId":%q,"messageId":"m%d","timestamp":"2024-01-01T00:00:%02dZ","traits":{"email":%q}}`, user, tsSec, tsSec, email)}
}

func run(t *testing.T, recs []rec) map[string]merge.View {
	t.Helper()
	d, err := dictionary.Parse([]byte(dictYAML), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, mg := ingest.NewMapper(d), merge.New(d)
	owners, seen := memstate.Owners{}, memstate.Seen{}
	states := map[string]*merge.State{}
	for i, r := range recs {
		var key []byte
		if r.key != "" {
			key = []byte(r.key)
		}
		facts, _, err := m.Map(&ingest.Record{Topic: r.topic, Offset: int64(i), Key: key, Value: []byte(r.value)}, owners)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		for _, f := range facts {
			st := states[f.ProfileID]
			if st == nil {
				st = merge.NewState()
				states[f.ProfileID] = st
			}
			if _, err := mg.Apply(st, f, seen); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := map[string]merge.View{}
	for id, st := range states {
		out[id] = mg.Render(st)
	}
	return out
}

// In log order: row 1 belongs to account A, is deleted, A's email is then set
// by another source, and later a new row re-using id 1 is created for B.
// The re-insert "supersedes" the already deleted version in A at t=4 and
// wipes A's email, which no longer has anything to do with row 1.
// TestReinsertAfterDeleteKeepsOtherSources is a regression test from the
// first review: a row re-inserted for another profile after its delete
// superseded the deleted version again and cleared what another source had
// set in the old profile since.
func TestReinsertAfterDeleteKeepsOtherSources(t *testing.T) {
	got := run(t, []rec{
		user(1, "A", "a@example.com", 1, "c"),
		userDelete(1, 2),
		identify("A", "b@example.com", 3),
		user(1, "B", "c@example.com", 4, "c"),
	})
	if e := got["A"]["email"]; e.Text() != "b@example.com" {
		t.Errorf("A.email = %v, want b@example.com (row 1 was deleted at t=2; its re-insert for B at t=4 must not touch A)", e)
	}
}

// Same records of key id=1, two arrival orders: the PK-only delete (t=4)
// arriving before the move (t=2) is routed to the stale owner A and clears
// A at t=4, wiping the email another source set at t=3.
