package store

import "testing"

func TestParseMapsLine(t *testing.T) {
	for _, tc := range []struct {
		line       string
		start, end uintptr
		path       string
		ok         bool
	}{
		{"7f0c1a000000-7f0c1a400000 r--s 00000000 00:2a 1234   /var/lib/profiled/state/000012.sst", 0x7f0c1a000000, 0x7f0c1a400000, "/var/lib/profiled/state/000012.sst", true},
		{"7f0c1a000000-7f0c1a400000 r--s 00000000 00:2a 1234   /data/my state/000012.sst", 0x7f0c1a000000, 0x7f0c1a400000, "/data/my state/000012.sst", true},
		{"7ffd5e1f0000-7ffd5e211000 rw-p 00000000 00:00 0                          [stack]", 0x7ffd5e1f0000, 0x7ffd5e211000, "[stack]", true},
		{"c000000000-c004000000 rw-p 00000000 00:00 0 ", 0, 0, "", false}, // anonymous: no path
		{"garbage", 0, 0, "", false},
		{"10-5 r--s 0 0:0 1 /x.sst", 0, 0, "", false},
	} {
		start, end, path, ok := parseMapsLine([]byte(tc.line))
		if ok != tc.ok || start != tc.start || end != tc.end || path != tc.path {
			t.Errorf("parseMapsLine(%q) = %#x, %#x, %q, %v; want %#x, %#x, %q, %v",
				tc.line, start, end, path, ok, tc.start, tc.end, tc.path, tc.ok)
		}
	}
}

func TestStatusField(t *testing.T) {
	status := []byte("Name:\tprofiled\nVmRSS:\t  2048 kB\nRssAnon:\t  1024 kB\nRssFile:\t   512 kB\n")
	if n, err := statusField(status, "RssFile"); err != nil || n != 512<<10 {
		t.Fatalf("RssFile = %d, %v; want %d", n, err, 512<<10)
	}
	if _, err := statusField(status, "VmSwap"); err == nil {
		t.Fatal("a missing field was read without an error")
	}
}
