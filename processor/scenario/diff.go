package scenario

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Diff compares final profiles (attributes as decoded from the profiles
// topic's JSON) with the oracle's, attribute by attribute, and describes
// every difference, in a stable order. Values compare by their JSON form, so
// 3 and 3.0 are equal and "12.50" is not 12.5.
func Diff(got, want map[string]map[string]any) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(want)) {
		attrs := want[id]
		g, ok := got[id]
		if !ok {
			out = append(out, fmt.Sprintf("profile %s: missing (want %v)", id, attrs))
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(attrs)) {
			wv := attrs[name]
			gv, ok := g[name]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("profile %s: attribute %s missing, want %v", id, name, wv))
			case !sameJSON(gv, wv):
				out = append(out, fmt.Sprintf("profile %s: %s = %v (%T), want %v (%T)", id, name, gv, gv, wv, wv))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(g)) {
			if _, ok := attrs[name]; !ok {
				out = append(out, fmt.Sprintf("profile %s: unexpected attribute %s = %v", id, name, g[name]))
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[id]; !ok {
			out = append(out, fmt.Sprintf("unexpected profile %s: %v", id, got[id]))
		}
	}
	return out
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
