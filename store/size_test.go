package store

import (
	"bytes"
	"testing"
)

// TestSizeReportsFilesOnDisk: the value log counts at once; a reopened
// directory also reports the tables flushed at Close; a database in memory
// reports nothing.
func TestSizeReportsFilesOnDisk(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	p := db.Partition("merge", 0)
	var b Batch
	value := bytes.Repeat([]byte("x"), 512)
	for i := range 2000 {
		b.Set('p', []byte{byte(i >> 8), byte(i)}, value)
	}
	if err := p.CommitAll(&b, 1); err != nil {
		t.Fatal(err)
	}
	// Measured when asked, not a minute later: the writes are in the
	// value log at once.
	if _, vlog := db.Size(); vlog <= 0 {
		t.Fatalf("value log size %d right after writing", vlog)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	lsm, vlog := db.Size()
	// 2000 values of 512 bytes, compressed in the tables; the value log
	// holds the write-ahead copies.
	if lsm <= 0 || vlog <= 0 {
		t.Fatalf("Size() = %d, %d; want both positive after writing ~1 MB", lsm, vlog)
	}

	mem, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = mem.Close() }()
	if lsm, vlog := mem.Size(); lsm != 0 || vlog != 0 {
		t.Fatalf("in memory: Size() = %d, %d; want 0, 0", lsm, vlog)
	}
}
