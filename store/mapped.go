package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Badger reads and writes its tables through memory maps, and offers no
// other way. Every page of a table that was written or read stays resident
// in the process (counted in its RSS) until the kernel needs the memory
// back, so the resident size of a long-running instance grows with its
// state on disk, not with its memory budget: at a million profiles the
// mapped tables were 453 MiB of a 1 GiB budget. The kernel would reclaim
// those clean pages under a cgroup limit, but an operator watching RSS, or
// an OOM killer scoring by it, sees a process over its budget.
//
// The reclaimer bounds them: when the process's file-backed resident memory
// passes Options.MappedLimit it hands the pages of the tables back to the
// kernel with madvise(MADV_PAGEOUT). The data is untouched (the mapping
// stays; a later read faults the page in again from the file), and the
// blocks that are read often live decompressed in Badger's block cache,
// which is Go memory. MADV_PAGEOUT rather than MADV_DONTNEED because it is
// harmless on any memory: between reading /proc/self/maps and the call
// Badger may unmap a table and the runtime map something else at its
// address, and DONTNEED would zero anonymous memory there, while PAGEOUT
// only asks the kernel to reclaim it.

// reclaimInterval is how often the reclaimer looks at the resident size.
// Between two looks compactions and reads can map in more; the budget
// leaves room for that (processor.PlanMemory).
const reclaimInterval = 250 * time.Millisecond

// MappedStats counts the reclaimer's work since Open.
type MappedStats struct {
	Reclaims       int64 // times the limit was passed and the tables paged out
	ReclaimedBytes int64 // resident file-backed bytes given back (measured before and after)
}

type reclaimer struct {
	dir   string
	limit int64
	// readRss and pageout are the system's, replaced in tests only.
	readRss func() (int64, error)
	pageout func(start, end uintptr) error
	maps    func() (io.ReadCloser, error)

	reclaims atomic.Int64
	bytes    atomic.Int64
}

func newReclaimer(dir string, limit int64) *reclaimer {
	// /proc/self/maps names files by their real path.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return &reclaimer{
		dir:     filepath.Clean(dir),
		limit:   limit,
		readRss: fileRss,
		pageout: pageout,
		maps:    func() (io.ReadCloser, error) { return os.Open("/proc/self/maps") },
	}
}

func (r *reclaimer) stats() MappedStats {
	return MappedStats{Reclaims: r.reclaims.Load(), ReclaimedBytes: r.bytes.Load()}
}

// run checks the resident size every interval until ctx is done. A system
// that cannot page out (not Linux, a kernel before 5.4) ends it after
// saying so once.
func (r *reclaimer) run(ctx context.Context, log func(msg string, args ...any)) {
	t := time.NewTicker(reclaimInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.check(); err != nil {
			log("the state's memory-mapped tables cannot be paged out; resident memory may exceed the budget by the state's size on disk", "err", err)
			return
		}
	}
}

// check pages the tables out if the file-backed resident memory is over
// the limit.
func (r *reclaimer) check() error {
	before, err := r.readRss()
	if err != nil {
		return err
	}
	if before <= r.limit {
		return nil
	}
	if err := r.pageoutTables(); err != nil {
		return err
	}
	r.reclaims.Add(1)
	if after, err := r.readRss(); err == nil && after < before {
		r.bytes.Add(before - after)
	}
	return nil
}

// pageoutTables pages out every mapping of a table (.sst) or value log
// (.vlog) file in the directory but the newest value log, which is being
// appended to: paging out its dirty pages would only force their
// writeback, again and again. The memtables' write-ahead logs (.mem) are
// left alone for the same reason (the memtables' size bounds them).
func (r *reclaimer) pageoutTables() error {
	f, err := r.maps()
	if err != nil {
		return fmt.Errorf("reading the process's mappings: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	type mapping struct {
		start, end uintptr
		path       string
	}
	var (
		ms         []mapping
		activeVlog string
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	prefix := r.dir + string(filepath.Separator)
	for sc.Scan() {
		start, end, path, ok := parseMapsLine(sc.Bytes())
		if !ok || !strings.HasPrefix(path, prefix) {
			continue
		}
		switch filepath.Ext(path) {
		case ".vlog":
			// Value logs are numbered in order, with fixed-width names.
			if path > activeVlog {
				activeVlog = path
			}
		case ".sst":
		default:
			continue
		}
		ms = append(ms, mapping{start, end, path})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the process's mappings: %w", err)
	}
	for _, m := range ms {
		if m.path == activeVlog {
			continue
		}
		if err := r.pageout(m.start, m.end); err != nil {
			if errors.Is(err, errPageoutUnsupported) {
				return err
			}
			// Otherwise unmapped since the line was read (a compaction
			// deleted the table, a value log was garbage-collected):
			// nothing to do.
		}
	}
	return nil
}

// parseMapsLine reads the address range and path of one line of
// /proc/self/maps: "start-end perms offset dev inode path".
func parseMapsLine(line []byte) (start, end uintptr, path string, ok bool) {
	fields := bytes.Fields(line)
	if len(fields) < 6 {
		return 0, 0, "", false
	}
	lo, hi, found := bytes.Cut(fields[0], []byte{'-'})
	if !found {
		return 0, 0, "", false
	}
	s, err1 := strconv.ParseUint(string(lo), 16, 64)
	e, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, "", false
	}
	// A path may contain spaces: it is everything from the sixth field on.
	idx := bytes.Index(line, fields[5])
	return uintptr(s), uintptr(e), string(bytes.TrimSpace(line[idx:])), true
}

// statusField reads one "Name:   N kB" field of /proc/self/status, in bytes.
func statusField(status []byte, name string) (int64, error) {
	for line := range bytes.SplitSeq(status, []byte{'\n'}) {
		rest, found := bytes.CutPrefix(line, []byte(name+":"))
		if !found {
			continue
		}
		v := strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing %s in /proc/self/status: %w", name, err)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", name)
}

var errPageoutUnsupported = errors.New("madvise(MADV_PAGEOUT) is not supported (Linux 5.4 or later is needed)")
