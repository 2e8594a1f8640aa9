//go:build linux

package store

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func fileRss() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading /proc/self/status: %w", err)
	}
	return statusField(b, "RssFile")
}

func pageout(start, end uintptr) error {
	// The range came from /proc/self/maps, not from a Go slice: madvise is
	// called on the raw addresses.
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_PAGEOUT)
	switch {
	case errno == 0:
		return nil
	case errors.Is(errno, unix.EINVAL):
		// An advice the kernel does not know (before 5.4).
		return fmt.Errorf("%w: %w", errPageoutUnsupported, errno)
	default:
		// ENOMEM: the range is no longer mapped.
		return fmt.Errorf("madvise: %w", errno)
	}
}
