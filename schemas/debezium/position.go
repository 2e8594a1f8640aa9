package debezium

import (
	"encoding/binary"
	"math"
)

// eventTime implements Change.EventTime.
//
// Debezium derives source ts_ms, ts_us and ts_ns from one instant, so they
// agree. When ts_ms is set and ts_us (or ts_ns) disagrees with it by more
// than a second, the finer field is wrong and is skipped. The tolerance is
// a second, not a millisecond, so that a connector that rounds or truncates
// ts_ms to whole seconds (MySQL without GTID timestamps) keeps its µs. This
// guards
// against the ns-magnitude ts_us of the documentation example in fixture
// mysql-r-value-schemas-true.json, which would otherwise date a change
// about 52,000 years ahead and win every last-write-wins merge.
//
// A zero field counts as absent: Source cannot tell 0 from missing, and
// old MySQL snapshots wrote ts_ms 0, which is "unknown", not 1970.
func (c *Change) eventTime() (int64, bool) {
	s := &c.Source
	agrees := func(us int64) bool {
		return s.TsMs == 0 || absDiff(floorDiv(us, 1000), s.TsMs) <= 1000
	}
	if s.TsUs != 0 && agrees(s.TsUs) {
		return s.TsUs, true
	}
	if s.TsNs != 0 && agrees(floorDiv(s.TsNs, 1000)) {
		return floorDiv(s.TsNs, 1000), true
	}
	if s.TsMs != 0 && s.TsMs <= math.MaxInt64/1000 && s.TsMs >= math.MinInt64/1000 {
		return s.TsMs * 1000, true
	}
	return 0, false
}

func absDiff(a, b int64) uint64 {
	if a > b {
		return uint64(a) - uint64(b)
	}
	return uint64(b) - uint64(a)
}

// Position tags. A position only orders changes of one connector (one
// Postgres database, one MySQL server): LSNs of different databases, or
// binlog coordinates of different servers, are unrelated, so callers must
// compare positions only between records of the same source topic. The tag
// keeps a Postgres and a MySQL position from ever comparing equal.
const (
	posPostgres byte = 'P'
	posMySQL    byte = 'M'
)

// position implements Change.Position:
//
//	Postgres: 'P', LSN (8 bytes big-endian)
//	MySQL:    'M', binlog file name, 0x00, pos (8 bytes big-endian),
//	          row (4 bytes big-endian)
//
// The values are written as unsigned big-endian, so bytes.Compare orders
// them numerically for the non-negative values Debezium produces. The 0x00
// after the file name makes a shorter name sort first, like the name itself;
// binlog names share a base and a fixed-width sequence number
// (mysql-bin.000003), so the byte order of names is their log order.
//
// Postgres incremental-snapshot records carry no LSN and get no position.
func (c *Change) position() []byte {
	s := &c.Source
	switch {
	case s.HasLSN:
		b := make([]byte, 0, 9)
		b = append(b, posPostgres)
		return binary.BigEndian.AppendUint64(b, uint64(s.LSN))
	case s.File != "":
		b := make([]byte, 0, 1+len(s.File)+1+8+4)
		b = append(b, posMySQL)
		b = append(b, s.File...)
		b = append(b, 0)
		b = binary.BigEndian.AppendUint64(b, uint64(s.Pos))
		return binary.BigEndian.AppendUint32(b, uint32(s.Row))
	}
	return nil
}
