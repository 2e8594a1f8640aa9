package processor

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/schemas/debezium"
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
	// AtLeastOnce turns transactions off: each round's output is produced
	// and acknowledged, then its state stored, then its offsets committed.
	// Lower latency; a crash can emit a profile version twice. The default
	// is exactly-once.
	AtLeastOnce bool
	// TransactionalID identifies this instance's transactional producer
	// (exactly-once only). It must be unique per instance and stable across
	// its restarts, so that a restarted instance fences its previous life's
	// open transaction at once instead of waiting for it to time out. Empty
	// means "<group>-<hostname>".
	TransactionalID string
	// TransactionTimeout is how long the broker keeps a transaction of a
	// crashed instance open before it aborts it; the partitions it wrote
	// wait that long before another instance can take over. Zero means 20 s.
	TransactionTimeout time.Duration
	// CommitInterval is how long a round gathers records, while its input
	// is behind, before its output, state and offsets commit together; a
	// round that caught up with its input commits at once. Zero means
	// 100 ms.
	CommitInterval time.Duration
	// RoundRecords ends a round early once it processed this many records.
	// Zero means 20000.
	RoundRecords int
	// BatchRecords bounds how many records a worker processes at once.
	// Zero means 2000.
	BatchRecords int
	// Standbys is how many other instances keep a warm copy of each
	// partition's state by tailing its changelog, so that a failover
	// restores only what the standby had not yet read.
	Standbys int
	// DrainTimeout bounds how long shutdown may take to finish the current
	// round. Zero means 30 s.
	DrainTimeout time.Duration
	// LogPersonalData logs every dead letter with its error text, which
	// quotes the offending value (an email, a name). For local debugging
	// only: by default logs carry only the reason and the record's origin.
	LogPersonalData bool
	// Schemas resolves the writer schemas of Avro-encoded sources
	// (format debezium-avro). Required when the dictionary has one.
	Schemas debezium.SchemaSource
	// ProfileEncoder encodes profile updates; nil means JSON
	// (AppendProfileJSON). profileavro.Encoder is the Avro one.
	ProfileEncoder ProfileEncoder
	// ClientOpts are appended to the Kafka client's options (TLS, SASL, test
	// tuning such as faster heartbeats).
	ClientOpts []kgo.Opt
	// AdvertiseAddr is the host:port where this instance serves profile
	// lookups. It is appended to the Kafka client id (kafka.client_id, "@",
	// the address), which the group's members can read, so that Lookup
	// names the owner of a profile another instance holds. Empty: the
	// instance cannot be named.
	AdvertiseAddr string
	// LagInterval is how often the consumer lag of the owned partitions is
	// measured (profiled_consumer_lag_records). Zero means 5 s.
	LagInterval time.Duration
	// StateCacheBytes bounds the in-memory cache of committed state (hot
	// profiles and row owners) in front of the store, for all partitions
	// this instance could own. Zero means 64 MiB; negative disables it.
	StateCacheBytes int64
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
	if o.Dictionary != nil && o.Schemas == nil {
		for _, s := range o.Dictionary.Sources {
			if s.Format == dictionary.FormatDebeziumAvro {
				errs = append(errs, fmt.Errorf("source %s is %s but no schema registry was given", s.Name, s.Format))
				break
			}
		}
	}
	if o.BatchRecords <= 0 {
		o.BatchRecords = 2000
	}
	if o.StateCacheBytes == 0 {
		o.StateCacheBytes = 64 << 20
	}
	if o.RoundRecords <= 0 {
		o.RoundRecords = 20000
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = 100 * time.Millisecond
	}
	if o.TransactionTimeout <= 0 {
		o.TransactionTimeout = 20 * time.Second
	}
	if o.Standbys < 0 {
		errs = append(errs, errors.New("negative standbys"))
	}
	if o.TransactionalID == "" && o.Dictionary != nil {
		host, _ := os.Hostname()
		o.TransactionalID = o.Dictionary.Pipeline.Group + "-" + host
	}
	if o.LagInterval <= 0 {
		o.LagInterval = 5 * time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}

// ProfileEncoder renders one profile update as published on the profiles
// topic.
type ProfileEncoder interface {
	Append(b []byte, profileID string, version uint64, updatedAt int64, attrs map[string]schemas.Value, changed []string) ([]byte, error)
}

// RepartitionTopic is the internal topic between the two stages.
func RepartitionTopic(d *dictionary.File) string { return d.Pipeline.Group + ".repartition" }

// ChangelogTopic is the compacted topic that holds the merge stage's state,
// co-partitioned with the repartition topic.
func ChangelogTopic(d *dictionary.File) string { return d.Pipeline.Group + ".changelog" }

// IngestChangelogTopic is the compacted topic that holds the ingest stage's
// state (row owners) for one input topic, co-partitioned with it. Names
// that would exceed Kafka's limit are shortened with a hash of the input's
// name.
func IngestChangelogTopic(d *dictionary.File, input string) string {
	name := d.Pipeline.Group + ".changelog." + input
	if len(name) <= 249 {
		return name
	}
	sum := sha256.Sum256([]byte(input))
	return d.Pipeline.Group + ".changelog." + hex.EncodeToString(sum[:12])
}
