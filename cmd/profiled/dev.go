package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/deploy"
	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/scenario"
	"github.com/profiled/profiled/schemas/dictionary"
)

func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("profiled dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "configuration file (default: the built-in deploy/config/dev.yaml)")
	dataDir := fs.String("data-dir", "", "keep broker log and state here across restarts (default: a temporary directory, removed on exit)")
	brokerListen := fs.String("broker-listen", "127.0.0.1:9092", "address of the embedded broker (127.0.0.1 only)")
	registryListen := fs.String("registry-listen", "127.0.0.1:8081", "address of the development Schema Registry (127.0.0.1 only; empty: none)")
	httpListen := fs.String("http-listen", "127.0.0.1:8080", "address for /healthz, /readyz and /metrics")
	partitions := fs.Int("partitions", 0, "partitions of the topics it creates (default: pipeline.partitions of the config)")
	demo := fs.Bool("demo", false, "publish a generated stream of the reference scenario")
	logPersonal := fs.Bool("log-personal-data", false, "log rejected values (emails, names) for local debugging")
	demoCustomers := fs.Int("demo-customers", 2000, "customers in the --demo stream")
	demoSeed := fs.Int64("demo-seed", 1, "seed of the --demo stream")
	var df deliveryFlags
	df.register(fs)
	var lf logFlags
	lf.register(fs)
	log, err := lf.parse(fs, args, stderr)
	if err != nil {
		return err
	}

	var dict *dictionary.File
	if *config == "" {
		dict, err = dictionary.Parse(deploy.DevConfig, "deploy/config/dev.yaml (built in)")
	} else {
		dict, err = dictionary.Load(*config)
	}
	if err != nil {
		return fmt.Errorf("loading configuration: %w", err)
	}
	if *partitions > 0 {
		dict.Pipeline.Partitions = *partitions
	}
	// The embedded broker speaks plaintext without authentication: the
	// kafka: section describes a real cluster and does not apply here.
	if dict.Kafka.TLS != nil || dict.Kafka.SASL != nil || len(dict.Kafka.Brokers) > 0 {
		log.Info("ignoring the kafka: section of the configuration; dev uses its embedded broker")
		dict.Kafka = dictionary.Kafka{}
	}

	// Without --data-dir, the broker keeps its log in memory, so the state
	// must not outlive it either: a state store that remembers offsets of a
	// log that no longer exists would skip the new records.
	persist := *dataDir != ""
	dir := *dataDir
	if !persist {
		if dir, err = os.MkdirTemp("", "profiled-dev-"); err != nil {
			return fmt.Errorf("creating a temporary data directory: %w", err)
		}
		defer func() { _ = os.RemoveAll(dir) }()
	}
	brokerDir := ""
	if persist {
		brokerDir = dir + "/broker"
	}
	cluster, err := startBroker(*brokerListen, brokerDir, defaultCompactEvery)
	if err != nil {
		return err
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	log.Info("embedded broker listening", "addr", brokers[0])
	regURL, stopReg, err := openDevRegistry(*registryListen, log)
	if err != nil {
		return err
	}
	defer stopReg()
	if regURL != "" && dict.Registry == nil {
		// Avro sources and output find their registry with no setup.
		dict.Registry = &dictionary.Registry{URLs: []string{regURL}, Timeout: dictionary.DefaultRegistryTimeout}
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	demoCtx, cancelDemo := context.WithCancel(ctx)
	defer cancelDemo()
	started := func(httpAddr string) {
		fmt.Fprintf(stdout, "profiled dev: broker on %s, pipeline up (http://%s/metrics). Ctrl-C to stop.\n", brokers[0], httpAddr)
		fmt.Fprintf(stdout, "  watch profiles:  kcat -b %s -C -t %s -f '%%k %%s\\n'\n", brokers[0], dict.Pipeline.ProfilesTopic)
		if !*demo {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := scenario.DefaultConfig()
			cfg.Seed, cfg.Customers = *demoSeed, *demoCustomers
			if err := publishDemo(demoCtx, log, brokers, cfg, stderr); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("demo stream failed", "err", err)
			}
		}()
	}
	return runPipeline(ctx, log, pipelineConfig{
		dict:            dict,
		brokers:         brokers,
		dataDir:         dir,
		httpListen:      *httpListen,
		memory:          devMemory,
		createInputs:    true,
		logPersonalData: *logPersonal,
		clientOpts:      append(df.clientOpts(), kgo.HeartbeatInterval(time.Second)),
		started:         started,
		atLeastOnce:     df.atLeastOnce,
		commitInterval:  df.commitInterval,
		standbys:        df.standbys,
		instanceID:      df.instanceID,
		sinks:           dict.Sinks,
	})
}

// devMemory is the pipeline's share in profiled dev: the embedded broker
// keeps the whole log in the same process, so there is no process budget
// to give, only the pipeline's parts to keep small.
var devMemory, _ = processor.PlanMemory(512 << 20)

// publishDemo produces the generated reference scenario with a progress bar.
func publishDemo(ctx context.Context, log *slog.Logger, brokers []string, cfg scenario.Config, stderr io.Writer) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		// Kafka's default partitioner, as Debezium's Kafka Connect producer uses.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		return fmt.Errorf("creating demo producer: %w", err)
	}
	defer cl.Close()
	// Count first so that the bar knows its total; generating is cheap.
	total := 0
	if err := scenario.Stream(cfg, func(scenario.Record) error { total++; return nil }); err != nil {
		return err
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("demo: publishing"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rec"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	var (
		mu   sync.Mutex
		perr error
	)
	err = scenario.Stream(cfg, func(r scenario.Record) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		cl.Produce(ctx, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				perr = errors.Join(perr, err)
				mu.Unlock()
			}
			_ = bar.Add(1)
		})
		return nil
	})
	if ferr := cl.Flush(ctx); ferr != nil && err == nil {
		err = ferr
	}
	_ = bar.Finish()
	mu.Lock()
	err = errors.Join(err, perr)
	mu.Unlock()
	if err != nil {
		return fmt.Errorf("publishing demo stream: %w", err)
	}
	log.Info("demo stream published", "records", total, "customers", cfg.Customers)
	return nil
}
