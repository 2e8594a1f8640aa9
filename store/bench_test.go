//go:build unix

package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user + system) the process has used so far, all
// goroutines included: unlike ns/op it does not grow when other processes
// compete for the machine's cores.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// profileValues returns n distinct values shaped like the merge stage's
// profile states (merge.AppendState): attribute names, text values, varint
// stamps and origins, 630 bytes on average, compressible the way real
// states are (names repeat, values do not).
func profileValues(n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"email", "first_name", "last_name", "phone", "street", "city", "postcode", "country",
		"birth_date", "segment", "lifetime_value", "orders_count", "consent_email", "last_order_at"}
	word := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + byte(r.IntN(26))
		}
		return b
	}
	out := make([][]byte, n)
	for i := range out {
		v := []byte{1}
		v = binary.AppendUvarint(v, uint64(r.IntN(500)))
		v = binary.AppendVarint(v, 1_780_000_000_000+r.Int64N(1e10))
		v = binary.AppendUvarint(v, uint64(len(names)))
		for _, name := range names {
			v = binary.AppendUvarint(v, uint64(len(name)))
			v = append(v, name...)
			val := word(6 + r.IntN(12))
			v = binary.AppendUvarint(v, uint64(len(val)))
			v = append(v, val...)
			v = binary.AppendVarint(v, 1_780_000_000_000+r.Int64N(1e10))
			v = fmt.Appendf(v, "crm.v1/%d/%d", r.IntN(12), r.IntN(1e7))
		}
		out[i] = v
	}
	return out
}

const (
	benchKeys      = 100_000 // distinct profiles the commits overwrite
	benchBatch     = 500     // writes per Commit, as a worker's batch
	benchLoadedFor = 50_000  // profiles on disk for the Get benchmark
)

// BenchmarkCommit measures the cost of encryption at rest on the store's two
// hot paths, on disk with the pipeline tests' 64 MiB memory budget:
//
//   - op=commit: one Commit of 500 profile-sized values (630 B average) plus
//     the offset, overwriting profiles drawn from 100k already stored, so
//     memtable flushes and compactions are part of the cost;
//   - op=get: one Get of a random profile from 50k written, flushed,
//     reopened and compacted, so reads go through the tables (block cache
//     16 MiB, smaller than the data) rather than the memtable.
//
// MB/s counts value bytes. cpu-ns/op is the process's CPU time per op,
// Badger's background flushes and compactions included; on a shared
// machine it is steadier than ns/op. Compare with benchstat -col
// /encryption.
func BenchmarkCommit(b *testing.B) {
	values := profileValues(1024)
	var avg int
	for _, v := range values {
		avg += len(v)
	}
	avg /= len(values)
	key := []byte("0123456789abcdef0123456789abcdef") // AES-256
	for _, enc := range []bool{false, true} {
		opts := func(dir string) Options {
			o := Options{Dir: dir, MemoryBudget: 64 << 20, GCInterval: -1}
			if enc {
				o.EncryptionKey = key
			}
			return o
		}
		name := map[bool]string{false: "off", true: "on"}[enc]
		b.Run("op=commit/encryption="+name, func(b *testing.B) {
			db, err := Open(opts(b.TempDir()))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			p := db.Partition("merge", 0)
			r := rand.New(rand.NewPCG(3, 4))
			keys := make([][]byte, benchKeys)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "cust-%08d", i)
			}
			// Start from every profile stored once, so that the timed
			// commits are the overwrites of a running pipeline whatever
			// b.N turns out to be.
			var batch Batch
			for i := 0; i < len(keys); i += benchBatch {
				batch.Reset()
				for _, k := range keys[i:min(i+benchBatch, len(keys))] {
					batch.Set('p', k, values[r.IntN(len(values))])
				}
				if err := p.Commit(&batch, int64(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(benchBatch * avg))
			b.ReportAllocs()
			cpu := cpuTime(b)
			n := 0
			for ; b.Loop(); n++ {
				batch.Reset()
				for range benchBatch {
					batch.Set('p', keys[r.IntN(len(keys))], values[r.IntN(len(values))])
				}
				if err := p.Commit(&batch, int64(len(keys)+n)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-cpu)/float64(n), "cpu-ns/op")
		})
		b.Run("op=get/encryption="+name, func(b *testing.B) {
			dir := b.TempDir()
			db, err := Open(opts(dir))
			if err != nil {
				b.Fatal(err)
			}
			p := db.Partition("merge", 0)
			var batch Batch
			for i := 0; i < benchLoadedFor; i += benchBatch {
				batch.Reset()
				for j := i; j < i+benchBatch; j++ {
					batch.Set('p', fmt.Appendf(nil, "cust-%08d", j), values[j%len(values)])
				}
				if err := p.Commit(&batch, int64(i)); err != nil {
					b.Fatal(err)
				}
			}
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			if db, err = Open(opts(dir)); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			// Let the tables flushed at Close settle, as on a node that has
			// been running a while: reads right after a reopen race L0
			// compaction and vary tenfold.
			if err := db.bdb.Flatten(2); err != nil {
				b.Fatal(err)
			}
			p = db.Partition("merge", 0)
			r := rand.New(rand.NewPCG(5, 6))
			k := make([]byte, 0, 16)
			b.SetBytes(int64(avg))
			b.ReportAllocs()
			cpu := cpuTime(b)
			n := 0
			for ; b.Loop(); n++ {
				k = fmt.Appendf(k[:0], "cust-%08d", r.IntN(benchLoadedFor))
				if _, err := p.Get('p', k); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-cpu)/float64(n), "cpu-ns/op")
		})
	}
}
