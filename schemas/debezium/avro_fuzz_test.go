package debezium_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/profiled/profiled/schemas/debezium"
	"github.com/profiled/profiled/schemas/debezium/avrotest"
)

// FuzzAvroDecode feeds arbitrary payloads to the Avro decoder under the
// writer schemas of real tables (keys and values, Postgres and MySQL). It
// must never panic, every error must be one of the record sentinels (the
// registry is up, so nothing is transient), and a decoded change must
// convert without panicking.
func FuzzAvroDecode(f *testing.F) {
	ctx := context.Background()
	_, cl, dec := newRegistry(f)
	var ids []int
	for _, tc := range []struct {
		tbl     *avrotest.Table
		changes []avrotest.Change
	}{{avrotest.Customers(), customerChanges()}, {avrotest.Orders(), orderChanges()}} {
		s := register(f, cl, tc.tbl)
		ids = append(ids, s.ValueID, s.KeyID)
		for _, ch := range tc.changes {
			k, v, err := tc.tbl.Avro(s, ch)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(len(ids)-2), v[5:])
			f.Add(uint8(len(ids)-1), k[5:])
		}
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(0), []byte{0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		id := ids[int(which)%len(ids)]
		b := make([]byte, 5, 5+len(payload))
		binary.BigEndian.PutUint32(b[1:], uint32(id))
		b = append(b, payload...)
		check := func(err error) {
			if err != nil && !errors.Is(err, debezium.ErrAvroData) && !errors.Is(err, debezium.ErrNotEnvelope) {
				t.Fatalf("error without a record sentinel: %v", err)
			}
		}
		c, err := dec.Decode(ctx, b)
		check(err)
		if err == nil {
			for _, r := range []debezium.Row{c.Before, c.After} {
				for col := range r.Fields {
					_, _, _ = r.Value(col, debezium.Hint{})
				}
			}
			_ = c.Position()
		}
		_, err = dec.DecodeKey(ctx, b)
		check(err)
	})
}
