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
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
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
	// GCInterval is how often value-log garbage collection runs; zero means
	// 5 minutes, negative disables it.
	GCInterval time.Duration
	// Logger receives Badger's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// DB is an open state database.
type DB struct {
	bdb    *badger.DB
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
		WithCompression(options.Snappy)
	bo = sized(bo, o.MemoryBudget)
	if o.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	bdb, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("opening badger at %q: %w", o.Dir, err)
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
	return db, nil
}

// sized derives Badger's memory settings from one budget. Badger's defaults
// (5 × 64 MiB memtables, 256 MiB block cache) assume a dedicated large
// machine; measured on this project's 2-core nodes they peak at 3-4 GB RSS.
func sized(bo badger.Options, budget int64) badger.Options {
	mem := clamp(budget/8, 4<<20, 64<<20)
	return bo.
		WithMemTableSize(mem).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBlockCacheSize(clamp(budget/4, 8<<20, 1<<30)).
		WithIndexCacheSize(clamp(budget/8, 4<<20, 512<<20)).
		WithBaseTableSize(clamp(mem/4, 1<<20, 8<<20)).
		WithValueLogFileSize(64 << 20)
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
		return fmt.Errorf("store: data directory has layout %v, this build reads layout %d", have, layoutVersion)
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
	var out []byte
	err := p.db.bdb.View(func(txn *badger.Txn) error {
		it, err := txn.Get(p.key(kind, key))
		if err != nil {
			return err
		}
		out, err = it.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return open(out)
}

// Offset returns the offset of the last input record whose effects are
// stored, or -1 when there is none.
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

// Batch collects writes for one Commit.
type Batch struct {
	sets []kv
	size int
}

type kv struct {
	kind  byte
	key   []byte
	value []byte // nil means delete
}

// Set stores value under (kind, key). The slices are retained until Commit.
func (b *Batch) Set(kind byte, key, value []byte) {
	b.sets = append(b.sets, kv{kind, key, seal(value)})
	b.size += len(key) + len(value) + 16
}

// Delete removes (kind, key).
func (b *Batch) Delete(kind byte, key []byte) {
	b.sets = append(b.sets, kv{kind: kind, key: key})
	b.size += len(key) + 16
}

// Len returns the number of writes.
func (b *Batch) Len() int { return len(b.sets) }

// Size returns the approximate bytes the batch writes.
func (b *Batch) Size() int { return b.size }

// Reset empties the batch for reuse.
func (b *Batch) Reset() { b.sets, b.size = b.sets[:0], 0 }

// Commit writes the batch and the offset atomically. Offset -1 leaves the
// stored offset as it is.
func (p *Partition) Commit(b *Batch, offset int64) error {
	txn := p.db.bdb.NewTransaction(true)
	defer txn.Discard()
	for _, w := range b.sets {
		var err error
		if w.value == nil {
			err = txn.Delete(p.key(w.kind, w.key))
		} else {
			err = txn.Set(p.key(w.kind, w.key), w.value)
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
	}
	return err
}

// badgerLogger forwards Badger's warnings and errors to slog and drops its
// chatty info and debug lines.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn("badger: " + fmt.Sprintf(f, a...)) }
func (badgerLogger) Infof(string, ...any)          {}
func (badgerLogger) Debugf(string, ...any)         {}
