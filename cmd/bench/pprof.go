package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuProfile profiles processor's BenchmarkPipelineLoad (the whole pipeline
// on an in-process broker, on this run's load; profiled exposes no
// /debug/pprof) and returns pprof's top functions by cumulative and by flat
// time.
func (h *harness) cpuProfile(ctx context.Context) (string, error) {
	prof := filepath.Join(h.work, "cpu.pprof")
	bin := filepath.Join(h.work, "processor.test")
	h.logf("profiling BenchmarkPipelineLoad")
	test := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^BenchmarkPipelineLoad$", "-benchtime", "1x", //nolint:gosec // fixed arguments and the harness's own paths
		"-timeout", "30m", "-cpuprofile", prof, "-o", bin, "./processor", "-args", "-bench.customers", strconv.Itoa(h.load.Customers))
	test.Dir = h.repo
	if out, err := test.CombinedOutput(); err != nil {
		return "", fmt.Errorf("profiling BenchmarkPipelineLoad: %w\n%s", err, out)
	}
	var b strings.Builder
	for _, sort := range []string{"-cum", "-flat"} {
		top := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", sort, "-nodecount", "25", bin, prof) //nolint:gosec // as above
		top.Dir = h.repo
		out, err := top.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("reading the profile: %w\n%s", err, out)
		}
		b.Write(out)
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String()), nil
}
