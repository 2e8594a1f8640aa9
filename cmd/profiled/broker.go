package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// startBroker starts the embedded Kafka-protocol broker (franz-go's kfake).
// kfake can only listen on 127.0.0.1, so other hosts are refused with a
// clear message instead of a confusing bind error.
func startBroker(listen, dataDir string) (*kfake.Cluster, error) {
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
		// Let the compacted profiles topic actually compact during long
		// local runs (kfake's default is once an hour).
		kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": "60000"}),
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

func cmdBroker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("profiled broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9092", "address to listen on (127.0.0.1 only)")
	dataDir := fs.String("data-dir", "", "keep the log in this directory so it survives restarts (default: in memory)")
	registryListen := fs.String("registry-listen", "127.0.0.1:8081", "address of the development Schema Registry (127.0.0.1 only; empty: none)")
	var lf logFlags
	lf.register(fs)
	log, err := lf.parse(fs, args, stderr)
	if err != nil {
		return err
	}
	c, err := startBroker(*listen, *dataDir)
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
