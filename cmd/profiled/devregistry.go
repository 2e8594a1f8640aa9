package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// devRegistry is the Confluent-compatible Schema Registry that "profiled
// broker" and "profiled dev" serve next to the embedded broker (franz-go's
// srfake: in memory, no compatibility checks of its own, no
// authentication). For development only, like the broker.
type devRegistry struct {
	url  string
	srv  *http.Server
	reg  *srfake.Registry
	done chan error
}

func startDevRegistry(listen string) (*devRegistry, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("--registry-listen %q: %w", listen, err)
	}
	if host != "127.0.0.1" && host != "localhost" {
		return nil, fmt.Errorf("--registry-listen %q: the development registry listens on 127.0.0.1 only", listen)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("development schema registry: %w", err)
	}
	reg := srfake.NewRegistry()
	d := &devRegistry{
		url:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: reg.Handler(), ReadHeaderTimeout: 5 * time.Second},
		reg:  reg,
		done: make(chan error, 1),
	}
	go func() {
		err := d.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		d.done <- err
	}()
	return d, nil
}

// openDevRegistry starts the development registry on listen, unless listen
// is empty, and logs where it is. It returns its URL ("" when none) and the
// function that stops it.
func openDevRegistry(listen string, log *slog.Logger) (url string, stop func(), err error) {
	if listen == "" {
		return "", func() {}, nil
	}
	d, err := startDevRegistry(listen)
	if err != nil {
		return "", nil, err
	}
	log.Info("development schema registry listening (in memory)", "url", d.url)
	return d.url, func() { _ = d.close() }, nil
}

// close stops serving and waits for the server goroutine.
func (d *devRegistry) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := d.srv.Shutdown(ctx)
	d.reg.Close()
	return errors.Join(err, <-d.done)
}
