package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one subprocess of the harness (the broker or a system under
// test), with its output in a log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	log     string
	started time.Time
	done    chan struct{} // closed when the process has exited
	err     error         // its exit status, valid after done

	// Peaks of the process's anonymous and file-backed resident memory,
	// sampled every 250 ms (VmHWM has only their sum): anonymous memory is
	// what the process allocated, file-backed is the page cache of its
	// memory-mapped files, which the kernel may reclaim.
	peakMu             sync.Mutex
	peakAnon, peakFile int64
	sampleDone         chan struct{}
}

// startProc starts argv with its stdout and stderr in logPath.
func startProc(name, logPath string, argv ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating log of %s: %w", name, err)
	}
	// Not CommandContext: the harness stops its subprocesses itself, with a
	// SIGTERM and a grace period, so that they shut down cleanly.
	cmd := exec.Command(argv[0], argv[1:]...) //nolint:gosec // argv is built by the harness from its own flags
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, started: time.Now(), done: make(chan struct{}), sampleDone: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close() // a log file: nothing to do about a close error
		close(p.done)
	}()
	go p.sample()
	return p, nil
}

// sample follows RssAnon and RssFile until the process exits.
func (p *proc) sample() {
	defer close(p.sampleDone)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	path := "/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status"
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue // exiting
		}
		anon, err1 := statusKB(b, "RssAnon:")
		file, err2 := statusKB(b, "RssFile:")
		if err1 != nil || err2 != nil {
			continue // a partial read while the process exits
		}
		p.peakMu.Lock()
		p.peakAnon, p.peakFile = max(p.peakAnon, anon<<10), max(p.peakFile, file<<10)
		p.peakMu.Unlock()
	}
}

// peaks returns the sampled peaks of anonymous and file-backed RSS.
func (p *proc) peaks() (anon, file int64) {
	p.peakMu.Lock()
	defer p.peakMu.Unlock()
	return p.peakAnon, p.peakFile
}

// statusKB returns the kB value of a /proc status field, 0 when absent.
func statusKB(status []byte, field string) (int64, error) {
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing %s in /proc status: %w", strings.TrimSuffix(field, ":"), err)
			}
			return n, nil
		}
	}
	return 0, nil
}

// exited reports whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, fmt.Errorf("%s exited: %w\n%s", p.name, p.err, p.tail())
	default:
		return false, nil
	}
}

// stop sends SIGTERM and waits up to grace for the exit, then kills. A
// process that exits non-zero on SIGTERM is reported.
func (p *proc) stop(grace time.Duration) error {
	// The RSS sampler ends with the process; wait for it too.
	defer func() { <-p.sampleDone }()
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s: stopping: %w\n%s", p.name, p.err, p.tail())
		}
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v and was killed\n%s", p.name, grace, p.tail())
	}
}

// tail returns the last lines of the process's log.
func (p *proc) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

// usage is a process's resource use so far, from /proc.
type usage struct {
	cpu     time.Duration // user + system
	peakRSS int64         // VmHWM, bytes
}

// procUsage reads /proc/<pid>/stat (utime, stime) and /proc/<pid>/status
// (VmHWM) of a running process.
func procUsage(pid int) (usage, error) {
	var u usage
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return u, fmt.Errorf("reading stat: %w", err)
	}
	// The command name in parentheses may contain spaces: fields count from
	// the last ')'. utime and stime are fields 14 and 15 (1-based), in
	// clock ticks, which are 100 per second on Linux.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return u, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return u, errors.New("malformed /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return u, fmt.Errorf("parsing /proc stat: %w", err)
	}
	u.cpu = time.Duration(ut+st) * (time.Second / 100)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return u, fmt.Errorf("reading status: %w", err)
	}
	kb, err := statusKB(status, "VmHWM:")
	if err != nil {
		return u, err
	}
	u.peakRSS = kb << 10
	return u, nil
}

// freeAddr returns a free 127.0.0.1 port as host:port. Another process may
// take it before it is used; the harness then fails to start and says so.
func freeAddr(ctx context.Context) (string, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	return addr, nil
}
