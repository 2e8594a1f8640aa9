package debezium

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzHints are tried on every column so the converters see arbitrary
// values too.
var fuzzHints = []Hint{
	{},
	{Semantic: semDate}, {Semantic: semTime}, {Semantic: semNanoTime},
	{Semantic: semTimestamp}, {Semantic: semNanoTimestamp}, {Semantic: semZonedTimestamp},
	{Semantic: semIsoDate}, {Semantic: semIsoTime}, {Semantic: semDecimal, Scale: 2},
	{Semantic: semVarDecimal}, {Semantic: "io.debezium.data.Json"},
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(sharedFixtureDir(f), "*.json"))
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "null", envelope("c", "null", pgRow), wrap(pgEnvelopeSchema(), envelope("u", pgRow, pgRow)),
		envelope("d", `{"id":1}`, "null"), envelope("t", "", ""), envelope("m", "", ""),
		`{"id":7,"__deleted":"true","__op":"d","__source_ts_ms":1,"__lsn":5,"__table":"t"}`,
		wrap(pgRowSchema+`}`, `{"id":1,"balance":"nA==","birthday":3,"updated_at":"__debezium_unavailable_value"}`),
		wrap(pgRowSchema+`}`, "null"),
		`{"op":"c","source":{"file":"mysql-bin.000001","pos":4,"row":1,"snapshot":true},"after":{"v":{"scale":1,"value":"AQ=="}}}`,
		`{"op":"c","source":{"lsn":1},"after":{"t":"2011-01-11T16:40:30.123456789+00:00","d":"2018-06-20","n":1.5e300}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := DecodeKey(data); err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
		c, err := Decode(data)
		if err != nil {
			if c != nil {
				t.Fatalf("Decode returned a change and an error: %v", err)
			}
			return
		}
		if strings.TrimSpace(string(data)) != "" && !json.Valid(data) {
			t.Fatalf("Decode accepted invalid JSON %q", data)
		}
		if c.Tombstone {
			if c.Op != 0 || c.Unwrapped || c.Before.Fields != nil || c.After.Fields != nil || c.Source != (Source{}) || c.TsMs != 0 {
				t.Fatalf("tombstone carries data: %+v", c)
			}
			return
		}
		switch c.Op {
		case OpCreate, OpUpdate, OpDelete, OpRead, OpTruncate, OpMessage:
		default:
			t.Fatalf("decoded op %q", c.Op)
		}
		if c.Unwrapped {
			if c.Before.Fields != nil && c.After.Fields != nil {
				t.Fatal("unwrapped change has two rows")
			}
			if (c.Before.Fields != nil) != (c.Op == OpDelete) {
				t.Fatalf("unwrapped op %q with before %v", c.Op, c.Before.Fields)
			}
			for col := range c.Row().Fields {
				if strings.HasPrefix(col, "__") {
					t.Fatalf("metadata column %q left in the row", col)
				}
			}
		}
		if p := c.Position(); len(p) > 0 && p[0] != posPostgres && p[0] != posMySQL {
			t.Fatalf("position %x has no tag", p)
		}
		c.EventTime()
		for _, r := range []Row{c.Before, c.After} {
			for col := range r.Fields {
				unavailable := r.Unavailable(col)
				for _, h := range fuzzHints {
					v, present, err := r.Value(col, h)
					if !present {
						t.Fatalf("column %q not present", col)
					}
					if unavailable != errors.Is(err, ErrUnavailable) {
						t.Fatalf("column %q: Unavailable %v but Value err %v", col, unavailable, err)
					}
					if err != nil && v.Kind != 0 {
						t.Fatalf("column %q: value %v with error %v", col, v, err)
					}
					_ = v.Text()
				}
			}
		}
	})
}
