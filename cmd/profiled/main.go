// Command profiled runs the real-time customer-profile pipeline.
//
//	profiled dev     broker + pipeline in one process, on the embedded default
//	profiled run     the pipeline against an existing Kafka cluster
//	profiled broker  a standalone Kafka-protocol broker for local development
//
// Run "profiled <command> -h" for each command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// The first signal starts a clean shutdown (drain, commit); a second one
	// exits at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // restore default handling: the next signal kills the process
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `profiled: real-time customer profiles from Debezium CDC and clickstream

Usage:
  profiled dev     [flags]   broker + pipeline in one process (embedded default)
  profiled run     [flags]   the pipeline against an existing Kafka cluster
  profiled broker  [flags]   a standalone Kafka-protocol broker for development
  profiled sink    [flags]   one ESP connector (sinks: in the config) on the profiles topic
  profiled schema  print|check|jsonschema   the profile schema generated from the config
  profiled version

Run "profiled <command> -h" for the flags of a command.
`)
}

// run runs one command until ctx ends and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}

	var err error
	switch args[0] {
	case "dev":
		err = cmdDev(ctx, args[1:], stdout, stderr)
	case "run":
		err = cmdRun(ctx, args[1:], stderr)
	case "broker":
		err = cmdBroker(ctx, args[1:], stdout, stderr)
	case "schema":
		err = cmdSchema(ctx, args[1:], stdout, stderr)
	case "sink":
		err = cmdSink(ctx, args[1:], stderr)
	case "version":
		fmt.Fprintln(stdout, "profiled", version)
	case "-h", "-help", "--help", "help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "profiled: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "profiled:", err)
	return 1
}

var errUsage = errors.New("usage error")

// logFlags are the logging flags every command shares.
type logFlags struct {
	level  string
	format string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
}

// parse parses a command's flags and builds its logger on w.
func (l *logFlags) parse(fs *flag.FlagSet, args []string, w io.Writer) (*slog.Logger, error) {
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	return l.logger(w)
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", l.format)
}

// parse parses flags, printing errors the flag package way.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	return nil
}
