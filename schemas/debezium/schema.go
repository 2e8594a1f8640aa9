package debezium

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/profiled/profiled/schemas/internal/jsonscan"
)

// colSchema is what a Connect schema says about one column.
type colSchema struct {
	typ, semantic string
	params        map[string]string
}

// schemaInfo is the part of a JsonConverter schema the decoder uses.
type schemaInfo struct {
	// cols are the fields of the top-level struct: the columns of a flat
	// (unwrapped) row or of a key.
	cols map[string]colSchema
	// before and after are the row schemas of an envelope.
	before, after map[string]colSchema
	// kind is the schema name when it marks a Debezium record that is not a
	// change event (heartbeat, schema change, transaction metadata).
	notChange string
}

// rowCols returns the column schemas of an envelope's before or after.
func (s *schemaInfo) rowCols(before bool) map[string]colSchema {
	if before {
		return s.before
	}
	return s.after
}

// parseSchema reads a Connect schema (JsonConverter's JSON form) from
// validated bytes.
func parseSchema(b []byte) (*schemaInfo, error) {
	v, err := jsonscan.Parse(b)
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("schema is not an object")
	}
	info := &schemaInfo{}
	if name, _ := top["name"].(string); isNonChangeSchema(name) {
		info.notChange = name
	}
	cols, err := structFields(top)
	if err != nil {
		return nil, err
	}
	info.cols = cols
	// An envelope's before and after share the row schema; their fields
	// are what Field.Type/Semantic/Params describe.
	fields, _ := top["fields"].([]any)
	for _, f := range fields {
		fm, _ := f.(map[string]any)
		name, _ := fm["field"].(string)
		if name != "before" && name != "after" {
			continue
		}
		if t, _ := fm["type"].(string); t != "struct" {
			continue
		}
		rc, err := structFields(fm)
		if err != nil {
			return nil, fmt.Errorf("reading %s schema: %w", name, err)
		}
		if name == "before" {
			info.before = rc
		} else {
			info.after = rc
		}
	}
	return info, nil
}

// isNonChangeSchema reports whether a value schema name marks one of the
// other records Debezium writes (formats.md §1.5); those must not be read as
// flat rows.
func isNonChangeSchema(name string) bool {
	switch name {
	case "io.debezium.connector.common.Heartbeat",
		"io.debezium.connector.mysql.SchemaChangeValue",
		"io.debezium.connector.common.TransactionMetadataValue":
		return true
	}
	return false
}

// structFields reads the "fields" of a struct schema. A schema without
// fields (a primitive key, say) yields nil.
func structFields(s map[string]any) (map[string]colSchema, error) {
	raw, ok := s["fields"]
	if !ok || raw == nil {
		return nil, nil
	}
	fields, ok := raw.([]any)
	if !ok {
		return nil, errors.New(`"fields" is not an array`)
	}
	cols := make(map[string]colSchema, len(fields))
	for i, f := range fields {
		fm, ok := f.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("field %d is not an object", i)
		}
		name, ok := fm["field"].(string)
		if !ok {
			return nil, fmt.Errorf("field %d has no name", i)
		}
		var c colSchema
		if c.typ, ok = optString(fm, "type"); !ok {
			return nil, fmt.Errorf("field %q: type is not a string", name)
		}
		if c.semantic, ok = optString(fm, "name"); !ok {
			return nil, fmt.Errorf("field %q: name is not a string", name)
		}
		if p, ok := fm["parameters"]; ok && p != nil {
			pm, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("field %q: parameters is not an object", name)
			}
			c.params = make(map[string]string, len(pm))
			for k, v := range pm {
				sv, ok := v.(string)
				if !ok {
					// Connect parameters are Map<String,String>; anything
					// else is not JsonConverter output.
					return nil, fmt.Errorf("field %q: parameter %q is not a string", name, k)
				}
				c.params[k] = sv
			}
		}
		cols[name] = c
	}
	return cols, nil
}

func optString(m map[string]any, key string) (string, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", true
	}
	s, ok := v.(string)
	return s, ok
}

// Schemas repeat: every record of a table carries the same schema text until
// the table changes. The cache maps the exact schema bytes to the parsed
// info, so a repeated schema costs one bracket-matching pass and a map
// lookup instead of a full decode, and the bytes need no new validation
// (they equal bytes that were validated).
//
// Reads are lock-free (an immutable map behind an atomic pointer); a miss
// copies the map under a mutex. Both the number of entries and their total
// size are bounded; when full the cache starts over, which only costs
// re-parsing.
const (
	maxCachedSchemas     = 256
	maxCachedSchemaBytes = 32 << 20
	maxCacheableSchema   = 1 << 20
)

type schemaCache struct {
	mu    sync.Mutex
	m     atomic.Pointer[map[string]*schemaInfo]
	bytes int // total key size, under mu
}

var cache schemaCache

func (c *schemaCache) get(b []byte) *schemaInfo {
	if m := c.m.Load(); m != nil {
		return (*m)[string(b)]
	}
	return nil
}

func (c *schemaCache) put(b []byte, info *schemaInfo) {
	if len(b) > maxCacheableSchema {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	var next map[string]*schemaInfo
	if old == nil || len(*old) >= maxCachedSchemas || c.bytes+len(b) > maxCachedSchemaBytes {
		next = make(map[string]*schemaInfo, 8)
		c.bytes = 0
	} else {
		if _, ok := (*old)[string(b)]; ok {
			return
		}
		next = make(map[string]*schemaInfo, len(*old)+1)
		for k, v := range *old {
			next[k] = v
		}
	}
	next[string(b)] = info
	c.bytes += len(b)
	c.m.Store(&next)
}

// Column names, and source-block strings such as the table and connector
// names, repeat in every record of a topic. Interning them saves one
// allocation per column per row image. The table only ever grows to
// maxInterned short strings (a hostile stream can fill it with junk, which
// costs speed, never memory or correctness); reads are lock-free like the
// schema cache's.
const (
	maxInterned   = 4096
	maxInternSize = 64
)

type internTable struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]string]
}

var names internTable

// get returns string(b), shared with earlier calls for the same bytes.
func (t *internTable) get(b []byte) string {
	if m := t.m.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	s := string(b)
	if len(s) <= maxInternSize {
		t.add(s)
	}
	return s
}

func (t *internTable) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.m.Load()
	n := 0
	if old != nil {
		if _, ok := (*old)[s]; ok {
			return
		}
		n = len(*old)
	}
	if n >= maxInterned {
		return
	}
	next := make(map[string]string, n+1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[s] = s
	t.m.Store(&next)
}
