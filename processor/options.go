package processor

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/schemas/dictionary"
	"github.com/profiled/profiled/store"
)

// Options configures a Pipeline.
type Options struct {
	// Brokers are the seed brokers. Required.
	Brokers []string
	// Dictionary is the loaded configuration. Required.
	Dictionary *dictionary.File
	// Store holds the state of the partitions this instance owns. Required.
	Store *store.DB
	// Registerer receives the pipeline's metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// BatchRecords bounds how many records a worker processes per commit.
	// Zero means 2000.
	BatchRecords int
	// QueueBytes is the per-partition queue size above which fetching the
	// partition pauses. Zero means 4 MiB.
	QueueBytes int
	// DrainTimeout bounds how long a stopping worker may take to finish its
	// in-flight batch before abandoning it (unstored and unmarked, so it is
	// re-read). Zero means 30 s.
	DrainTimeout time.Duration
	// LogPersonalData logs every dead letter with its error text, which
	// quotes the offending value (an email, a name). For local debugging
	// only: by default logs carry only the reason and the record's origin.
	LogPersonalData bool
	// ClientOpts are appended to the Kafka client's options (TLS, SASL, test
	// tuning such as faster heartbeats).
	ClientOpts []kgo.Opt
}

func (o *Options) validate() error {
	var errs []error
	if len(o.Brokers) == 0 {
		errs = append(errs, errors.New("no brokers"))
	}
	if o.Dictionary == nil {
		errs = append(errs, errors.New("no dictionary"))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("no store"))
	}
	if o.BatchRecords <= 0 {
		o.BatchRecords = 2000
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 4 << 20
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}

// RepartitionTopic is the internal topic between the two stages.
func RepartitionTopic(d *dictionary.File) string { return d.Pipeline.Group + ".repartition" }
