package store

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

func randomKey(t testing.TB, n int) []byte {
	t.Helper()
	k := make([]byte, n)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// dirState fingerprints every file under dir, to show that a refused Open
// changed nothing.
func dirState(t testing.TB, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameState(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func writeSome(t testing.TB, o Options, value []byte) {
	t.Helper()
	db, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	b.Set('p', []byte("cust-1"), value)
	if err := db.Partition("merge", 0).Commit(&b, 41); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func readBack(t testing.TB, o Options, want []byte) {
	t.Helper()
	db, err := Open(o)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer func() { _ = db.Close() }()
	p := db.Partition("merge", 0)
	if v, err := p.Get('p', []byte("cust-1")); err != nil || !bytes.Equal(v, want) {
		t.Fatalf("get after reopen = %q, %v; want %q", v, err, want)
	}
	if off, err := p.Offset(); err != nil || off != 41 {
		t.Fatalf("offset after reopen = %d, %v; want 41", off, err)
	}
}

// refused opens dir with o, expects ErrEncryptionKey with a message
// containing want, and checks that nothing in the directory changed and
// that the error does not quote the key.
func refused(t *testing.T, o Options, want string) {
	t.Helper()
	before := dirState(t, o.Dir)
	db, err := Open(o)
	if err == nil {
		_ = db.Close()
		t.Fatalf("Open succeeded; want ErrEncryptionKey (%s)", want)
	}
	if !errors.Is(err, ErrEncryptionKey) {
		t.Fatalf("err = %v; want ErrEncryptionKey", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %q; want it to say %q", err, want)
	}
	if k := o.EncryptionKey; len(k) > 0 && (bytes.Contains([]byte(err.Error()), k) || strings.Contains(err.Error(), hex.EncodeToString(k))) {
		t.Fatalf("error quotes the key: %q", err)
	}
	if after := dirState(t, o.Dir); !sameState(before, after) {
		t.Fatalf("refused Open changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

func TestEncryptedDirectoryNeedsItsKey(t *testing.T) {
	for _, n := range []int{16, 24, 32} {
		t.Run("AES-"+map[int]string{16: "128", 24: "192", 32: "256"}[n], func(t *testing.T) {
			dir := t.TempDir()
			key := randomKey(t, n)
			writeSome(t, Options{Dir: dir, EncryptionKey: key}, []byte("state-a"))
			readBack(t, Options{Dir: dir, EncryptionKey: key}, []byte("state-a"))

			refused(t, Options{Dir: dir}, "the state directory is encrypted and no key was given")
			refused(t, Options{Dir: dir, EncryptionKey: []byte{}}, "the state directory is encrypted and no key was given")
			refused(t, Options{Dir: dir, EncryptionKey: randomKey(t, n)}, "the encryption key does not match the one the state directory was written with")
			// Another length is another key too.
			refused(t, Options{Dir: dir, EncryptionKey: randomKey(t, 48-n)}, "does not match")

			// The refusals lost nothing and left no lock behind.
			readBack(t, Options{Dir: dir, EncryptionKey: key}, []byte("state-a"))
		})
	}
}

// Badger answers a plain directory opened with a key with the same
// "Encryption key mismatch" as a wrong key; store words it as its own case.
func TestPlainDirectoryWithKeyIsRefused(t *testing.T) {
	dir := t.TempDir()
	writeSome(t, Options{Dir: dir}, []byte("state-a"))
	refused(t, Options{Dir: dir, EncryptionKey: randomKey(t, 32)},
		"the state directory is not encrypted; to encrypt it, rebuild it (state is rebuilt from Kafka)")
	readBack(t, Options{Dir: dir}, []byte("state-a"))
}

func TestWrongKeyLengthTouchesNothing(t *testing.T) {
	fresh := filepath.Join(t.TempDir(), "state")
	for _, n := range []int{1, 15, 17, 20, 31, 33, 64} {
		_, err := Open(Options{Dir: fresh, EncryptionKey: randomKey(t, n)})
		if !errors.Is(err, ErrEncryptionKey) || !strings.Contains(err.Error(), "must be 16, 24 or 32 bytes") {
			t.Fatalf("%d-byte key: err = %v; want ErrEncryptionKey about the length", n, err)
		}
	}
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused key created the directory: %v", err)
	}
	dir := t.TempDir()
	writeSome(t, Options{Dir: dir}, []byte("state-a"))
	refused(t, Options{Dir: dir, EncryptionKey: randomKey(t, 20)}, "must be 16, 24 or 32 bytes")
	if _, err := Open(Options{Dir: dir, KeyRotation: -time.Second}); err == nil || !strings.Contains(err.Error(), "KeyRotation") {
		t.Fatalf("negative KeyRotation: err = %v", err)
	}
}

func TestMissingKeyRegistryIsRefused(t *testing.T) {
	for _, encrypted := range []bool{true, false} {
		dir := t.TempDir()
		var key []byte
		if encrypted {
			key = randomKey(t, 32)
		}
		writeSome(t, Options{Dir: dir, EncryptionKey: key}, []byte("state-a"))
		if err := os.Remove(filepath.Join(dir, badger.KeyRegistryFileName)); err != nil {
			t.Fatal(err)
		}
		refused(t, Options{Dir: dir}, "no KEYREGISTRY")
		refused(t, Options{Dir: dir, EncryptionKey: randomKey(t, 32)}, "no KEYREGISTRY")
	}
}

// A caller may wipe its key after Open: Badger keeps using the slice for
// every data key it generates later, so Open must have copied it.
func TestOpenCopiesTheKey(t *testing.T) {
	dir := t.TempDir()
	key := randomKey(t, 32)
	mine := bytes.Clone(key)
	db, err := Open(Options{Dir: dir, EncryptionKey: mine, KeyRotation: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	clear(mine)
	var b Batch
	for i := range 2000 {
		b.Set('p', []byte{byte(i), byte(i >> 8)}, bytes.Repeat([]byte{byte(i)}, 600))
	}
	if err := db.Partition("merge", 0).Commit(&b, 41); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Set('p', []byte("cust-1"), []byte("state-a"))
	if err := db.Partition("merge", 0).Commit(&b, 41); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	readBack(t, Options{Dir: dir, EncryptionKey: key}, []byte("state-a"))
}

// With a rotation shorter than the test, every new table and log gets its
// own data key; all of them must stay readable across reopens.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	key := randomKey(t, 16)
	o := Options{Dir: dir, EncryptionKey: key, KeyRotation: time.Nanosecond, MemoryBudget: 64 << 20}
	want := map[string][]byte{}
	for round := range 3 {
		db, err := Open(o)
		if err != nil {
			t.Fatal(err)
		}
		p := db.Partition("merge", 0)
		for i := range 5 {
			var b Batch
			for j := range 1000 {
				k := []byte{byte(round), byte(i), byte(j), byte(j >> 8)}
				v := randomKey(t, 200)
				want[string(k)] = v
				b.Set('p', k, v)
			}
			if err := p.Commit(&b, int64(round*10+i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := os.ReadFile(filepath.Join(dir, badger.KeyRegistryFileName))
	if err != nil {
		t.Fatal(err)
	}
	// IV + sanity text is 28 bytes, each data key about 70 more.
	if len(reg) < 28+2*60 {
		t.Fatalf("key registry is %d bytes: no rotation happened", len(reg))
	}
	db, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	p := db.Partition("merge", 0)
	for k, v := range want {
		got, err := p.Get('p', []byte(k))
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("get %x = %x, %v", k, got, err)
		}
	}
}

// TestNoPlaintextOnDisk writes a distinctive value and looks for it in every
// file of the directory, while the database is open (the memtable's
// write-ahead log) and after Close (the flushed tables). The control run
// without encryption must find it in both, or the search proves nothing.
// The value is random bytes, so Snappy (which only replaces repeats) stores
// it as a literal: compression cannot be what hides it.
func TestNoPlaintextOnDisk(t *testing.T) {
	canary := append([]byte("plaintext-canary:"), randomKey(t, 256)...)
	for _, encrypted := range []bool{false, true} {
		name := map[bool]string{false: "encryption=off", true: "encryption=on"}[encrypted]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Dir: dir, SyncWrites: true}
			if encrypted {
				o.EncryptionKey = randomKey(t, 32)
			}
			db, err := Open(o)
			if err != nil {
				t.Fatal(err)
			}
			var b Batch
			b.Set('p', []byte("cust-1"), canary)
			if err := db.Partition("merge", 0).Commit(&b, 41); err != nil {
				t.Fatal(err)
			}
			whileOpen := filesContaining(t, dir, canary)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			afterClose := filesContaining(t, dir, canary)
			tables := 0
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if filepath.Ext(e.Name()) == ".sst" {
					tables++
				}
			}
			if tables == 0 {
				t.Fatal("Close flushed no table: the check after Close would prove nothing")
			}
			if encrypted {
				if len(whileOpen)+len(afterClose) > 0 {
					t.Fatalf("plaintext on disk: while open in %v, after close in %v", whileOpen, afterClose)
				}
				readBack(t, o, canary)
				return
			}
			if len(whileOpen) == 0 || len(afterClose) == 0 {
				t.Fatalf("control: value not found in clear (while open in %v, after close in %v): the search is broken", whileOpen, afterClose)
			}
			t.Logf("control: in clear while open in %v, after close in %v", whileOpen, afterClose)
		})
	}
}

func filesContaining(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			out = append(out, d.Name())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseKey(t *testing.T) {
	k16, k24, k32 := randomKey(t, 16), randomKey(t, 24), randomKey(t, 32)
	for _, c := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"raw 16", k16, k16},
		{"raw 24", k24, k24},
		{"raw 32", k32, k32},
		{"raw 32 with whitespace bytes kept", append([]byte("\n "), k32[2:]...), append([]byte("\n "), k32[2:]...)},
		{"openssl rand -hex 32", []byte(hex.EncodeToString(k32) + "\n"), k32},
		{"hex 16 upper case, spaces", []byte("  " + strings.ToUpper(hex.EncodeToString(k16)) + " \r\n"), k16},
		{"hex 24", []byte(hex.EncodeToString(k24)), k24},
		{"openssl rand -base64 32", []byte(base64.StdEncoding.EncodeToString(k32) + "\n"), k32},
		{"base64 std unpadded", []byte(base64.RawStdEncoding.EncodeToString(k32)), k32},
		{"base64 url padded", []byte(base64.URLEncoding.EncodeToString(k16)), k16},
		{"base64 url unpadded", []byte("\t" + base64.RawURLEncoding.EncodeToString(k24) + "\n"), k24},
		{"base64 std 16", []byte(base64.StdEncoding.EncodeToString(k16)), k16},
	} {
		got, err := ParseKey(c.in)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s: ParseKey = %x, %v; want %x", c.name, got, err, c.want)
		}
		if len(got) > 0 && len(c.in) > 0 && &got[0] == &c.in[0] {
			t.Errorf("%s: result aliases the input", c.name)
		}
	}
	secret := "hunter2-hunter2-hunter2-hunter2!x" // 33 bytes: no valid form
	for _, in := range []string{"", " \n", secret, secret + "\n", hex.EncodeToString(k32)[:40], "!!" + hex.EncodeToString(k16)[3:],
		hex.EncodeToString(randomKey(t, 20)), base64.StdEncoding.EncodeToString(randomKey(t, 20))} {
		_, err := ParseKey([]byte(in))
		if !errors.Is(err, ErrEncryptionKey) {
			t.Errorf("ParseKey(%q): err = %v; want ErrEncryptionKey", in, err)
			continue
		}
		if strings.TrimSpace(in) != "" && strings.Contains(err.Error(), strings.TrimSpace(in)[:8]) {
			t.Errorf("ParseKey error quotes its input: %q", err)
		}
	}
}

func TestEncryptionNeverPanicsOverCaches(t *testing.T) {
	key := randomKey(t, 32)
	bo := guardCaches(badger.DefaultOptions("").WithBlockCacheSize(0).WithIndexCacheSize(0).WithEncryptionKey(key))
	if bo.BlockCacheSize <= 0 || bo.IndexCacheSize <= 0 {
		t.Fatalf("guardCaches left block cache %d, index cache %d", bo.BlockCacheSize, bo.IndexCacheSize)
	}
	bo = guardCaches(badger.DefaultOptions("").WithBlockCacheSize(0).WithCompression(options.None))
	if bo.BlockCacheSize != 0 {
		t.Fatalf("guardCaches added a block cache without compression or encryption")
	}
	for _, budget := range []int64{1, 1 << 20, 64 << 20, 1 << 40} {
		bo := sized(badger.DefaultOptions("").WithEncryptionKey(key), budget)
		if bo.BlockCacheSize <= 0 || bo.IndexCacheSize <= 0 {
			t.Fatalf("budget %d: block cache %d, index cache %d", budget, bo.BlockCacheSize, bo.IndexCacheSize)
		}
	}
	// In memory, with the smallest budget Open accepts today and enough
	// data for tables to be built and read back (the index cache is needed
	// on the first table read).
	db, err := Open(Options{InMemory: true, EncryptionKey: key, MemoryBudget: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	p := db.Partition("merge", 0)
	for i := range 20 {
		var b Batch
		for j := range 500 {
			b.Set('p', []byte{byte(i), byte(j), byte(j >> 8)}, randomKey(t, 600))
		}
		if err := p.Commit(&b, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Get('p', []byte{0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	// A panic inside badger.Open becomes an error.
	if _, err := openBadger(badger.DefaultOptions("").WithInMemory(true).WithBlockCacheSize(0)); err == nil || !strings.Contains(err.Error(), "BlockCacheSize") {
		t.Fatalf("openBadger with a panicking option: err = %v", err)
	}
}
