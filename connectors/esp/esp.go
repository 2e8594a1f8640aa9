// Package esp builds the connector of a configured sink: the adapter for
// its type (connectors/esp/<type>) over a sink.Client that does the rate
// limiting and retries. The adapters' contracts are those of
// ../shared/docs/esp-apis.md; connectors/esp/esptest has a strict local
// server for each.
package esp

import (
	"fmt"
	"time"

	"github.com/profiled/profiled/connectors/esp/braze"
	"github.com/profiled/profiled/connectors/esp/klaviyo"
	"github.com/profiled/profiled/connectors/esp/mailchimp"
	"github.com/profiled/profiled/connectors/esp/sendgrid"
	"github.com/profiled/profiled/connectors/esp/webhook"
	"github.com/profiled/profiled/connectors/sink"
	"github.com/profiled/profiled/schemas/dictionary"
)

// Options tune the adapters beyond the configuration file (tests).
type Options struct {
	// PollInterval is how often asynchronous jobs are polled; zero means
	// one second.
	PollInterval time.Duration
}

// New builds the adapter of a configured sink. Secrets are read now: a
// missing one fails here, at start-up.
func New(cfg *dictionary.Sink, c *sink.Client, o Options) (sink.Adapter, error) {
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	var (
		a   sink.Adapter
		err error
	)
	switch cfg.Type {
	case dictionary.SinkMailchimp:
		a, err = mailchimp.New(cfg, c)
	case dictionary.SinkSendGrid:
		a, err = sendgrid.New(cfg, c, o.PollInterval)
	case dictionary.SinkKlaviyo:
		a, err = klaviyo.New(cfg, c, o.PollInterval)
	case dictionary.SinkBraze:
		a, err = braze.New(cfg, c)
	case dictionary.SinkWebhook:
		a, err = webhook.New(cfg, c)
	default:
		return nil, fmt.Errorf("sinks.%s: unknown connector type %q", cfg.Name, cfg.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("sinks.%s (%s): %w", cfg.Name, cfg.Type, err)
	}
	return a, nil
}
