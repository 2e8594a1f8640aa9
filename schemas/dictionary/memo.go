package dictionary

import (
	"hash/maphash"
	"strings"
	"sync"
)

// memo remembers the results of an expensive pure function of a string, for
// the normalizers and validators that are costly (e164 parses with
// libphonenumber, tens of µs a value; email runs net/mail) and see the same
// inputs again and again: every CDC update of a customer row carries the same
// phone and address. Because the function is pure, a remembered result,
// error included, is exactly what calling it again would give.
//
// One Attribute, and so one memo, is shared by every partition goroutine, so
// the memo is split into shards, each behind its own mutex, by a hash of the
// input. Each shard keeps two generations of entries: lookups try the current
// one, then the previous one (moving a hit forward); when the current one is
// full (entries or bytes), it becomes the previous one and the old previous
// one is dropped. That bounds memory at two generations without per-entry
// bookkeeping, and keeps what is still being asked for.
//
// A hit allocates nothing: the map is indexed by the caller's string, and the
// result strings and error were made on the miss that stored them.
type memo struct {
	fn     func(string) (string, error)
	seed   maphash.Seed
	shards [memoShards]memoShard
	// Per shard and generation.
	maxEntries, maxBytes int
}

const (
	// memoShards splits contention between partition goroutines; a power
	// of two so that picking a shard is a mask.
	memoShards = 16
	// memoMaxInput is the longest input remembered. Real phone numbers and
	// addresses are far shorter; a huge value is computed each time rather
	// than pinning memory or flushing a generation.
	memoMaxInput = 256
	// memoEntryOverhead approximates, in bytes, what an entry costs beyond
	// its strings: the map slot (key and entry headers, control byte, load
	// factor) and an error value with its message.
	memoEntryOverhead = 128
	// The default bounds of one memo, over both generations of all shards:
	// ample for the customers active at one time (a miss costs only the
	// recomputation), and small next to the pipeline's other state.
	memoDefaultEntries = 1 << 15
	memoDefaultBytes   = 4 << 20
)

type memoShard struct {
	mu        sync.Mutex
	cur, prev map[string]memoEntry
	curBytes  int
	// Keeps neighbouring shards' mutexes off one cache line, so that
	// goroutines working on different shards do not slow each other down.
	_ [32]byte
}

type memoEntry struct {
	// key is the stored copy of the input, kept so that moving an entry
	// to the current generation needs no new copy of the caller's string.
	key string
	out string
	err error
}

// newMemo returns a memo of fn that holds at most about maxEntries entries
// and maxBytes bytes in all.
func newMemo(fn func(string) (string, error), maxEntries, maxBytes int) *memo {
	return &memo{
		fn:         fn,
		seed:       maphash.MakeSeed(),
		maxEntries: max(1, maxEntries/(2*memoShards)),
		maxBytes:   max(1, maxBytes/(2*memoShards)),
	}
}

// get returns fn(s), remembered or computed.
func (m *memo) get(s string) (string, error) {
	if len(s) > memoMaxInput {
		return m.fn(s)
	}
	sh := &m.shards[maphash.String(m.seed, s)&(memoShards-1)]
	sh.mu.Lock()
	e, ok := sh.cur[s]
	if !ok {
		if e, ok = sh.prev[s]; ok {
			sh.add(e, m.maxEntries, m.maxBytes)
		}
	}
	sh.mu.Unlock()
	if ok {
		return e.out, e.err
	}
	// Computed outside the lock: the function is slow, and two goroutines
	// computing the same input at once store the same result.
	out, err := m.fn(s)
	e = memoEntry{key: strings.Clone(s), err: err}
	if out == s {
		e.out = e.key
	} else {
		// The output may be a substring of the caller's input (trimmed,
		// say), which would pin the caller's buffer.
		e.out = strings.Clone(out)
	}
	sh.mu.Lock()
	sh.add(e, m.maxEntries, m.maxBytes)
	sh.mu.Unlock()
	return out, err
}

// add stores e in the current generation, first starting a new one when
// the current one is full. The caller holds sh.mu.
func (sh *memoShard) add(e memoEntry, maxEntries, maxBytes int) {
	size := e.size()
	if len(sh.cur) >= maxEntries || sh.curBytes+size > maxBytes {
		sh.prev, sh.cur, sh.curBytes = sh.cur, nil, 0
	}
	if sh.cur == nil {
		sh.cur = make(map[string]memoEntry)
	}
	if _, dup := sh.cur[e.key]; !dup {
		sh.curBytes += size
	}
	sh.cur[e.key] = e
}

func (e memoEntry) size() int {
	n := memoEntryOverhead + len(e.key)
	if e.out != e.key {
		n += len(e.out)
	}
	if e.err != nil {
		n += len(e.err.Error())
	}
	return n
}

// len returns the number of entries held, for tests.
func (m *memo) len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.cur) + len(sh.prev)
		sh.mu.Unlock()
	}
	return n
}
