// Command bench measures profiled against a goka implementation of the same
// merge and against the broker's limit (a franz-go pass-through), in one
// run, each system in its own process on its own fresh broker.
//
//	bench [flags]                  the harness (see -h): writes the report
//	bench passthrough [flags]      the limit: consume the input, produce it unchanged
//	bench gokapeer [flags]         the peer: profiled's two stages on goka
//
// It is a module of its own (cmd/bench/go.mod) so that the main module does
// not depend on goka, sarama or the plotting library. Run it from the
// repository with `make bench`, or `cd cmd/bench && go run . -h`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code) //nolint:forbidigo // main decides the exit code
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && args[0] == "passthrough":
		err = cmdPassThrough(ctx, args[1:], stderr)
	case len(args) > 0 && args[0] == "gokapeer":
		err = cmdGokaPeer(ctx, args[1:], stderr)
	default:
		err = cmdHarness(ctx, args, stdout, stderr)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "bench:", err)
	return 1
}

var errUsage = errors.New("usage error")

// parseFlags parses args, rejecting positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
