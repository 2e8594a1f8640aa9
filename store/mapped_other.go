//go:build !linux

package store

func fileRss() (int64, error) { return 0, errPageoutUnsupported }

func pageout(start, end uintptr) error { return errPageoutUnsupported }
