// Package store keeps processor state in Badger.
//
// # Layout
//
// The database is split into partition namespaces, one per (stage, topic,
// partition) that a processor owns, so that a partition's state can later be
// dropped or rebuilt on its own. Every key is
//
//	[layout version][uvarint len(ns)][ns][partition uint32 BE][kind][key]
//
// and every value is wrapped in an envelope [format version][CRC-32C][payload]
// so that a flipped bit on disk is reported as ErrCorrupt instead of being
// merged into a profile.
//
// # Atomicity
//
// Partition.Commit writes a batch of state changes together with the offset
// of the last input record they reflect in one Badger transaction: after a
// crash the state and the offset agree, so the consumer skips exactly what was
// applied (nothing applied twice, nothing lost).
//
// # Encryption at rest
//
// Options.EncryptionKey turns on Badger's encryption (AES-128, -192 or -256
// by the key's length; ParseKey reads a key file). The key given is the
// master key and is never written anywhere: Badger generates random data
// keys, encrypts them with the master key into the directory's KEYREGISTRY
// file, and encrypts with them, in AES-CTR, every SST block and table index,
// the memtable write-ahead logs and the value log. A new data key is made
// every Options.KeyRotation (Badger's default: 10 days); old ones stay in
// the registry for the files still written with them. Keys, values and
// offsets are all covered; the MANIFEST (table numbers and levels) and file
// names, sizes and times are not.
//
// Whether a directory is encrypted is fixed when it is created. Open
// refuses, with an error wrapping ErrEncryptionKey whose message says which
// case it is, an encryption key of the wrong length (before the directory is
// touched), an encrypted directory opened without a key or with a different
// key, a plain directory opened with a key (Badger refuses it too: it has no
// in-place conversion, and a half-encrypted directory is not something to
// leave behind), and a directory whose data files survived but whose
// KEYREGISTRY did not. Badger checks the key against KEYREGISTRY before it
// opens any table or log; nothing is created, deleted or rewritten on these
// paths.
//
// Cost, measured with BenchmarkCommit and processor's
// BenchmarkPipelineEncryption (AES-256, 64 MiB memory budget, a shared
// 2-core VM, medians of 8 runs of one process each, order alternated):
//
//   - Commit of 500 profile states (630 B) and the offset: 10.3 → 12.7 ms
//     (×1.24), and about twice the bytes allocated (2.8 → 5.2 MiB), as
//     Badger encrypts copies of every entry for its write-ahead log and of
//     every block it writes into a table;
//   - Get from tables larger than the block cache: 7.9 → 10.5 µs (×1.33),
//     from decrypting blocks on cache misses and table indexes on index
//     cache misses (encrypted indexes are kept only in that cache);
//   - the reference pipeline end to end: no measurable change (1.38 s both
//     ways; CPU 2.14 → 2.27 s, within the noise): Kafka and merging
//     dominate.
//
// A lost master key cannot be recovered from the directory: its state is
// unreadable, and Open keeps refusing it. The state is derived from what the
// Kafka topics hold, so the remedy is a rebuild, the same as for encrypting
// a plain directory or decrypting an encrypted one: stop the instance,
// delete the state directory, and start it again (with the new key or
// none): the processor resumes every partition where its store says, so an
// empty store re-reads the input and repartition topics from the beginning.
// What the topics no longer retain cannot be rebuilt.
package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Sentinel errors; badger's own errors never leave this package.
var (
	ErrNotFound = errors.New("store: not found")
	ErrCorrupt  = errors.New("store: corrupt value")
	ErrClosed   = errors.New("store: closed")
	ErrTooBig   = errors.New("store: batch too big for one transaction")
	// ErrEncryptionKey reports an encryption key that cannot open the
	// directory: of the wrong length, missing for an encrypted directory,
	// different from the one the directory was written with, or given for a
	// directory that is not encrypted. The message says which.
	ErrEncryptionKey = errors.New("store: encryption key")
)

const (
	layoutVersion = 1
	valueVersion  = 1
	kindOffset    = 'o'
)

var (
	layoutKey  = []byte("\x00profiled.layout")
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// Options configures a DB.
type Options struct {
	// Dir is the data directory. Required unless InMemory.
	Dir string
	// InMemory keeps everything in memory (unit tests only).
	InMemory bool
	// SyncWrites fsyncs every commit. Off by default: Kafka holds the input,
	// and a crash loses at most the unsynced tail, which the offset stored in
	// the same write makes the consumer re-read.
	SyncWrites bool
	// MemoryBudget bounds Badger's memtables and caches, in bytes. Zero means
	// 256 MiB.
	MemoryBudget int64
	// MappedLimit bounds the process's resident file-backed memory, which
	// is mostly the pages of Badger's memory-mapped tables: past it, the
	// tables' pages are handed back to the kernel (see mapped.go). Zero
	// leaves them to the kernel. Linux only; ignored with InMemory.
	MappedLimit int64
	// GCInterval is how often value-log garbage collection runs; zero means
	// 5 minutes, negative disables it.
	GCInterval time.Duration
	// Logger receives Badger's warnings and errors; nil discards them.
	Logger *slog.Logger
	// EncryptionKey, when set, encrypts the directory at rest with AES-128,
	// -192 or -256: it must be 16, 24 or 32 bytes (see ParseKey). Nil or
	// empty means no encryption. A directory keeps the choice it was created
	// with; see the package documentation. Open copies the key.
	EncryptionKey []byte
	// KeyRotation is how often a new data key is generated under the
	// encryption key; zero means Badger's default (10 days). Ignored without
	// an EncryptionKey; negative is an error.
	KeyRotation time.Duration
}

// DB is an open state database.
type DB struct {
	bdb    *badger.DB
	rec    *reclaimer // nil without Options.MappedLimit
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Open opens (creating if needed) the database.
func Open(o Options) (*DB, error) {
	if !o.InMemory && o.Dir == "" {
		return nil, errors.New("store: a directory is required")
	}
	// Check the key before anything touches the directory: Badger creates
	// the directory and a MANIFEST before it looks at the key's length.
	if n := len(o.EncryptionKey); n != 0 && !validKeyLen(n) {
		return nil, fmt.Errorf("%w: must be 16, 24 or 32 bytes (AES-128, -192 or -256), got %d bytes", ErrEncryptionKey, n)
	}
	if o.KeyRotation < 0 {
		return nil, fmt.Errorf("store: negative KeyRotation %v", o.KeyRotation)
	}
	// Badger keeps the slice and encrypts every new data key with it: a
	// caller wiping its copy after Open must not change ours.
	var key []byte
	if len(o.EncryptionKey) > 0 {
		key = bytes.Clone(o.EncryptionKey)
	}
	if !o.InMemory {
		if err := checkKeyRegistry(o.Dir); err != nil {
			return nil, err
		}
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = 256 << 20
	}
	if o.GCInterval == 0 {
		o.GCInterval = 5 * time.Minute
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bo := badger.DefaultOptions(o.Dir).
		WithInMemory(o.InMemory).
		WithSyncWrites(o.SyncWrites).
		WithLogger(badgerLogger{log}).
		// Single writer per partition and no read-modify-write races across
		// goroutines: conflict detection would only cost memory and time.
		WithDetectConflicts(false).
		WithNumCompactors(2).
		WithCompression(options.Snappy).
		WithEncryptionKey(key)
	if o.KeyRotation > 0 {
		bo = bo.WithEncryptionKeyRotationDuration(o.KeyRotation)
	}
	bo = sized(bo, o.MemoryBudget)
	if o.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	bdb, err := openBadger(bo)
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		// Badger answers every key problem with this one error, having
		// changed nothing on disk; say which problem it is.
		return nil, keyMismatch(o.Dir, key != nil)
	}
	if err != nil {
		if looksCorrupt(err) {
			return nil, fmt.Errorf("opening badger at %q: %w: %w", o.Dir, ErrCorrupt, err)
		}
		return nil, fmt.Errorf("opening badger at %q: %w", o.Dir, mapErr(err))
	}
	db := &DB{bdb: bdb, log: log}
	if err := db.checkLayout(); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	db.cancel = cancel
	if o.GCInterval > 0 && !o.InMemory {
		db.wg.Add(1)
		go db.gcLoop(ctx, o.GCInterval)
	}
	if o.MappedLimit > 0 && !o.InMemory {
		db.rec = newReclaimer(o.Dir, o.MappedLimit)
		db.wg.Add(1)
		go func() {
			defer db.wg.Done()
			db.rec.run(ctx, log.Warn)
		}()
	}
	return db, nil
}

// looksCorrupt tells damaged files (a torn MANIFEST, a table whose checksum
// fails) from problems the operator must fix (a directory locked by another
// process, permissions, a full disk), which must never be answered by
// moving the state aside.
func looksCorrupt(err error) bool {
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "lock") || strings.Contains(msg, "permission") || strings.Contains(msg, "no space") {
		return false
	}
	for _, s := range []string{"checksum", "corrupt", "manifest", "truncate", "bad magic", "unexpected eof"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// sized derives Badger's memory settings from one budget. Badger's defaults
// (5 × 64 MiB memtables, 256 MiB block cache) assume a dedicated large
// machine; measured on this project's 2-core nodes they peak at 3-4 GB RSS.
// The budget covers the memtables (an eighth: two of budget/16), the block
// cache (an eighth), the index cache (a sixteenth) and what compactions
// build: a compaction builds up to 8 tables at once, each holding twice the
// table size while it is built, and two compactors run, so tables are
// budget/100 and do not grow by level (a multiplier would let the deepest
// levels' builders outgrow any budget).
//
// Memtables are budget/16, not the budget/8 they were: a memtable flush
// builds its whole level-0 table in Go memory (the uncompressed blocks and
// their compressed copies, in an allocator that grows by doubling), and at
// budget/8 that builder was the largest thing on the heap of the 1 M run
// (144 MiB), which ran at the Go limit. Halving it gave that run 9 % more
// events/s and 14 % less CPU per event (26.0 k against 23.6-23.8 k; 52.5
// against 58-61 CPU s per million) at the same peak RSS, although level 0
// now fills, and compacts, twice as often (docs/benchmarks.md).
//
// Level 0 compacts at 8 tables (Badger's default is 5, and this package
// had 2): profile ids are hashed, so every level-0 table overlaps all of
// the next level, and each level-0 compaction rewrites that level whole;
// doing it once per 8 flushes instead of 2 cut the CPU of a store-only
// load like the 1 M-profile benchmark's (1 M keys, 2.4 M read-modify-writes
// of 630 B) from 184-191 s to 160 s. Reads check more level-0 tables, by
// their bloom filters.
func sized(bo badger.Options, budget int64) badger.Options {
	// Badger refuses memtables whose batch limit (15 %) is below its 1 MiB
	// value threshold, so 8 MiB is the floor.
	mem := clamp(budget/16, 8<<20, 64<<20)
	bo = bo.
		WithMemTableSize(mem).
		WithNumMemtables(2).
		WithNumLevelZeroTables(8).
		WithNumLevelZeroTablesStall(16).
		WithBlockCacheSize(clamp(budget/8, 8<<20, 1<<30)).
		WithIndexCacheSize(clamp(budget/16, 4<<20, 512<<20)).
		WithBaseTableSize(clamp(budget/100, 1<<20, 8<<20)).
		WithValueLogFileSize(64 << 20)
	bo.TableSizeMultiplier = 1 // no With method in badger v4
	return guardCaches(bo)
}

// guardCaches keeps Badger from panicking over its caches, whatever sized
// becomes: Open panics when compression or encryption is on and
// BlockCacheSize is 0, and reading an encrypted table panics when
// IndexCacheSize is 0 (encrypted indexes are only kept, decrypted, in that
// cache).
func guardCaches(bo badger.Options) badger.Options {
	encrypted := len(bo.EncryptionKey) > 0
	if bo.BlockCacheSize <= 0 && (bo.Compression != options.None || encrypted) {
		bo.BlockCacheSize = 8 << 20
	}
	if bo.IndexCacheSize <= 0 && encrypted {
		bo.IndexCacheSize = 4 << 20
	}
	return bo
}

// openBadger is badger.Open, with a panic over its options turned into an
// error: Open must not take the process down.
func openBadger(bo badger.Options) (bdb *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			bdb, err = nil, fmt.Errorf("store: badger refused its options: %v", r)
		}
	}()
	bdb, err = badger.Open(bo)
	if err != nil {
		// Badger may return a (cleaned-up) DB along with the error.
		return nil, err
	}
	return bdb, nil
}

func clamp(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }

func (db *DB) checkLayout() error {
	var have []byte
	err := db.bdb.View(func(txn *badger.Txn) error {
		it, err := txn.Get(layoutKey)
		if err != nil {
			return err
		}
		have, err = it.ValueCopy(nil)
		return err
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return db.bdb.Update(func(txn *badger.Txn) error {
			return txn.Set(layoutKey, []byte{layoutVersion})
		})
	case err != nil:
		return fmt.Errorf("reading layout version: %w", err)
	case len(have) != 1 || have[0] != layoutVersion:
		return fmt.Errorf("%w: data directory has layout %v, this build reads layout %d", ErrCorrupt, have, layoutVersion)
	}
	return nil
}

// Close stops background work and closes the database. It is safe to call
// more than once.
func (db *DB) Close() error {
	var err error
	db.once.Do(func() {
		if db.cancel != nil {
			db.cancel()
		}
		db.wg.Wait()
		err = db.bdb.Close()
	})
	return err
}

// MappedStats reports what the reclaimer of mapped table pages did (zero
// without Options.MappedLimit).
func (db *DB) MappedStats() MappedStats {
	if db.rec == nil {
		return MappedStats{}
	}
	return db.rec.stats()
}

func (db *DB) gcLoop(ctx context.Context, every time.Duration) {
	defer db.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Rewrite value-log files until there is nothing left worth
		// rewriting; Badger never reclaims space on its own.
		for ctx.Err() == nil {
			if err := db.bdb.RunValueLogGC(0.5); err != nil {
				if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
					db.log.Warn("value log gc failed", "err", err)
				}
				break
			}
		}
	}
}

// MaxBatch returns how many writes and bytes one Commit can hold: Badger
// refuses larger transactions. Callers split their batches below it.
func (db *DB) MaxBatch() (count, bytes int64) {
	return db.bdb.MaxBatchCount(), db.bdb.MaxBatchSize()
}

// Size returns the bytes of the LSM tree's tables (.sst files) and of the
// value log (.vlog files) in the directory. It lists the directory on
// every call rather than using Badger's own figure, which is refreshed
// only once a minute; a listing of the few dozen files costs microseconds.
// Sizes are the files' lengths: the value-log file being written counts at
// its preallocated length. Both are zero in memory.
func (db *DB) Size() (lsm, vlog int64) {
	dir := db.bdb.Opts().Dir
	if db.bdb.Opts().InMemory || dir == "" {
		return 0, 0
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0
	}
	for _, e := range entries {
		var n *int64
		switch filepath.Ext(e.Name()) {
		case ".sst":
			n = &lsm
		case ".vlog":
			n = &vlog
		default:
			continue
		}
		if info, err := e.Info(); err == nil {
			*n += info.Size()
		}
	}
	return lsm, vlog
}

// Partition returns the handle of one partition namespace. Handles are
// cheap; a partition must have one writer at a time.
func (db *DB) Partition(ns string, partition int32) *Partition {
	p := make([]byte, 0, 1+binary.MaxVarintLen64+len(ns)+4)
	p = append(p, layoutVersion)
	p = binary.AppendUvarint(p, uint64(len(ns)))
	p = append(p, ns...)
	p = binary.BigEndian.AppendUint32(p, uint32(partition))
	return &Partition{db: db, prefix: p}
}

// Partition is one partition namespace.
type Partition struct {
	db     *DB
	prefix []byte
}

func (p *Partition) key(kind byte, k []byte) []byte {
	out := make([]byte, 0, len(p.prefix)+1+len(k))
	out = append(out, p.prefix...)
	out = append(out, kind)
	return append(out, k...)
}

// Get returns the value stored under (kind, key), or ErrNotFound.
func (p *Partition) Get(kind byte, key []byte) ([]byte, error) {
	var (
		out  []byte
		rerr error // already mapped by read
	)
	if err := p.db.bdb.View(func(txn *badger.Txn) error {
		out, rerr = read(txn, p.key(kind, key))
		return nil
	}); err != nil {
		return nil, mapErr(err) // the DB is closed
	}
	return out, rerr
}

// read returns the opened value stored under a full key, or ErrNotFound.
func read(txn *badger.Txn, key []byte) ([]byte, error) {
	it, err := txn.Get(key)
	if err != nil {
		return nil, mapErr(err)
	}
	v, err := it.ValueCopy(nil)
	if err != nil {
		return nil, mapErr(err)
	}
	return open(v)
}

// Reader reads a partition's state as of the moment it was opened, for a
// run of reads that no write of the partition interleaves (a worker's job).
// Each Get alone opens and closes a Badger read transaction, which passes
// twice through Badger's single watermark goroutine: with millions of
// reads, mostly of keys that are not there (de-duplication markers), that
// hand-off cost more scheduling than the reads did.
type Reader struct {
	p   *Partition
	txn *badger.Txn
	key []byte
}

// Reader opens a Reader; Close it when the run of reads ends.
func (p *Partition) Reader() (*Reader, error) {
	// Badger's View checks the same: a read transaction opened on a closed
	// DB waits for its watermark goroutine, which is gone, for ever.
	if p.db.bdb.IsClosed() {
		return nil, mapErr(badger.ErrDBClosed)
	}
	return &Reader{p: p, txn: p.db.bdb.NewTransaction(false)}, nil
}

// Get returns the value stored under (kind, key), or ErrNotFound.
func (r *Reader) Get(kind byte, key []byte) ([]byte, error) {
	r.key = append(append(append(r.key[:0], r.p.prefix...), kind), key...)
	return read(r.txn, r.key)
}

// Close ends the Reader's transaction.
func (r *Reader) Close() {
	// Discarding after the DB closed would queue on the gone watermark
	// goroutine's channel, which blocks once its buffer is full.
	if !r.p.db.bdb.IsClosed() {
		r.txn.Discard()
	}
}

// Offset returns the checkpoint stored with the last Commit (for the
// pipeline: the offset of the last changelog record the partition's state
// reflects), or -1 when there is none.
func (p *Partition) Offset() (int64, error) {
	v, err := p.Get(kindOffset, nil)
	if errors.Is(err, ErrNotFound) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: offset of %d bytes", ErrCorrupt, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// Drop deletes everything the partition holds, checkpoint included, so that
// it can be rebuilt from its changelog. Badger blocks other writes while it
// drops a prefix, so this is for rare events (a corrupt value, a partition
// that was moved away for good).
func (p *Partition) Drop() error {
	if err := p.db.bdb.DropPrefix(p.prefix); err != nil {
		return fmt.Errorf("dropping partition state: %w", mapErr(err))
	}
	return nil
}

// Batch collects writes for one Commit.
type Batch struct {
	sets []kv
	size int
}

type kv struct {
	kind    byte
	deleted bool
	key     []byte
	value   []byte
}

// Set stores value under (kind, key). The slices are retained until Commit.
func (b *Batch) Set(kind byte, key, value []byte) {
	b.sets = append(b.sets, kv{kind: kind, key: key, value: value})
	b.size += len(key) + len(value) + 16
}

// Delete removes (kind, key).
func (b *Batch) Delete(kind byte, key []byte) {
	b.sets = append(b.sets, kv{kind: kind, key: key, deleted: true})
	b.size += len(key) + 16
}

// Len returns the number of writes.
func (b *Batch) Len() int { return len(b.sets) }

// Size returns the approximate bytes the batch writes.
func (b *Batch) Size() int { return b.size }

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	clear(b.sets)
	b.sets, b.size = b.sets[:0], 0
}

// Each calls fn for every write in order; value is nil for a delete. This
// is how the pipeline mirrors a batch into its changelog.
func (b *Batch) Each(fn func(kind byte, key, value []byte, deleted bool)) {
	for _, w := range b.sets {
		fn(w.kind, w.key, w.value, w.deleted)
	}
}

// Commit writes the batch and the checkpoint offset atomically. Offset -1
// leaves the stored offset as it is.
func (p *Partition) Commit(b *Batch, offset int64) error {
	txn := p.db.bdb.NewTransaction(true)
	defer txn.Discard()
	for _, w := range b.sets {
		var err error
		if w.deleted {
			err = txn.Delete(p.key(w.kind, w.key))
		} else {
			err = txn.Set(p.key(w.kind, w.key), seal(w.value))
		}
		if err != nil {
			return fmt.Errorf("staging write: %w", mapErr(err))
		}
	}
	if offset >= 0 {
		if err := txn.Set(p.key(kindOffset, nil), seal(binary.BigEndian.AppendUint64(nil, uint64(offset)))); err != nil {
			return fmt.Errorf("staging offset: %w", mapErr(err))
		}
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("committing batch: %w", mapErr(err))
	}
	return nil
}

// CommitAll writes a batch that may exceed one Badger transaction: it is
// split into transactions below MaxBatch, and the checkpoint offset is
// written with the last one. A crash part way leaves some writes stored
// under the old checkpoint; replaying from that checkpoint rewrites the
// same keys with the same values, so the partition ends up the same.
func (p *Partition) CommitAll(b *Batch, offset int64) error {
	maxN, maxB := p.db.MaxBatch()
	// Leave room for the checkpoint and Badger's per-entry overhead.
	maxN, maxB = maxN*4/5, maxB*4/5
	var chunk Batch
	for i, w := range b.sets {
		size := len(w.key) + len(w.value) + 16
		if chunk.Len() > 0 && (int64(chunk.Len()+1) > maxN || int64(chunk.size+size) > maxB) {
			if err := p.Commit(&chunk, -1); err != nil {
				return err
			}
			chunk = Batch{}
		}
		chunk.sets = append(chunk.sets, b.sets[i])
		chunk.size += size
	}
	return p.Commit(&chunk, offset)
}

// seal wraps a payload in the value envelope.
func seal(payload []byte) []byte {
	out := make([]byte, 5, 5+len(payload))
	out[0] = valueVersion
	binary.BigEndian.PutUint32(out[1:], crc32.Checksum(payload, castagnoli))
	return append(out, payload...)
}

// open checks and strips the value envelope.
func open(v []byte) ([]byte, error) {
	if len(v) < 5 || v[0] != valueVersion {
		return nil, fmt.Errorf("%w: bad envelope", ErrCorrupt)
	}
	payload := v[5:]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(v[1:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return payload, nil
}

func mapErr(err error) error {
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return ErrNotFound
	case errors.Is(err, badger.ErrDBClosed), errors.Is(err, badger.ErrBlockedWrites):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, badger.ErrTxnTooBig):
		return fmt.Errorf("%w: %w", ErrTooBig, err)
	case errors.Is(err, badger.ErrEncryptionKeyMismatch), errors.Is(err, badger.ErrInvalidEncryptionKey):
		return fmt.Errorf("%w: %w", ErrEncryptionKey, err)
	}
	return err
}

func validKeyLen(n int) bool { return n == 16 || n == 24 || n == 32 }

// registrySanity is what Badger writes after the 16-byte IV at the start of
// KEYREGISTRY, encrypted with the master key when there is one and in clear
// when there is none (badger/key_registry.go, sanityText). Badger compares
// it to tell a matching key; store compares it only to word the error when
// Badger has already refused.
var registrySanity = []byte("Hello Badger")

// keyMismatch words Badger's ErrEncryptionKeyMismatch, which it returns for
// an encrypted directory opened without a key, one opened with another key,
// and a plain directory opened with a key.
func keyMismatch(dir string, haveKey bool) error {
	if !haveKey {
		return fmt.Errorf("%w: the state directory is encrypted and no key was given (%s); "+
			"give the key it was written with, or "+rebuildHow, ErrEncryptionKey, dir)
	}
	plain, err := registryIsPlain(dir)
	switch {
	case err != nil:
		return fmt.Errorf("%w: the encryption key does not match the state directory %s, "+
			"which is either encrypted with another key or not encrypted (reading its key registry: %w)", ErrEncryptionKey, dir, err)
	case plain:
		return fmt.Errorf("%w: the state directory is not encrypted; to encrypt it, rebuild it (state is rebuilt from Kafka): "+
			"stop the instance, delete %s, re-read the topics from the start and start again with the key "+
			"(see the store package documentation), or start without a key to keep it as it is", ErrEncryptionKey, dir)
	}
	return fmt.Errorf("%w: the encryption key does not match the one the state directory was written with (%s); "+
		"give that key, or, if it is lost, "+rebuildHow, ErrEncryptionKey, dir)
}

// rebuildHow ends the errors for a directory that cannot be opened.
const rebuildHow = "rebuild the state from Kafka: delete the directory and re-read the topics from the start " +
	"(see the store package documentation)"

// registryIsPlain reports whether dir's key registry was written without a
// master key.
func registryIsPlain(dir string) (bool, error) {
	f, err := os.Open(filepath.Join(dir, badger.KeyRegistryFileName))
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	head := make([]byte, aes.BlockSize+len(registrySanity))
	if _, err := io.ReadFull(f, head); err != nil {
		return false, err
	}
	return bytes.Equal(head[aes.BlockSize:], registrySanity), nil
}

// checkKeyRegistry refuses a directory holding data files but no
// KEYREGISTRY. Badger would write a fresh registry for whatever key it is
// given: with the directory's old key lost, encrypted tables then fail to
// open only after the directory was changed, and a plain directory opened
// with a key would silently become half plain, half encrypted. (Badger
// writes KEYREGISTRY right after MANIFEST and before any data file, so a
// crash while creating a directory does not trip this.)
func checkKeyRegistry(dir string) error {
	_, err := os.Stat(filepath.Join(dir, badger.KeyRegistryFileName))
	if !errors.Is(err, fs.ErrNotExist) {
		return nil // present, or unreadable and Badger will say so
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // no directory yet
	}
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".sst", ".vlog", ".mem":
			return fmt.Errorf("%w: the state directory %s holds data files but no %s, so it cannot be read with or without a key; "+
				rebuildHow, ErrEncryptionKey, dir, badger.KeyRegistryFileName)
		}
	}
	return nil
}

// badgerLogger forwards Badger's warnings and errors to slog and drops its
// chatty info and debug lines.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn("badger: " + fmt.Sprintf(f, a...)) }
func (badgerLogger) Infof(string, ...any)          {}
func (badgerLogger) Debugf(string, ...any)         {}
