package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	rpprof "runtime/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/profiled/profiled/connectors/esp"
	"github.com/profiled/profiled/connectors/kafka"
	"github.com/profiled/profiled/connectors/sink"
	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/schemas/debezium"
	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/schemas/profileavro"
	"github.com/profiled/profiled/schemas/registry"
	"github.com/profiled/profiled/store"
)

// pipelineConfig is what runPipeline needs, from either dev or run.
type pipelineConfig struct {
	dict       *dictionary.File
	brokers    []string
	dataDir    string
	httpListen string
	// memory divides the process's memory budget; goLimit applies its Go
	// soft limit (run: the process is the pipeline; dev also holds the
	// broker's log, which no budget of the pipeline's covers).
	memory       processor.Memory
	goLimit      bool
	createInputs bool
	// logPersonalData puts rejected values into the log (local debugging).
	logPersonalData bool
	// preflight checks credentials and permissions before joining the
	// group (run); the embedded dev broker needs no such check.
	preflight  bool
	clientOpts []kgo.Opt
	// started, if set, is called with the HTTP address once topics exist
	// and the pipeline runs.
	started func(httpAddr string)
	// Delivery: exactly-once (default) or at least once, and the knobs.
	atLeastOnce    bool
	commitInterval time.Duration
	standbys       int
	instanceID     string
	// api: the address other instances reach this one at, and the token
	// the profile API requires.
	api apiFlags
	// sinks, when set, run in the same process (profiled dev).
	sinks []*dictionary.Sink
	// pprof serves Go's profiler under /debug/pprof/ on the HTTP listener.
	pprof bool
}

// runPipeline opens the state store, makes sure the topics exist, serves
// HTTP and runs the pipeline until ctx ends. Everything it starts is waited
// for before it returns.
func runPipeline(ctx context.Context, log *slog.Logger, cfg pipelineConfig) (err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	stateDir := filepath.Join(cfg.dataDir, "state")
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	if cfg.goLimit {
		if env := os.Getenv("GOMEMLIMIT"); env != "" {
			log.Info("GOMEMLIMIT is set: it, not --memory-budget, is the Go runtime's soft limit", "gomemlimit", env)
		} else {
			prev := debug.SetMemoryLimit(cfg.memory.GoLimit)
			defer debug.SetMemoryLimit(prev)
		}
	}
	log.Info("memory budget", "budget_mib", cfg.memory.Budget>>20, "go_limit_mib", cfg.memory.GoLimit>>20,
		"store_mib", cfg.memory.Store>>20, "state_cache_mib", cfg.memory.StateCache>>20, "mapped_mib", cfg.memory.Mapped>>20,
		"fetch_max_mib", cfg.memory.FetchMaxBytes>>20, "produce_buffer_mib", cfg.memory.ProduceBufferedBytes>>20)
	sopts := store.Options{Dir: stateDir, MemoryBudget: cfg.memory.Store, MappedLimit: cfg.memory.Mapped, Logger: log, KeyRotation: cfg.dict.Store.KeyRotation}
	if k := cfg.dict.Store.EncryptionKey; !k.IsZero() {
		raw, err := k.RevealBytes()
		if err != nil {
			return fmt.Errorf("store.encryption_key: %w", err)
		}
		if sopts.EncryptionKey, err = store.ParseKey(raw); err != nil {
			return fmt.Errorf("store.encryption_key (%s): %w", k, err)
		}
	}
	db, err := store.Open(sopts)
	if errors.Is(err, store.ErrCorrupt) {
		// The changelogs hold the state: a damaged directory is moved aside
		// (kept for a post-mortem) and the state restored from them.
		aside := stateDir + ".corrupt-" + time.Now().UTC().Format("20060102T150405Z")
		log.Error("the state store is damaged; moving it aside and restoring the state from the changelogs",
			"dir", stateDir, "moved_to", aside, "err", err)
		if rerr := os.Rename(stateDir, aside); rerr != nil {
			return fmt.Errorf("moving the damaged state store aside: %w (store: %w)", rerr, err)
		}
		if err := os.MkdirAll(stateDir, 0o750); err != nil {
			return fmt.Errorf("creating data directory: %w", err)
		}
		db, err = store.Open(sopts)
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing state store: %w", cerr))
		}
	}()

	secure, err := kafka.ClientOpts(cfg.dict.Kafka)
	if err != nil {
		return fmt.Errorf("kafka settings: %w", err)
	}
	schemaSrc, encoder, err := avroSetup(ctx, log, cfg.dict)
	if err != nil {
		return err
	}
	token, err := cfg.api.tokenSource()
	if err != nil {
		return err
	}
	// Listen first: the address this instance advertises to the others
	// (its Kafka client id) must be known before it joins the group.
	ln, err := net.Listen("tcp", cfg.httpListen)
	if err != nil {
		return fmt.Errorf("--http-listen %s: %w", cfg.httpListen, err)
	}
	defer func() { _ = ln.Close() }() // Serve closes it too; a second close is harmless
	self, err := advertised(cfg.api.advertiseAddr, ln.Addr())
	if err != nil {
		return err
	}
	p, err := processor.New(processor.Options{
		Schemas:         schemaSrc,
		ProfileEncoder:  encoder,
		Brokers:         cfg.brokers,
		Dictionary:      cfg.dict,
		Store:           db,
		Registerer:      reg,
		Logger:          log,
		LogPersonalData: cfg.logPersonalData,
		ClientOpts:      append(append(secure, cfg.memory.ClientOpts()...), cfg.clientOpts...),
		StateCacheBytes: cfg.memory.StateCache,
		AtLeastOnce:     cfg.atLeastOnce,
		CommitInterval:  cfg.commitInterval,
		Standbys:        cfg.standbys,
		TransactionalID: transactionalID(cfg),
		AdvertiseAddr:   self,
	})
	if err != nil {
		return err
	}
	topics := processor.TopicsOf(cfg.dict)
	if cfg.preflight {
		pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		access := []kafka.TopicAccess{
			{Topic: topics.Repartition, Read: true, Write: true},
			{Topic: topics.Profiles, Write: true},
			{Topic: topics.DLQ, Write: true},
		}
		for _, in := range topics.Inputs {
			access = append(access, kafka.TopicAccess{Topic: in, Read: true})
		}
		err := kafka.PreflightAccess(pctx, p.Client(), cfg.dict.Kafka, cfg.dict.Pipeline.Group, access)
		if err == nil && cfg.dict.Registry != nil {
			err = checkRegistry(pctx, *cfg.dict.Registry)
		}
		cancel()
		if err != nil {
			p.Client().Close()
			return err
		}
	}
	topicsCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = topics.Ensure(topicsCtx, kadm.NewClient(p.Client()), cfg.createInputs)
	cancel()
	if err != nil {
		p.Client().Close()
		return fmt.Errorf("preparing topics: %w", err)
	}
	// The subscription is a set of patterns, matched against metadata;
	// without a refresh, topics created a moment ago would only be found at
	// the next periodic refresh, minutes from now.
	p.Client().ForceMetadataRefresh()

	var sinks []*sink.Sink
	if len(cfg.sinks) > 0 {
		if sinks, err = buildSinks(log, cfg.dict, cfg.sinks, cfg.brokers, reg, cfg.clientOpts, esp.Options{}); err != nil {
			p.Client().Close()
			return fmt.Errorf("sinks: %w", err)
		}
	}
	stats := newStatsSampler(reg, topics.Repartition, transactionalID(cfg), 2*time.Second)
	a := newAPI(p, log, self, token, stats, newInspectorPage(cfg.dict, transactionalID(cfg), self, token != nil))
	srv := &http.Server{Handler: httpHandler(reg, p, a, cfg.pprof), ReadHeaderTimeout: 5 * time.Second}
	log.Info("pipeline starting",
		"brokers", strings.Join(cfg.brokers, ","), "group", cfg.dict.Pipeline.Group,
		"sources", len(cfg.dict.Sources), "attributes", len(cfg.dict.Attributes),
		"http", "http://"+ln.Addr().String(), "advertise", self, "data_dir", cfg.dataDir)

	statsCtx, stopStats := context.WithCancel(ctx)

	g, gctx := errgroup.WithContext(ctx)
	if len(sinks) > 0 {
		g.Go(func() error { return runSinks(gctx, sinks) })
	}
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		stats.run(statsCtx)
		return nil
	})
	g.Go(func() error {
		defer stopStats()
		defer func() {
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer scancel()
			_ = srv.Shutdown(sctx)
		}()
		if cfg.started != nil {
			cfg.started(ln.Addr().String())
		}
		err := p.Run(gctx)
		log.Info("pipeline stopped", "err", err)
		return err
	})
	return g.Wait()
}

// avroSetup prepares what Avro needs: a schema cache for debezium-avro
// sources, and for Avro output the profile schema, checked for backward
// compatibility and registered before anything is produced with it.
func avroSetup(ctx context.Context, log *slog.Logger, d *dictionary.File) (debezium.SchemaSource, processor.ProfileEncoder, error) {
	avroIn := false
	for _, s := range d.Sources {
		avroIn = avroIn || s.Format == dictionary.FormatDebeziumAvro
	}
	avroOut := d.Output.Format == dictionary.OutputAvro
	if !avroIn && !avroOut {
		return nil, nil, nil
	}
	if d.Registry == nil {
		return nil, nil, errors.New("the Avro format needs a schema registry: add a registry: section")
	}
	cl, err := registry.NewClient(*d.Registry)
	if err != nil {
		return nil, nil, fmt.Errorf("registry settings: %w", err)
	}
	var (
		src debezium.SchemaSource
		enc processor.ProfileEncoder
	)
	if avroIn {
		src = registry.NewSchemaCache(cl, registry.SchemaCacheOptions{})
	}
	if avroOut {
		s, err := profileavro.Generate(d)
		if err != nil {
			return nil, nil, fmt.Errorf("generating the profile schema: %w", err)
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		id, _, err := profileavro.Register(rctx, cl, d.Output.Subject, s)
		if err != nil {
			return nil, nil, fmt.Errorf("registering the profile schema under %s: %w", d.Output.Subject, err)
		}
		log.Info("profile schema registered", "subject", d.Output.Subject, "id", id)
		enc = profileavro.NewEncoder(s, id)
	}
	return src, enc, nil
}

// checkRegistry connects to the configured Schema Registry once at start-up
// so that a wrong URL, certificate or credential fails now, not at the first
// Avro record.
func checkRegistry(ctx context.Context, r dictionary.Registry) error {
	cl, err := registry.NewClient(r)
	if err != nil {
		return fmt.Errorf("registry settings: %w", err)
	}
	if err := registry.Check(ctx, cl); err != nil {
		return fmt.Errorf("schema registry: %w", err)
	}
	return nil
}

func httpHandler(reg *prometheus.Registry, p *processor.Pipeline, a *api, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	if withPprof {
		// Off by default: a profile shows the process's memory, and the
		// endpoints cost CPU while they run.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !p.Ready() {
			http.Error(w, "not ready: partitions are not assigned and open yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	a.register(mux)
	return mux
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("profiled run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "data dictionary and pipeline configuration (YAML); required")
	brokers := fs.String("brokers", "", "comma-separated seed brokers, host:port (default: kafka.brokers of the config)")
	logPersonal := fs.Bool("log-personal-data", false, "log rejected values (emails, names) for local debugging; never in production")
	dataDir := fs.String("data-dir", "", "directory for the local state store; required")
	httpListen := fs.String("http-listen", "127.0.0.1:8080", "address for /healthz, /readyz, /metrics, the profile API (/v1/) and the inspector (/)")
	memoryBudget := byteSize(1 << 30)
	fs.Var(&memoryBudget, "memory-budget",
		"memory for the whole process (Go heap limit, state store, state cache, Kafka buffers), e.g. 1GiB or 768Mi; leave the rest of the node for the page cache")
	withPprof := fs.Bool("pprof", false, "serve Go's profiler under /debug/pprof/ on --http-listen")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (benchmarks)")
	var df deliveryFlags
	df.register(fs)
	var af apiFlags
	af.register(fs)
	var lf logFlags
	lf.register(fs)
	log, err := lf.parse(fs, args, stderr)
	if err != nil {
		return err
	}
	dict, seeds, err := loadClusterConfig(fs, stderr, "run", *config, *brokers,
		requiredFlag{"--config", *config}, requiredFlag{"--data-dir", *dataDir})
	if err != nil {
		return err
	}
	mem, err := processor.PlanMemory(int64(memoryBudget))
	if err != nil {
		return fmt.Errorf("--memory-budget: %w", err)
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	return runPipeline(ctx, log, pipelineConfig{
		dict:            dict,
		brokers:         seeds,
		dataDir:         *dataDir,
		httpListen:      *httpListen,
		memory:          mem,
		goLimit:         true,
		logPersonalData: *logPersonal,
		preflight:       true,
		atLeastOnce:     df.atLeastOnce,
		commitInterval:  df.commitInterval,
		standbys:        df.standbys,
		instanceID:      df.instanceID,
		clientOpts:      df.clientOpts(),
		api:             af,
		pprof:           *withPprof,
	})
}

// deliveryFlags are the delivery settings shared by run and dev.
type deliveryFlags struct {
	atLeastOnce    bool
	commitInterval time.Duration
	standbys       int
	instanceID     string
	sessionTimeout time.Duration
}

func (d *deliveryFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&d.atLeastOnce, "at-least-once", false,
		"turn transactions off: lower latency, but a crash can emit a profile version twice (default: exactly-once)")
	fs.DurationVar(&d.commitInterval, "commit-interval", 0,
		"how long a round gathers records while the input is behind before it commits; a round that caught up commits at once (default 100ms)")
	fs.IntVar(&d.standbys, "standbys", 0, "keep warm copies of this many other instances' partitions, so that failover skips restore")
	fs.StringVar(&d.instanceID, "instance-id", "",
		"this instance's stable, unique name; its transactional id is <group>-<instance-id> (default: host name and data directory)")
	fs.DurationVar(&d.sessionTimeout, "session-timeout", 45*time.Second,
		"how long the group waits for a silent instance before moving its partitions (also the rebalance timeout)")
}

// clientOpts are the Kafka client settings the delivery flags imply.
func (d *deliveryFlags) clientOpts() []kgo.Opt {
	return []kgo.Opt{kgo.SessionTimeout(d.sessionTimeout), kgo.RebalanceTimeout(max(d.sessionTimeout, 10*time.Second))}
}

// transactionalID must be unique per instance and the same across its
// restarts: a restarted instance then fences its previous life's open
// transaction at once. Host name plus data directory is both for a
// StatefulSet pod or a process on a VM; --instance-id overrides it.
func transactionalID(cfg pipelineConfig) string {
	id := cfg.instanceID
	if id == "" {
		host, _ := os.Hostname()
		dir, err := filepath.Abs(cfg.dataDir)
		if err != nil {
			dir = cfg.dataDir
		}
		sum := sha256.Sum256([]byte(dir))
		id = host + "-" + hex.EncodeToString(sum[:4])
	}
	return cfg.dict.Pipeline.Group + "-" + id
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// startCPUProfile profiles the process's CPU into path until the returned
// function is called.
func startCPUProfile(path string) (func() error, error) {
	f, err := os.Create(path) //nolint:gosec // the operator's own path
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := rpprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting the CPU profile: %w", err)
	}
	return func() error {
		rpprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing the CPU profile: %w", err)
		}
		return nil
	}, nil
}
