//go:build linux

package store

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The reclaimer works on Linux only (madvise MADV_PAGEOUT, /proc), so this
// test is built for Linux only, where CI runs it.

// TestReclaimerPagesOutTables fills a database on disk with tables, reads
// all of it back so that the tables' pages are resident, and checks that
// passing the limit gives them back, and only the pages of this
// directory's tables.
func TestReclaimerPagesOutTables(t *testing.T) {
	// Opened through a symbolic link: /proc/self/maps names the real path.
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "state")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	db, err := Open(Options{Dir: link, MemoryBudget: 32 << 20, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	// Random values do not compress: 48 MiB of values are 48 MiB of tables.
	p := db.Partition("merge", 0)
	val := make([]byte, 4<<10)
	var b Batch
	const n = 12 << 10
	for i := range n {
		if _, err := io.ReadFull(rand.Reader, val); err != nil {
			t.Fatal(err)
		}
		b.Set('p', fmt.Appendf(nil, "k%06d", i), val)
		if b.Len() == 256 {
			if err := p.CommitAll(&b, int64(i)); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
	}
	if err := db.bdb.Flatten(1); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := p.Get('p', fmt.Appendf(nil, "k%06d", i)); err != nil {
			t.Fatal(err)
		}
	}
	tables := 0
	f, err := newReclaimer(link, 1).maps()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if _, _, path, ok := parseMapsLine([]byte(line)); ok && strings.HasSuffix(path, ".sst") && strings.Contains(path, dir) {
			tables++
		}
	}
	if tables == 0 {
		t.Fatal("no table of the database is mapped: the test wrote too little")
	}

	r := newReclaimer(link, 1) // any resident file page is over the limit
	var advised []uintptr
	sys := r.pageout
	r.pageout = func(start, end uintptr) error {
		advised = append(advised, end-start)
		return sys(start, end)
	}
	before, err := r.readRss()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.check(); err != nil {
		t.Fatal(err)
	}
	after, err := r.readRss()
	if err != nil {
		t.Fatal(err)
	}
	if len(advised) != tables {
		t.Errorf("paged out %d mappings, want the %d tables of %s", len(advised), tables, dir)
	}
	if st := r.stats(); st.Reclaims != 1 || st.ReclaimedBytes <= 0 {
		t.Errorf("stats = %+v, want one reclaim of some bytes", st)
	}
	// The tables hold 48 MiB, all read: at least half of that was resident
	// and is given back.
	if before-after < 24<<20 {
		t.Errorf("file-backed RSS %d MiB → %d MiB: less than 24 MiB given back", before>>20, after>>20)
	}
	// The data is intact: paging out only drops the pages from memory.
	for i := 0; i < n; i += 97 {
		if _, err := p.Get('p', fmt.Appendf(nil, "k%06d", i)); err != nil {
			t.Fatalf("get after the pages were given back: %v", err)
		}
	}

	// Under the limit nothing happens.
	r2 := newReclaimer(link, 1<<50)
	r2.pageout = func(uintptr, uintptr) error { t.Error("paged out under the limit"); return nil }
	if err := r2.check(); err != nil {
		t.Fatal(err)
	}
}
