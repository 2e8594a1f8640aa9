package processor

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStateCacheBoundedAndKeepsWhatIsRead(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newCacheMetrics(reg)
	const limit = 64 << 10
	c := newStateCache(limit, m)
	key := func(i int) []byte { return []byte(fmt.Sprintf("p%06d", i)) }
	val := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 100) }

	// A hot key read between every put survives any amount of other
	// traffic; cold keys are evicted so that the bytes stay bounded.
	c.put([]byte("hot"), []byte("hot value"))
	for i := range 10_000 {
		c.put(key(i), val(i))
		if v, ok := c.get([]byte("hot")); !ok || string(v) != "hot value" {
			t.Fatalf("after %d puts the hot entry is gone", i)
		}
		if held := c.youngBytes + c.oldBytes; held > limit {
			t.Fatalf("after %d puts the cache holds %d bytes, limit %d", i, held, limit)
		}
	}
	if got := testutil.ToFloat64(m.bytes); got != float64(c.youngBytes+c.oldBytes) {
		t.Fatalf("bytes gauge %v, held %d", got, c.youngBytes+c.oldBytes)
	}
	// The newest keys are there with their values, the oldest are gone.
	if v, ok := c.get(key(9_999)); !ok || !bytes.Equal(v, val(9_999)) {
		t.Fatalf("newest key: %v %q", ok, v)
	}
	if _, ok := c.get(key(0)); ok {
		t.Fatal("the oldest key is still cached after 10,000 puts into 64 KiB")
	}
	// A nil value removes the key (deleted state is read from the store).
	c.put(key(9_999), nil)
	if _, ok := c.get(key(9_999)); ok {
		t.Fatal("a deleted key is still cached")
	}
	// Re-putting a key replaces its value and its accounting.
	before := c.youngBytes + c.oldBytes
	c.put([]byte("hot"), []byte("hot value 2"))
	if v, _ := c.get([]byte("hot")); string(v) != "hot value 2" {
		t.Fatalf("replaced value: %q", v)
	}
	if after := c.youngBytes + c.oldBytes; after != before+int64(len("hot value 2")-len("hot value")) && after > before+64 {
		t.Fatalf("replacing one value moved the accounting from %d to %d", before, after)
	}
	c.reset()
	if got := testutil.ToFloat64(m.bytes); got != 0 {
		t.Fatalf("bytes gauge after reset: %v", got)
	}
	hits := testutil.ToFloat64(m.hits)
	misses := testutil.ToFloat64(m.misses)
	if hits < 10_000 || misses < 2 {
		t.Fatalf("hits %v, misses %v", hits, misses)
	}
}

func TestStateCacheDisabledAndHugeValues(t *testing.T) {
	m := newCacheMetrics(nil)
	off := newStateCache(0, m)
	off.put([]byte("k"), []byte("v"))
	if _, ok := off.get([]byte("k")); ok {
		t.Fatal("a disabled cache answered")
	}
	c := newStateCache(1<<10, m)
	c.put([]byte("small"), []byte("v"))
	c.put([]byte("huge"), make([]byte, 600))
	if _, ok := c.get([]byte("huge")); ok {
		t.Fatal("a value larger than a quarter of the cache was cached")
	}
	if _, ok := c.get([]byte("small")); !ok {
		t.Fatal("a huge value evicted the rest")
	}
}
