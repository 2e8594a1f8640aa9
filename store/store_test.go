package store

import (
	"errors"
	"strings"

	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func TestCommitIsAtomicWithOffsetAndSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p := db.Partition("merge", 3)
	if off, err := p.Offset(); err != nil || off != -1 {
		t.Fatalf("fresh offset = %d, %v; want -1", off, err)
	}
	var b Batch
	b.Set('p', []byte("42"), []byte("state-a"))
	b.Set('p', []byte("43"), []byte("state-b"))
	if err := p.Commit(&b, 17); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Delete('p', []byte("43"))
	if err := p.Commit(&b, -1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	p = db.Partition("merge", 3)
	if off, err := p.Offset(); err != nil || off != 17 {
		t.Fatalf("offset after reopen = %d, %v; want 17", off, err)
	}
	if v, err := p.Get('p', []byte("42")); err != nil || string(v) != "state-a" {
		t.Fatalf("get 42 = %q, %v", v, err)
	}
	if _, err := p.Get('p', []byte("43")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted key: err = %v, want ErrNotFound", err)
	}
	// Namespaces and partitions do not see each other's keys.
	if _, err := db.Partition("merge", 4).Get('p', []byte("42")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("partition 4 sees partition 3's key: %v", err)
	}
	if _, err := db.Partition("mergeX", 3).Get('p', []byte("42")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("namespace mergeX sees merge's key: %v", err)
	}
}

func TestCorruptValueIsReported(t *testing.T) {
	v := seal([]byte("hello"))
	if got, err := open(v); err != nil || string(got) != "hello" {
		t.Fatalf("open(seal) = %q, %v", got, err)
	}
	for i := range v {
		bad := append([]byte(nil), v...)
		bad[i] ^= 0x40
		if _, err := open(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipping byte %d: err = %v, want ErrCorrupt", i, err)
		}
	}
	if _, err := open(nil); !errors.Is(err, ErrCorrupt) {
		t.Fatal("empty value accepted")
	}
}

func TestLayoutVersionMismatchIsRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// Pretend a future build wrote this directory.
	if err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Set(layoutKey, []byte{99}) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Fatalf("badger did not write to disk: %v", err)
	}
	_, err = Open(Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "layout") {
		t.Fatalf("opening a directory of another layout: err = %v, want a layout error", err)
	}
}

// TestSmallMemoryBudgetOpens: a tiny budget must still give Badger a
// memtable large enough for its value threshold (it refused below ~54 MiB).
func TestSmallMemoryBudgetOpens(t *testing.T) {
	for _, mb := range []int64{1, 16, 48} {
		db, err := Open(Options{Dir: t.TempDir(), MemoryBudget: mb << 20, GCInterval: -1})
		if err != nil {
			t.Fatalf("budget %d MiB: %v", mb, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReaderReadsOneSnapshot: a Reader answers like Get, within its own
// partition, and keeps the state of the moment it was opened while the
// partition commits meanwhile.
func TestReaderReadsOneSnapshot(t *testing.T) {
	db, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	p := db.Partition("merge", 1)
	var b Batch
	b.Set('p', []byte("42"), []byte("v1"))
	if err := p.Commit(&b, 1); err != nil {
		t.Fatal(err)
	}
	var other Batch
	other.Set('p', []byte("7"), []byte("elsewhere"))
	if err := db.Partition("merge", 2).Commit(&other, 1); err != nil {
		t.Fatal(err)
	}

	r, err := p.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b.Reset()
	b.Set('p', []byte("42"), []byte("v2"))
	b.Set('p', []byte("43"), []byte("new"))
	if err := p.Commit(&b, 2); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the Reader's key buffer is reused
		if v, err := r.Get('p', []byte("42")); err != nil || string(v) != "v1" {
			t.Fatalf("reader: 42 = %q, %v; want v1 (its snapshot)", v, err)
		}
		if _, err := r.Get('p', []byte("43")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("reader: 43 committed after it opened: err = %v, want ErrNotFound", err)
		}
		if _, err := r.Get('p', []byte("7")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("reader sees partition 2's key: %v", err)
		}
	}
	r2, err := p.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if v, err := r2.Get('p', []byte("42")); err != nil || string(v) != "v2" {
		t.Fatalf("new reader: 42 = %q, %v; want v2", v, err)
	}
	if v, err := p.Get('p', []byte("43")); err != nil || string(v) != "new" {
		t.Fatalf("get 43 = %q, %v", v, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Reader(); !errors.Is(err, ErrClosed) {
		t.Fatalf("reader of a closed store: %v, want ErrClosed", err)
	}
}
