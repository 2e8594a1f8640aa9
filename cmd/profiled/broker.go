package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// startBroker starts the embedded Kafka-protocol broker (franz-go's kfake).
// kfake can only listen on 127.0.0.1, so other hosts are refused with a
// clear message instead of a confusing bind error.
//
// compactEvery is how often kfake's log cleaner compacts the compacted
// topics (profiles, the changelogs). kfake cleans inside the goroutine that
// serves every request, so each pass stops the whole broker for as long as
// it takes (seconds once the changelogs hold millions of records), which a
// Kafka broker's background cleaner threads do not.
func startBroker(listen, dataDir string, compactEvery time.Duration) (*kfake.Cluster, error) {
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", listen, err)
	}
	if host != "127.0.0.1" && host != "localhost" {
		return nil, fmt.Errorf("--listen %q: the embedded broker listens on 127.0.0.1 only (it is for development)", listen)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("--listen %q: bad port", listen)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.AllowAutoTopicCreation(),
		kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": strconv.FormatInt(compactEvery.Milliseconds(), 10)}),
	}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting embedded broker on %s: %w", listen, err)
	}
	return c, nil
}

// defaultCompactEvery lets the compacted topics actually compact during
// long local runs (kfake's own default is once an hour).
const defaultCompactEvery = time.Minute

func cmdBroker(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("profiled broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9092", "address to listen on (127.0.0.1 only)")
	dataDir := fs.String("data-dir", "", "keep the log in this directory so it survives restarts (default: in memory)")
	registryListen := fs.String("registry-listen", "127.0.0.1:8081", "address of the development Schema Registry (127.0.0.1 only; empty: none)")
	compactEvery := fs.Duration("compact-every", defaultCompactEvery,
		"how often the compacted topics are compacted; each pass pauses the broker (kfake cleans in its request loop)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the broker to this file (benchmarks)")
	var lf logFlags
	lf.register(fs)
	log, err := lf.parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *compactEvery < time.Second {
		return fmt.Errorf("--compact-every %v: at least 1s", *compactEvery)
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	c, err := startBroker(*listen, *dataDir, *compactEvery)
	if err != nil {
		return err
	}
	defer c.Close()
	regURL, stopReg, err := openDevRegistry(*registryListen, log)
	if err != nil {
		return err
	}
	defer stopReg()
	if regURL != "" {
		fmt.Fprintf(stdout, "registry ready on %s\n", regURL)
	}
	log.Info("broker listening", "addr", c.ListenAddrs()[0], "data_dir", *dataDir)
	fmt.Fprintf(stdout, "broker ready on %s (Ctrl-C to stop)\n", c.ListenAddrs()[0])
	<-ctx.Done()
	log.Info("broker stopping")
	return nil
}
