package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"golang.org/x/sync/singleflight"

	"github.com/profiled/profiled/schemas/debezium"
)

// Defaults of SchemaCacheOptions.
const (
	DefaultMaxSchemas  = 1000
	DefaultNegativeTTL = 30 * time.Second
)

// maxReferenceDepth bounds how deep schema references are followed, so a
// registry answering with a reference cycle cannot make a lookup loop.
const maxReferenceDepth = 16

// SchemaCacheOptions tune a SchemaCache; zero values take the defaults.
type SchemaCacheOptions struct {
	// MaxSchemas bounds the number of ids remembered (found or not).
	MaxSchemas int
	// NegativeTTL is how long an id the registry did not have (or had as a
	// schema that is not usable Avro) is answered from memory before the
	// registry is asked again. A schema registered late, or replicated late
	// to this registry, is found after that.
	NegativeTTL time.Duration
}

// SchemaCache resolves Confluent schema ids to parsed Avro schemas through
// a Schema Registry, and remembers the answers: a schema id never changes
// its schema, so a found schema is kept as long as there is room. It is the
// debezium.SchemaSource of the Avro input; safe for concurrent use, with
// one request per id in flight however many partitions ask at once.
//
// Errors: an id the registry does not have, or whose schema is not Avro or
// does not parse, wraps debezium.ErrUnknownSchema (the record goes to the
// dead-letter topic) and is remembered for NegativeTTL; a registry that
// cannot be reached or answers with another error returns that error,
// classified like Check's (*Error), and is not remembered.
type SchemaCache struct {
	cl     *sr.Client
	info   clientInfo
	opts   SchemaCacheOptions
	flight singleflight.Group
	now    func() time.Time

	mu      sync.Mutex
	entries map[int]cacheEntry
}

type cacheEntry struct {
	schema  avro.Schema
	err     error     // non-nil: a negative answer
	expires time.Time // of a negative answer
}

var _ debezium.SchemaSource = (*SchemaCache)(nil)

// NewSchemaCache returns a cache over cl (best built by NewClient).
func NewSchemaCache(cl *sr.Client, opts SchemaCacheOptions) *SchemaCache {
	if opts.MaxSchemas <= 0 {
		opts.MaxSchemas = DefaultMaxSchemas
	}
	if opts.NegativeTTL <= 0 {
		opts.NegativeTTL = DefaultNegativeTTL
	}
	return &SchemaCache{cl: cl, info: describeClient(cl), opts: opts, now: time.Now, entries: map[int]cacheEntry{}}
}

// Schema returns the Avro schema registered under id.
func (c *SchemaCache) Schema(ctx context.Context, id int) (avro.Schema, error) {
	if e, ok := c.cached(id); ok {
		return e.schema, e.err
	}
	v, err, _ := c.flight.Do(strconv.Itoa(id), func() (any, error) {
		// Another caller may have stored the answer while this one waited
		// for the flight.
		if e, ok := c.cached(id); ok {
			return e.schema, e.err
		}
		s, err := c.fetch(ctx, id)
		switch {
		case err == nil:
			c.store(id, cacheEntry{schema: s})
		case errors.Is(err, debezium.ErrUnknownSchema):
			c.store(id, cacheEntry{err: err, expires: c.now().Add(c.opts.NegativeTTL)})
		}
		return s, err
	})
	if err != nil {
		return nil, err
	}
	return v.(avro.Schema), nil
}

// cached returns the remembered answer for id, if any and not expired.
func (c *SchemaCache) cached(id int) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		return cacheEntry{}, false
	}
	if e.err != nil && !c.now().Before(e.expires) {
		delete(c.entries, id)
		return cacheEntry{}, false
	}
	return e, true
}

func (c *SchemaCache) store(id int, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if len(c.entries) < c.opts.MaxSchemas {
			break
		}
		// Map order is random: an arbitrary victim. A found schema is
		// cheap to fetch again, and ids in use are asked for again soon.
		delete(c.entries, k)
	}
	c.entries[id] = e
}

// fetch asks the registry for id and parses it with its references.
func (c *SchemaCache) fetch(ctx context.Context, id int) (avro.Schema, error) {
	s, err := c.cl.SchemaByID(ctx, id)
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("the schema registry has no schema with id %d: %w", id, debezium.ErrUnknownSchema)
		}
		return nil, c.transient(err, "schema id %d", id)
	}
	if s.Type != sr.TypeAvro {
		return nil, fmt.Errorf("schema id %d is a %s schema, not Avro: %w", id, s.Type, debezium.ErrUnknownSchema)
	}
	// Each schema gets its own name cache: writer schemas of one record
	// name differ between versions, and the package-wide default cache
	// would mix them up.
	names := &avro.SchemaCache{}
	if err := c.references(ctx, s.References, names, 0); err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	parsed, err := avro.ParseWithCache(s.Schema, "", names)
	if err != nil {
		return nil, fmt.Errorf("schema id %d does not parse as Avro: %w: %w", id, err, debezium.ErrUnknownSchema)
	}
	return parsed, nil
}

// references parses the referenced schemas, depth first, into names.
func (c *SchemaCache) references(ctx context.Context, refs []sr.SchemaReference, names *avro.SchemaCache, depth int) error {
	if len(refs) > 0 && depth >= maxReferenceDepth {
		return fmt.Errorf("schema references nest deeper than %d: %w", maxReferenceDepth, debezium.ErrUnknownSchema)
	}
	for _, ref := range refs {
		rs, err := c.cl.SchemaByVersion(ctx, ref.Subject, ref.Version)
		if err != nil {
			if notFound(err) {
				return fmt.Errorf("referenced schema %s version %d is missing: %w", ref.Subject, ref.Version, debezium.ErrUnknownSchema)
			}
			return c.transient(err, "referenced schema %s version %d", ref.Subject, ref.Version)
		}
		if err := c.references(ctx, rs.References, names, depth+1); err != nil {
			return err
		}
		if _, err := avro.ParseWithCache(rs.Schema.Schema, "", names); err != nil {
			return fmt.Errorf("referenced schema %s version %d does not parse as Avro: %w: %w",
				ref.Subject, ref.Version, err, debezium.ErrUnknownSchema)
		}
	}
	return nil
}

// transient describes an error that says nothing about the schema: the
// registry was not reached, refused the credentials, or failed.
func (c *SchemaCache) transient(err error, format string, args ...any) error {
	e := classify(err, c.info)
	e.Detail = fmt.Sprintf(format, args...) + ": " + e.Detail
	return e
}

// notFound reports a 404 from the registry: no such schema, subject or
// version.
func notFound(err error) bool {
	re, ok := errors.AsType[*sr.ResponseError](err)
	return ok && re.StatusCode == http.StatusNotFound
}
