package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/profiled/profiled/connectors/esp"
	"github.com/profiled/profiled/connectors/kafka"
	"github.com/profiled/profiled/connectors/sink"
	"github.com/profiled/profiled/schemas/dictionary"
)

// sinkConfig is what runSink needs.
type sinkConfig struct {
	dict       *dictionary.File
	connector  *dictionary.Sink
	brokers    []string
	httpListen string
	clientOpts []kgo.Opt
	espOpts    esp.Options
}

// findSink returns the connector named name, or an error listing the
// configured ones.
func findSink(d *dictionary.File, name string) (*dictionary.Sink, error) {
	var names []string
	for _, s := range d.Sinks {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("connector %q: the configuration has no sinks: section", name)
	}
	return nil, fmt.Errorf("connector %q is not in the configuration's sinks (configured: %s)", name, strings.Join(names, ", "))
}

// buildSinks builds the connectors cs, their metrics on reg (labelled by
// connector). Secrets are read now, so a missing one fails at start-up.
// profiled dev runs the sinks its configuration enables with it.
func buildSinks(log *slog.Logger, dict *dictionary.File, cs []*dictionary.Sink, brokers []string,
	reg prometheus.Registerer, clientOpts []kgo.Opt, espOpts esp.Options) ([]*sink.Sink, error) {
	secure, err := kafka.ClientOpts(dict.Kafka)
	if err != nil {
		return nil, fmt.Errorf("kafka settings: %w", err)
	}
	var out []*sink.Sink
	for _, c := range cs {
		hc := sink.NewClient(sink.ClientOptions{
			Rate:       c.Rate,
			Retry:      c.Retry,
			Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"connector": c.Name}, reg),
		})
		adapter, err := esp.New(c, hc, espOpts)
		if err == nil {
			var s *sink.Sink
			s, err = sink.New(sink.Options{
				Config:     c,
				Dictionary: dict,
				Brokers:    brokers,
				Adapter:    adapter,
				Client:     hc,
				Logger:     log,
				ClientOpts: append(append([]kgo.Opt(nil), secure...), clientOpts...),
			})
			out = append(out, s)
		}
		if err != nil {
			for _, s := range out {
				if s != nil {
					s.Client().Close()
				}
			}
			return nil, err
		}
	}
	return out, nil
}

// runSinks runs the sinks until ctx ends or one fails; it returns after all
// have stopped.
func runSinks(ctx context.Context, sinks []*sink.Sink) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range sinks {
		g.Go(func() error { return s.Run(gctx) })
	}
	return g.Wait()
}

// runSink runs one ESP connector as its own consumer group on the profiles
// topic, with /healthz, /readyz and /metrics, until ctx ends.
func runSink(ctx context.Context, log *slog.Logger, cfg sinkConfig) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c := cfg.connector
	sinks, err := buildSinks(log, cfg.dict, []*dictionary.Sink{c}, cfg.brokers, reg, cfg.clientOpts, cfg.espOpts)
	if err != nil {
		return err
	}
	s := sinks[0]
	ln, err := net.Listen("tcp", cfg.httpListen)
	if err != nil {
		s.Client().Close()
		return fmt.Errorf("--http-listen %s: %w", cfg.httpListen, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.Ready() {
			http.Error(w, "not ready: the sink has not joined its group yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Info("sink connector starting", "connector", c.Name, "type", c.Type,
		"brokers", strings.Join(cfg.brokers, ","), "group", sink.GroupOf(cfg.dict, c.Name),
		"http", "http://"+ln.Addr().String())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		return runSinks(gctx, sinks)
	})
	return g.Wait()
}

func cmdSink(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("profiled sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "configuration with a sinks: section (YAML); required")
	connector := fs.String("connector", "", "name of the sink to run (sinks[].name); required")
	brokers := fs.String("brokers", "", "comma-separated seed brokers, host:port (default: kafka.brokers of the config)")
	httpListen := fs.String("http-listen", "127.0.0.1:8082", "address for /healthz, /readyz and /metrics")
	sessionTimeout := fs.Duration("session-timeout", 45*time.Second,
		"how long the group waits for a silent instance before moving its partitions (also the rebalance timeout)")
	var lf logFlags
	lf.register(fs)
	log, err := lf.parse(fs, args, stderr)
	if err != nil {
		return err
	}
	dict, seeds, err := loadClusterConfig(fs, stderr, "sink", *config, *brokers,
		requiredFlag{"--config", *config}, requiredFlag{"--connector", *connector})
	if err != nil {
		return err
	}
	c, err := findSink(dict, *connector)
	if err != nil {
		return err
	}
	df := deliveryFlags{sessionTimeout: *sessionTimeout}
	return runSink(ctx, log, sinkConfig{dict: dict, connector: c, brokers: seeds, httpListen: *httpListen, clientOpts: df.clientOpts()})
}
