package main

import "testing"

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"1GiB": 1 << 30, "1Gi": 1 << 30, "1G": 1 << 30, "768Mi": 768 << 20, "512MiB": 512 << 20,
		"1.5GiB": 3 << 29, "2GB": 2e9, "100MB": 1e8, "4096": 4096, "64KiB": 64 << 10, "1 GiB": 1 << 30,
	} {
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "1TiB", "5x5MiB", "-1GiB", "lots"} {
		if got, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", in, got)
		}
	}
	var b byteSize
	if err := b.Set("768Mi"); err != nil || b.String() != "768MiB" {
		t.Errorf("byteSize 768Mi: %v %q", err, b.String())
	}
}
