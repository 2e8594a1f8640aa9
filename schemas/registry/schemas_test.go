package registry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/profiled/profiled/schemas/debezium"
)

const userSchema = `{"type":"record","name":"User","namespace":"t","fields":[{"name":"id","type":"long"}]}`

// lookups counts the GET /schemas/ids/... requests a registry answers.
func lookups(reg *srfake.Registry) *atomic.Int64 {
	var n atomic.Int64
	reg.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/schemas/ids/") {
			n.Add(1)
		}
		return false
	})
	return &n
}

func newCache(t *testing.T, opts SchemaCacheOptions) (*srfake.Registry, *SchemaCache) {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return reg, NewSchemaCache(cl, opts)
}

// TestSchemaCacheOneLookupPerID: concurrent first lookups of one id make
// one request, and later lookups none.
func TestSchemaCacheOneLookupPerID(t *testing.T) {
	reg, c := newCache(t, SchemaCacheOptions{})
	id, _, err := reg.RegisterSchema("user-value", sr.Schema{Schema: userSchema})
	if err != nil {
		t.Fatal(err)
	}
	n := lookups(reg)
	var wg sync.WaitGroup
	schemas := make([]avro.Schema, 16)
	errs := make([]error, 16)
	for i := range schemas {
		wg.Go(func() { schemas[i], errs[i] = c.Schema(context.Background(), id) })
	}
	wg.Wait()
	for i := range schemas {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if schemas[i].(*avro.RecordSchema).FullName() != "t.User" {
			t.Fatalf("schema %v", schemas[i])
		}
	}
	if _, err := c.Schema(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d lookups, want 1", got)
	}
}

// TestSchemaCacheNegativeTTL: an unknown id is answered from memory for the
// TTL, then asked again, and found once registered.
func TestSchemaCacheNegativeTTL(t *testing.T) {
	reg, c := newCache(t, SchemaCacheOptions{NegativeTTL: time.Minute})
	now := time.Unix(1_700_000_000, 0)
	c.now = func() time.Time { return now }
	n := lookups(reg)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Schema(ctx, 1); !errors.Is(err, debezium.ErrUnknownSchema) {
			t.Fatalf("unknown id: %v", err)
		}
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d lookups within the TTL, want 1", got)
	}
	if _, _, err := reg.RegisterSchema("user-value", sr.Schema{Schema: userSchema}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Schema(ctx, 1); !errors.Is(err, debezium.ErrUnknownSchema) {
		t.Fatalf("within the TTL: %v", err)
	}
	now = now.Add(time.Minute)
	if _, err := c.Schema(ctx, 1); err != nil {
		t.Fatalf("after the TTL: %v", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d lookups, want 2", got)
	}
}

// TestSchemaCacheUnusable: a schema that is not Avro is unknown for the
// Avro input.
func TestSchemaCacheUnusable(t *testing.T) {
	reg, c := newCache(t, SchemaCacheOptions{})
	id, _, err := reg.RegisterSchema("j-value", sr.Schema{Schema: `{"type":"object"}`, Type: sr.TypeJSON})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Schema(context.Background(), id)
	if !errors.Is(err, debezium.ErrUnknownSchema) || !strings.Contains(err.Error(), "not Avro") {
		t.Errorf("JSON schema: %v", err)
	}
}

// TestSchemaCacheTransient: a failing registry is reported as *Error, not
// as an unknown schema, and not remembered.
func TestSchemaCacheTransient(t *testing.T) {
	reg, c := newCache(t, SchemaCacheOptions{})
	id, _, err := reg.RegisterSchema("user-value", sr.Schema{Schema: userSchema})
	if err != nil {
		t.Fatal(err)
	}
	var fail atomic.Bool
	fail.Store(true)
	reg.Intercept(func(w http.ResponseWriter, _ *http.Request) bool {
		if !fail.Load() {
			return false
		}
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error_code":50001,"message":"store error"}`))
		return true
	})
	_, err = c.Schema(context.Background(), id)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRegistry || errors.Is(err, debezium.ErrUnknownSchema) {
		t.Fatalf("registry failure: %v", err)
	}
	if !strings.Contains(err.Error(), "schema id 1") || !strings.Contains(err.Error(), "50001") {
		t.Errorf("message %q does not name the id and the error code", err)
	}
	fail.Store(false)
	if _, err := c.Schema(context.Background(), id); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// TestSchemaCacheBounded: the cache never holds more than MaxSchemas ids.
func TestSchemaCacheBounded(t *testing.T) {
	reg, c := newCache(t, SchemaCacheOptions{MaxSchemas: 2})
	for i := range 5 {
		s := strings.Replace(userSchema, `"User"`, `"User`+string(rune('A'+i))+`"`, 1)
		id, _, err := reg.RegisterSchema("user-value", sr.Schema{Schema: s})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Schema(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		n := len(c.entries)
		c.mu.Unlock()
		if n > 2 {
			t.Fatalf("%d entries", n)
		}
	}
}

// TestSchemaCacheReferences: a schema that references another subject's
// schema parses with it.
func TestSchemaCacheReferences(t *testing.T) {
	reg, c := newCache(t, SchemaCacheOptions{})
	if _, _, err := reg.RegisterSchema("address-value", sr.Schema{Schema: `{"type":"record","name":"Address","namespace":"t","fields":[{"name":"city","type":"string"}]}`}); err != nil {
		t.Fatal(err)
	}
	id, _, err := reg.RegisterSchema("person-value", sr.Schema{
		Schema:     `{"type":"record","name":"Person","namespace":"t","fields":[{"name":"home","type":"t.Address"}]}`,
		References: []sr.SchemaReference{{Name: "t.Address", Subject: "address-value", Version: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Schema(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(*avro.RecordSchema).Fields()[0].Type().(avro.NamedSchema).FullName(); got != "t.Address" {
		t.Errorf("reference resolved to %s", got)
	}
}
