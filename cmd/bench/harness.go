package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/schemas/dictionary"
)

// The systems the harness can run, in the order it runs them.
const (
	sysPassThrough = "passthrough"
	sysProfiledALO = "profiled-alo"
	sysProfiledEOS = "profiled-eos"
	sysGoka        = "goka"
)

var allSystems = []string{sysPassThrough, sysProfiledALO, sysProfiledEOS, sysGoka}

// harness is one benchmark run.
type harness struct {
	repo      string // repository root
	profiled  string // profiled binary
	self      string // this binary (pass-through and goka peer)
	config    string // data dictionary
	dict      *dictionary.File
	work      string // scratch directory: broker and system logs, state
	load      scenario.LoadConfig
	hasALO    bool   // profiled run has --at-least-once
	memBudget string // profiled's --memory-budget; empty: its default
	extraArgs string // more flags of profiled run, split at spaces
	// compactEvery is the broker's --compact-every: kfake compacts inside
	// its request loop and stops serving while it does, which a Kafka
	// broker's cleaner threads do not; the default keeps that pause out of
	// the runs, and with it a penalty only the systems that write
	// compacted topics (profiled's changelogs, goka's tables) would pay.
	compactEvery time.Duration
	cpuProf      string // where profiled exactly-once writes its CPU profile; empty: none
	scaleRuns    int    // runs of a short scale (median reported)
	share        float64
	// latencyEPS, when set, is the latency pass's rate in events/s for
	// every system, instead of share × its own maximum: the maximum varies
	// by 15 % or more between runs on a small machine, so comparing two
	// builds' latency needs the same input rate.
	latencyEPS float64
	timeout    time.Duration
	log        io.Writer
}

// result is what the harness measured for one system.
type result struct {
	key, name string
	note      string // why a row is missing or what it means
	skipped   bool

	records  int           // input records of the throughput pass
	updates  int           // output records of the throughput pass
	elapsed  time.Duration // first input consumed → last update visible
	rate     float64       // records/s
	startup  time.Duration // process start → first input consumed
	cpu      time.Duration // the system's process over the throughput pass
	broker   time.Duration // the broker's process over the same span
	peakRSS  int64         // VmHWM of the system's process, whole run
	peakAnon int64         // sampled peak of its anonymous RSS
	peakFile int64         // sampled peak of its file-backed RSS (mapped files)
	latRate  float64       // records/s of the latency pass; 0: not run
	lat      []time.Duration
	unmatch  int
	profiles map[string][]byte // final profiles (profile systems)
}

func (r *result) cpuPerMillion() float64 {
	return r.cpu.Seconds() / float64(r.records) * 1e6
}

func (r *result) brokerPerMillion() float64 {
	return r.broker.Seconds() / float64(r.records) * 1e6
}

// spec says how to start one system and how to tell it is done.
type spec struct {
	name     string
	argv     []string
	output   string              // the topic of its results, watched read_committed
	firstHop string              // the topic of its first writes, watched read_uncommitted
	groups   map[string][]string // consumer group → topics it must have consumed
	byCount  bool                // done when output count reaches input count (pass-through)
	// stamped: every output record carries the Kafka timestamp of the
	// newest input record behind it (the pass-through copies it, profiled
	// propagates it), so latency is exact per update.
	stamped bool
	// metrics is the system's Prometheus endpoint, if it has one: the
	// harness keeps a scrape after each pass in the scratch directory.
	metrics string
}

func (h *harness) spec(key, dir, addr string) (spec, error) {
	topics := processor.TopicsOf(h.dict)
	switch key {
	case sysPassThrough:
		return spec{
			name:     "pass-through (franz-go)",
			argv:     []string{h.self, "passthrough", "--brokers", addr, "--topics", strings.Join(topics.Inputs, ","), "--out", "passthrough"},
			output:   "passthrough",
			firstHop: "passthrough",
			byCount:  true,
			stamped:  true,
		}, nil
	case sysProfiledALO, sysProfiledEOS:
		httpAddr, err := freeAddr(context.Background())
		if err != nil {
			return spec{}, err
		}
		argv := []string{h.profiled, "run", "--config", h.config, "--brokers", addr,
			"--data-dir", filepath.Join(dir, "state"), "--http-listen", httpAddr}
		if h.memBudget != "" {
			argv = append(argv, "--memory-budget", h.memBudget)
		}
		argv = append(argv, strings.Fields(h.extraArgs)...)
		name := "profiled"
		switch {
		case key == sysProfiledALO:
			argv = append(argv, "--at-least-once")
			name = "profiled at-least-once"
		case h.hasALO:
			name = "profiled exactly-once"
		}
		if key == sysProfiledEOS && h.cpuProf != "" {
			argv = append(argv, "--cpuprofile", h.cpuProf)
		}
		return spec{
			name:     name,
			argv:     argv,
			output:   topics.Profiles,
			firstHop: topics.Repartition,
			groups:   map[string][]string{h.dict.Pipeline.Group: append([]string{topics.Repartition}, topics.Inputs...)},
			stamped:  true,
			metrics:  "http://" + httpAddr + "/metrics",
		}, nil
	case sysGoka:
		return spec{
			name:     "goka (LevelDB)",
			argv:     []string{h.self, "gokapeer", "--brokers", addr, "--config", h.config, "--storage-dir", filepath.Join(dir, "goka")},
			output:   gokaProfiles,
			firstHop: gokaFacts,
			groups:   map[string][]string{gokaIngestGroup: topics.Inputs, gokaMergeGroup: {gokaFacts}},
		}, nil
	}
	return spec{}, fmt.Errorf("%w: unknown system %q (want %s)", errUsage, key, strings.Join(allSystems, ", "))
}

// logf prints a progress line.
func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// runSystem measures one system on a fresh broker: the throughput pass (the
// whole load produced first, then the system started on it), and, when
// latency is set, the latency pass (a second load produced at share × the
// measured rate while the system runs).
func (h *harness) runSystem(ctx context.Context, key string, latency bool) (res *result, err error) {
	// A directory per run: a state directory left by another run would
	// not match the fresh broker's log.
	dir := filepath.Join(h.work, key+"-"+strconv.Itoa(h.load.Customers))
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o750)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
		dir = filepath.Join(h.work, key+"-"+strconv.Itoa(h.load.Customers)+"-"+strconv.Itoa(i))
	}
	addr, err := freeAddr(ctx)
	if err != nil {
		return nil, err
	}
	broker, err := startProc("broker", filepath.Join(dir, "broker.log"), h.profiled, "broker", "--listen", addr,
		"--compact-every", h.compactEvery.String())
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, broker.stop(30*time.Second)) }()
	cl, err := newClient(ctx, addr, kgo.ProducerLinger(0), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := processor.TopicsOf(h.dict).Ensure(ctx, adm, true); err != nil {
		return nil, fmt.Errorf("creating topics: %w", err)
	}
	sp, err := h.spec(key, dir, addr)
	if err != nil {
		return nil, err
	}
	if key == sysPassThrough {
		if _, err := adm.CreateTopic(ctx, int32(h.dict.Pipeline.Partitions), 1, nil, sp.output); err != nil {
			return nil, fmt.Errorf("creating pass-through topic: %w", err)
		}
	}
	res = &result{key: key, name: sp.name}

	h.logf("%s: producing the load", sp.name)
	t := time.Now()
	st, err := produceLoad(ctx, cl, h.load)
	if err != nil {
		return nil, err
	}
	res.records = st.Records
	h.logf("%s: %d records produced in %v", sp.name, st.Records, time.Since(t).Round(time.Millisecond))

	// The watchers start before the system so that they see its first
	// writes as they happen.
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	first, err := watch(wctx, addr, false, true, kgo.ReadUncommitted(), sp.firstHop)
	if err != nil {
		return nil, err
	}
	defer first.close()
	out, err := watch(wctx, addr, !sp.byCount, false, kgo.ReadCommitted(), sp.output)
	if err != nil {
		return nil, err
	}
	defer out.close()

	sys, err := startProc(key, filepath.Join(dir, key+".log"), sp.argv...)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, sys.stop(60*time.Second)) }()
	b0, err := procUsage(broker.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	h.logf("%s: started; waiting for it to finish", sp.name)
	if err := h.waitDone(ctx, sys, adm, sp, out, res.records); err != nil {
		return nil, err
	}
	su, err1 := procUsage(sys.cmd.Process.Pid)
	bu, err2 := procUsage(broker.cmd.Process.Pid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	n, _, last, _ := out.state()
	_, firstAt, _, _ := first.state()
	res.updates = n
	res.elapsed = last.Sub(firstAt)
	res.rate = float64(res.records) / res.elapsed.Seconds()
	res.startup = firstAt.Sub(sys.started)
	res.cpu = su.cpu
	res.broker = bu.cpu - b0.cpu
	h.logf("%s: %d records in %v: %.0f records/s, %d updates", sp.name, res.records, res.elapsed.Round(time.Millisecond), res.rate, n)

	h.scrape(ctx, sp, filepath.Join(dir, key+"-metrics-throughput.txt"))
	if latency {
		if err := h.latencyPass(ctx, cl, adm, sys, sp, out, res); err != nil {
			return nil, err
		}
	}
	if latency {
		h.scrape(ctx, sp, filepath.Join(dir, key+"-metrics-latency.txt"))
	}
	u, err := procUsage(sys.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	res.peakRSS = u.peakRSS
	res.peakAnon, res.peakFile = sys.peaks()
	if !sp.byCount {
		res.profiles = out.values()
	}
	return res, nil
}

// latencyPass produces a second load (next month's changes of the same
// customers) at share × the measured rate and measures, for every output
// record it causes, the time from the production of the newest input record
// behind it to its arrival: exact where the system stamps its output with
// that record's time (the pass-through, profiled), else matched by profile
// id (goka: the newest input record of that profile produced before the
// update arrived).
func (h *harness) latencyPass(ctx context.Context, cl *kgo.Client, adm *kadm.Client, sys *proc, sp spec, out *watcher, res *result) error {
	cfg := h.load
	cfg.Seed += 1000
	cfg.Start = cfg.Start.AddDate(0, 0, 61)
	var recs []scenario.LoadRecord
	// Generated before the clock starts, so that generating does not
	// compete with the system for the cores.
	if _, err := scenario.Load(cfg, func(r scenario.LoadRecord) error { recs = append(recs, r); return nil }); err != nil {
		return fmt.Errorf("generating latency load: %w", err)
	}
	res.latRate = h.share * res.rate
	if h.latencyEPS > 0 {
		res.latRate = h.latencyEPS
	}
	h.logf("%s: latency pass: %d records at %.0f records/s", sp.name, len(recs), res.latRate)
	out.record(true)
	start := time.Now()
	sent, err := produceAtRate(ctx, cl, recs, res.latRate)
	if err != nil {
		return err
	}
	before := res.records
	if err := h.waitDone(ctx, sys, adm, sp, out, before+len(recs)); err != nil {
		return err
	}
	arrivals := out.record(false)
	if err := writeArrivals(filepath.Join(h.work, sp.name+"-arrivals.csv"), arrivals, start); err != nil {
		return err
	}
	if sp.stamped {
		res.lat = ownLatencies(arrivals, start)
	} else {
		res.lat, res.unmatch = latencies(arrivals, sent)
	}
	h.logf("%s: latency p50 %v, p99 %v, max %v over %d updates (%d unmatched)", sp.name,
		quantile(res.lat, 0.5).Round(time.Millisecond), quantile(res.lat, 0.99).Round(time.Millisecond),
		quantile(res.lat, 1).Round(time.Millisecond), len(res.lat), res.unmatch)
	return nil
}

// waitDone waits until the system has processed everything produced so far:
// the pass-through when its output holds want records; a stateful system
// when each of its groups has committed all but at most one offset per
// partition (the marker a transaction commit leaves) and its output has been
// quiet for 1.5 s, or all offsets and 0.5 s.
func (h *harness) waitDone(ctx context.Context, sys *proc, adm *kadm.Client, sp spec, out *watcher, want int) error {
	deadline := time.Now().Add(h.timeout)
	var (
		last   string
		lagErr error
	)
	for {
		if ended, err := sys.exited(); ended {
			return err
		}
		n, _, lastAt, werr := out.state()
		if werr != nil {
			return werr
		}
		if sp.byCount {
			if n >= want {
				return nil
			}
			last = fmt.Sprintf("%d of %d records out", n, want)
		} else if n > 0 {
			var total, most int64
			for g, topics := range sp.groups {
				t, m, err := groupLag(ctx, adm, g, topics)
				if err != nil {
					// A broker busy with a large load can answer late:
					// ask again until the deadline.
					lagErr = err
					total = -1
					break
				}
				total += t
				most = max(most, m)
			}
			quiet := time.Since(lastAt)
			switch {
			case total < 0:
				last = fmt.Sprintf("%d updates out, lag unknown: %v", n, lagErr)
			case (total == 0 && quiet > 500*time.Millisecond) || (most <= 1 && quiet > 1500*time.Millisecond):
				return nil
			default:
				last = fmt.Sprintf("lag %d, %d updates out, quiet for %v", total, n, quiet.Round(time.Millisecond))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not done after %v (%s)\n%s", sp.name, h.timeout, last, sys.tail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// hasFlag reports whether `profiled run -h` lists flag.
func hasFlag(ctx context.Context, profiled, flagName string) bool {
	out, _ := exec.CommandContext(ctx, profiled, "run", "-h").CombinedOutput() //nolint:gosec // the harness's own binary
	return strings.Contains(string(out), "-"+flagName)
}

// findRepo returns the root of the profiled repository at or above dir.
func findRepo(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/profiled/profiled\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no profiled repository at or above %s", dir)
		}
	}
}

// cmdHarness is the benchmark: see the package doc and -h.
func cmdHarness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := scenario.DefaultLoadConfig()
	var (
		h       = &harness{load: def, log: stdout}
		systems = fs.String("systems", strings.Join(allSystems, ","), "systems to run, in this order: "+strings.Join(allSystems, ", "))
		latency = fs.Bool("latency", true, "run the latency pass after the throughput pass")
		scales  = fs.String("scales", "", "scale mode: comma-separated customer counts (e.g. 10000,100000,1000000); throughput and peak RSS per scale, no latency pass")
		outDir  = fs.String("out", "", "directory of the report (default: docs/benchmarks of the repository)")
		cpuProf = fs.Bool("cpuprofile", false, "profile the CPU of the profiled exactly-once process over its whole run (profiled run --cpuprofile) and report the top functions")
		keep    = fs.Bool("keep", false, "keep the scratch directory (logs, state)")
	)
	fs.StringVar(&h.profiled, "profiled", "", "profiled binary (default: built from the repository)")
	fs.StringVar(&h.config, "config", "", "data dictionary (default: deploy/config/dev.yaml of the repository)")
	fs.IntVar(&h.load.Customers, "customers", def.Customers, "customers (profiles, besides anonymous visitors)")
	fs.Float64Var(&h.load.OrdersPerCustomer, "orders", def.OrdersPerCustomer, "mean orders per customer")
	fs.Float64Var(&h.load.EventsPerCustomer, "events", def.EventsPerCustomer, "mean clickstream events per customer")
	fs.Float64Var(&h.load.Skew, "skew", def.Skew, "Zipf exponent of the clickstream activity (>1; 0: lognormal)")
	fs.Float64Var(&h.load.AnonymousShare, "anonymous", def.AnonymousShare, "share of clickstream events from anonymous visitors")
	fs.Float64Var(&h.load.LateShare, "late", def.LateShare, "share of late records")
	fs.Float64Var(&h.load.DuplicateShare, "duplicates", def.DuplicateShare, "share of duplicated records")
	fs.Float64Var(&h.load.BadShare, "bad", def.BadShare, "bad records as a share of the good ones")
	fs.Int64Var(&h.load.Seed, "seed", def.Seed, "seed of the load")
	fs.StringVar(&h.memBudget, "memory-budget", "", "profiled's --memory-budget, e.g. 512MiB (default: profiled's default)")
	fs.StringVar(&h.extraArgs, "profiled-args", "", "more flags for both profiled systems, separated by spaces (e.g. \"--pprof --commit-interval 200ms\")")
	fs.DurationVar(&h.compactEvery, "compact-every", time.Hour, "how often the broker compacts the compacted topics (each pass pauses it)")
	fs.Float64Var(&h.share, "latency-rate", 0.5, "rate of the latency pass as a share of the system's measured maximum")
	fs.Float64Var(&h.latencyEPS, "latency-eps", 0, "rate of the latency pass in events/s for every system (overrides -latency-rate; for comparing builds at one rate)")
	fs.IntVar(&h.scaleRuns, "scale-runs", 3, "scale mode: runs of a scale whose run lasts under 30 s; the median is reported")
	fs.DurationVar(&h.timeout, "timeout", 10*time.Minute, "longest wait for one system to finish one pass")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := h.load.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if h.share <= 0 || h.share > 1 || h.latencyEPS < 0 {
		return fmt.Errorf("%w: -latency-rate must be in (0, 1] and -latency-eps at least 0", errUsage)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("finding the working directory: %w", err)
	}
	if h.repo, err = findRepo(cwd); err != nil {
		return err
	}
	if h.config == "" {
		h.config = filepath.Join(h.repo, "deploy", "config", "dev.yaml")
	}
	if h.dict, err = dictionary.Load(h.config); err != nil {
		return fmt.Errorf("loading %s: %w", h.config, err)
	}
	if *outDir == "" {
		*outDir = filepath.Join(h.repo, "docs", "benchmarks")
	}
	if h.self, err = os.Executable(); err != nil {
		return fmt.Errorf("finding the bench binary: %w", err)
	}
	if h.work, err = os.MkdirTemp("", "profiled-bench-"); err != nil {
		return fmt.Errorf("creating scratch directory: %w", err)
	}
	if *keep {
		h.logf("scratch directory: %s", h.work)
	} else {
		defer func() { _ = os.RemoveAll(h.work) }() // scratch: a leftover is harmless
	}
	if h.profiled == "" {
		h.profiled = filepath.Join(h.work, "profiled")
		h.logf("building profiled")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", h.profiled, "./cmd/profiled") //nolint:gosec // fixed arguments
		cmd.Dir, cmd.Stdout, cmd.Stderr = h.repo, stderr, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building profiled: %w", err)
		}
	}
	// Absolute: pprof and the subprocesses run from other directories.
	if h.profiled, err = filepath.Abs(h.profiled); err != nil {
		return fmt.Errorf("finding the profiled binary: %w", err)
	}
	h.hasALO = hasFlag(ctx, h.profiled, "at-least-once")
	if *cpuProf {
		h.cpuProf = filepath.Join(h.work, "profiled-cpu.pprof")
	}

	rep := &report{started: time.Now(), args: os.Args, load: h.load, share: h.share, latencyEPS: h.latencyEPS, hasALO: h.hasALO}
	if *scales != "" {
		if err := h.runScales(ctx, *scales, strings.Split(*systems, ","), rep); err != nil {
			return err
		}
	} else {
		if err := h.runAll(ctx, strings.Split(*systems, ","), *latency, rep); err != nil {
			return err
		}
	}
	if h.cpuProf != "" {
		top, err := h.cpuProfileTop(ctx)
		if err != nil {
			return err
		}
		rep.pprof = top
		fmt.Fprintln(stdout, top)
	}
	mismatch := rep.compare()
	paths, err := rep.write(*outDir)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, rep.table())
	for _, p := range paths {
		fmt.Fprintln(stdout, "wrote", p)
	}
	return mismatch
}

// runAll runs the systems one after the other on the load.
func (h *harness) runAll(ctx context.Context, systems []string, latency bool, rep *report) error {
	for _, key := range systems {
		if key == sysProfiledALO && !h.hasALO {
			note := "skipped: this profiled has no --at-least-once flag (only one mode; it is the \"profiled\" row)"
			h.logf("%s %s", key, note)
			rep.results = append(rep.results, &result{key: key, name: "profiled at-least-once", skipped: true, note: note})
			continue
		}
		res, err := h.runSystem(ctx, key, latency)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		rep.results = append(rep.results, res)
	}
	return nil
}

// shortRun is the duration under which a scale's run is repeated.
const shortRun = 30 * time.Second

// runScales runs the systems at each scale, throughput pass only.
func (h *harness) runScales(ctx context.Context, scales string, systems []string, rep *report) error {
	base := h.load
	for _, s := range strings.Split(scales, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("%w: --scales: %q is not a positive count", errUsage, s)
		}
		h.load = base
		h.load.Customers = n
		for _, key := range systems {
			if key == sysProfiledALO && !h.hasALO {
				continue
			}
			// A short run's rate is mostly start-up and noise (the 10 k
			// light load lasts about 2 s and gave 36 k to 60 k events/s
			// on the same build), so a scale whose run is short is run
			// again and the median run is reported, with every rate.
			var runs []*result
			for len(runs) < max(1, h.scaleRuns) {
				res, err := h.runSystem(ctx, key, false)
				if err != nil {
					return fmt.Errorf("%s at %d customers: %w", key, n, err)
				}
				res.profiles = nil // not compared across scales; frees the memory
				runs = append(runs, res)
				if res.elapsed >= shortRun {
					break
				}
			}
			slices.SortFunc(runs, func(a, b *result) int { return cmp.Compare(a.rate, b.rate) })
			sr := scaleResult{customers: n, res: runs[len(runs)/2]}
			for _, r := range runs {
				sr.rates = append(sr.rates, r.rate)
			}
			rep.scales = append(rep.scales, sr)
		}
	}
	h.load = base
	return nil
}

// scrape keeps the system's metrics as they are at the end of a pass in
// the scratch directory (kept with -keep), for what the table does not
// show (round durations, cache hits, state size). A failed scrape is only
// logged: it is a diagnostic.
func (h *harness) scrape(ctx context.Context, sp spec, path string) {
	if sp.metrics == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, sp.metrics, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", sp.metrics, resp.Status)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		return os.WriteFile(path, b, 0o600)
	}()
	if err != nil {
		h.logf("%s: keeping its metrics: %v", sp.name, err)
	}
}

// writeArrivals keeps the latency pass's arrivals in the scratch directory
// (kept with -keep): milliseconds since the pass started of each arrival and
// of the timestamp it carries, to see how latency moves over the pass.
func writeArrivals(path string, arrivals []arrival, start time.Time) error {
	var b strings.Builder
	b.WriteString("arrival_ms,stamp_ms,key\n")
	for _, a := range arrivals {
		fmt.Fprintf(&b, "%d,%d,%s\n", a.at.Sub(start).Milliseconds(), a.ts.Sub(start).Milliseconds(), a.key)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing arrivals: %w", err)
	}
	return nil
}
