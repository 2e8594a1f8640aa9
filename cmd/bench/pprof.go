package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// cpuProfileTop returns pprof's top functions, by cumulative and by flat
// time, of the CPU profile the profiled exactly-once process wrote over its
// run (both passes, start-up and shutdown included).
func (h *harness) cpuProfileTop(ctx context.Context) (string, error) {
	var b strings.Builder
	for _, sort := range []string{"-cum", "-flat"} {
		top := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", sort, "-nodecount", "30", h.profiled, h.cpuProf) //nolint:gosec // the harness's own paths
		top.Dir = h.repo
		out, err := top.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("reading the CPU profile: %w\n%s", err, out)
		}
		b.Write(out)
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String()), nil
}
