package processor

import "github.com/prometheus/client_golang/prometheus"

// stateCache keeps the committed state values a partition read or wrote
// recently, so that the hot profiles of a skewed load (a few customers with
// thousands of events) are not read back from Badger and its block cache
// for every batch. It holds committed values only: a round's own writes
// live in the worker's overlay until the round commits, so an aborted round
// leaves the cache as it was.
//
// Eviction is by two generations, an approximation of LRU that costs one
// map operation per access: new and re-read entries go into the young
// generation; when it holds half the limit, the old generation is dropped
// and the young one becomes old. Everything read in the last half-limit
// of traffic stays.
//
// A cache belongs to one worker and is used only by its goroutine.
type stateCache struct {
	limit      int64 // bytes for both generations; 0 disables the cache
	young, old map[string][]byte
	youngBytes int64
	oldBytes   int64
	m          *cacheMetrics
}

// cacheEntryOverhead approximates a map entry's own bytes besides the key
// and value: the string and slice headers and the bucket slot.
const cacheEntryOverhead = 64

type cacheMetrics struct {
	hits, misses prometheus.Counter
	bytes        prometheus.Gauge
}

func newCacheMetrics(reg prometheus.Registerer) *cacheMetrics {
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "profiled_state_cache_lookups_total",
		Help: "State reads that missed the round's own writes, by whether the in-memory cache of committed state answered them (hit) or the store did (miss).",
	}, []string{"result"})
	m := &cacheMetrics{
		hits:   lookups.WithLabelValues("hit"),
		misses: lookups.WithLabelValues("miss"),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "profiled_state_cache_bytes",
			Help: "Approximate bytes held by the in-memory caches of committed state (keys, values and per-entry overhead), all partitions.",
		}),
	}
	if reg != nil {
		reg.MustRegister(lookups, m.bytes)
	}
	return m
}

func newStateCache(limit int64, m *cacheMetrics) *stateCache {
	return &stateCache{limit: limit, young: map[string][]byte{}, old: map[string][]byte{}, m: m}
}

func entrySize(key string, value []byte) int64 {
	return int64(len(key)+cap(value)) + cacheEntryOverhead
}

// get returns the cached value of key (kind byte + key). Indexing with
// string(key) does not allocate.
func (c *stateCache) get(key []byte) ([]byte, bool) {
	if c.limit <= 0 {
		return nil, false
	}
	if v, ok := c.young[string(key)]; ok {
		c.m.hits.Inc()
		return v, true
	}
	if v, ok := c.old[string(key)]; ok {
		c.m.hits.Inc()
		// Still in use: keep it past the next generation change.
		k := string(key)
		delete(c.old, k)
		size := entrySize(k, v)
		c.oldBytes -= size
		c.m.bytes.Sub(float64(size))
		c.add(k, v)
		return v, true
	}
	c.m.misses.Inc()
	return nil, false
}

// put caches the committed value of key; a nil value removes it (a
// deleted key is read from the store, which knows it is gone).
func (c *stateCache) put(key []byte, value []byte) {
	if c.limit <= 0 {
		return
	}
	k := string(key)
	c.remove(k)
	if value != nil {
		c.add(k, value)
	}
}

func (c *stateCache) remove(k string) {
	if v, ok := c.young[k]; ok {
		delete(c.young, k)
		size := entrySize(k, v)
		c.youngBytes -= size
		c.m.bytes.Sub(float64(size))
	}
	if v, ok := c.old[k]; ok {
		delete(c.old, k)
		size := entrySize(k, v)
		c.oldBytes -= size
		c.m.bytes.Sub(float64(size))
	}
}

func (c *stateCache) add(k string, v []byte) {
	size := entrySize(k, v)
	if size > c.limit/4 {
		return // one huge value must not flush everything else
	}
	if c.youngBytes+size > c.limit/2 {
		c.m.bytes.Sub(float64(c.oldBytes))
		c.old, c.oldBytes = c.young, c.youngBytes
		c.young, c.youngBytes = make(map[string][]byte, len(c.old)), 0
	}
	c.young[k] = v
	c.youngBytes += size
	c.m.bytes.Add(float64(size))
}

// reset empties the cache (the partition's stored state was dropped).
func (c *stateCache) reset() {
	c.m.bytes.Sub(float64(c.youngBytes + c.oldBytes))
	clear(c.young)
	clear(c.old)
	c.youngBytes, c.oldBytes = 0, 0
}
