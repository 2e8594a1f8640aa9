package processor

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// MinMemoryBudget is the smallest process budget PlanMemory accepts: below
// it the fixed costs (a round's records in flight, the Kafka clients, the
// Go runtime) leave the store and the cache nothing useful.
const MinMemoryBudget = 256 << 20

// Memory divides one process-wide memory budget (profiled run
// --memory-budget) among everything that holds memory in proportion to
// load, so that the process's RSS stays under the budget whatever the size
// of the state:
//
//   - the Go runtime's soft limit (debug.SetMemoryLimit), which covers the
//     Go heap, and with it Badger's memtables and caches (they are Go
//     memory in a build without jemalloc), the state cache and the Kafka
//     clients' buffers; the rest of the budget (35 %) is left for what the
//     limit does not see: the pages of memory-mapped files, which count in
//     RSS while they are resident (the memtables' write-ahead logs, the
//     tables a read or a compaction touches, the executable);
//   - those mapped pages (store.Options.MappedLimit, 20 % of the budget, 4/7
//     of what is outside the Go limit): past it the tables' pages are given
//     back to the kernel; the remaining 15 % is what they may grow by
//     between two looks, and the runtime's own;
//   - Badger's memtables, block and index caches (store.Options.MemoryBudget);
//   - the cache of committed profile states in front of Badger;
//   - the consumer's fetch buffers and the producer's buffered bytes.
//
// The shares are fixed fractions measured on the benchmark load
// (docs/benchmarks.md); the live heap besides them (a round's input and
// output records, the merge of a batch) is about 100 MiB at the default
// round size.
type Memory struct {
	Budget     int64 // the whole process
	GoLimit    int64 // debug.SetMemoryLimit
	Store      int64 // store.Options.MemoryBudget
	StateCache int64 // Options.StateCacheBytes
	Mapped     int64 // store.Options.MappedLimit
	// FetchMaxBytes bounds one fetch response (all partitions of a
	// broker); FetchMaxPartitionBytes one partition's share of it. kgo
	// buffers one response per broker until it is polled, and a response
	// decompresses to a few times its size. A partition's share is a
	// 32nd of the response, so that a response over a backlog carries
	// many partitions, a few batches of records each, and a poll gives
	// work to many workers at once (with an 8th, a poll was mostly one
	// partition's records and left cores idle).
	FetchMaxBytes          int32
	FetchMaxPartitionBytes int32
	// ProduceBufferedBytes bounds the records produced but not yet
	// acknowledged (kgo.MaxBufferedBytes): a round's output waits there for
	// the broker.
	ProduceBufferedBytes int64
}

// PlanMemory divides budget bytes; see Memory.
func PlanMemory(budget int64) (Memory, error) {
	if budget < MinMemoryBudget {
		return Memory{}, fmt.Errorf("memory budget %d MiB is below the minimum of %d MiB", budget>>20, MinMemoryBudget>>20)
	}
	// A fetch response decompresses to about four times its size on the
	// wire (snappy on JSON) and stays referenced until its last record is
	// polled; a round (20,000 records) needs far less than one.
	fetch := clampInt64(budget/64, 4<<20, 32<<20)
	outside := clampInt64(budget*35/100, 64<<20, 4<<30) // what the Go limit does not see
	return Memory{
		Budget:                 budget,
		GoLimit:                budget - outside,
		Store:                  budget * 3 / 20,
		StateCache:             budget / 10,
		Mapped:                 outside * 4 / 7,
		FetchMaxBytes:          int32(fetch),
		FetchMaxPartitionBytes: int32(clampInt64(fetch/32, 128<<10, 4<<20)),
		ProduceBufferedBytes:   clampInt64(budget/25, 8<<20, 128<<20),
	}, nil
}

// ClientOpts are the Kafka client options of the plan.
func (m Memory) ClientOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.FetchMaxBytes(m.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(m.FetchMaxPartitionBytes),
		// kgo's default bounds records (10,000), not bytes; the round
		// produces many small records, so bytes are the binding bound.
		kgo.MaxBufferedRecords(1 << 20),
		kgo.MaxBufferedBytes(int(m.ProduceBufferedBytes)),
	}
}

func clampInt64(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }
