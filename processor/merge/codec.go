package merge

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/profiled/profiled/processor/fact"
)

// stateVersion is the first byte of an encoded State. Bump it (and keep a
// decoder for the old one) whenever the layout changes: states live on disk
// for as long as the profile does.
const stateVersion = 1

// maxEntries bounds map sizes read from disk so that corruption cannot make
// the decoder allocate without limit.
const maxEntries = 1 << 24

// AppendState appends the encoding of st. Maps are written in sorted key
// order so that equal states encode to equal bytes.
func AppendState(b []byte, st *State) []byte {
	b = append(b, stateVersion)
	b = binary.AppendUvarint(b, st.Version)
	b = binary.AppendVarint(b, st.UpdatedAt)

	b = binary.AppendUvarint(b, uint64(len(st.Attrs)))
	for _, name := range sortedKeys(st.Attrs) {
		c := st.Attrs[name]
		b = fact.AppendString(b, name)
		b = fact.AppendValue(b, c.Value)
		b = fact.AppendStamp(b, c.Stamp)
		b = appendOrigin(b, c.Origin)
	}

	b = binary.AppendUvarint(b, uint64(len(st.Collections)))
	for _, name := range sortedKeys(st.Collections) {
		coll := st.Collections[name]
		b = fact.AppendString(b, name)
		b = binary.AppendUvarint(b, uint64(len(coll)))
		for _, id := range sortedKeys(coll) {
			e := coll[id]
			b = fact.AppendString(b, id)
			b = fact.AppendStamp(b, e.Stamp)
			if e.Deleted {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
			b = appendOrigin(b, e.Origin)
			b = binary.AppendUvarint(b, uint64(len(e.Fields)))
			for _, f := range e.Fields {
				b = fact.AppendString(b, f.Name)
				b = fact.AppendValue(b, f.Value)
			}
		}
	}

	b = binary.AppendUvarint(b, uint64(len(st.Counters)))
	for _, name := range sortedKeys(st.Counters) {
		b = fact.AppendString(b, name)
		b = binary.AppendVarint(b, st.Counters[name])
	}
	return b
}

func appendOrigin(b []byte, o fact.Origin) []byte {
	b = binary.AppendUvarint(b, uint64(o.Source))
	b = fact.AppendString(b, o.Topic)
	b = binary.AppendVarint(b, int64(o.Partition))
	return binary.AppendVarint(b, o.Offset)
}

func readOrigin(r *fact.Reader) fact.Origin {
	return fact.Origin{Source: uint32(r.Uvarint()), Topic: r.String(), Partition: int32(r.Varint()), Offset: r.Varint()}
}

// DecodeState decodes a state. It never panics on malformed input.
func DecodeState(b []byte) (*State, error) {
	r := fact.NewReader(b)
	if v := r.Byte(); v != stateVersion {
		if r.Err() != nil {
			return nil, r.Err()
		}
		return nil, fmt.Errorf("%w: unknown state version %d", fact.ErrCorrupt, v)
	}
	st := NewState()
	st.Version = r.Uvarint()
	st.UpdatedAt = r.Varint()

	n := count(r)
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		name := r.String()
		c := &Cell{Value: r.Value(), Stamp: r.Stamp(), Origin: readOrigin(r)}
		st.Attrs[name] = c
	}
	n = count(r)
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		name := r.String()
		ne := count(r)
		coll := make(map[string]*Entity, min(ne, 1024))
		for j := uint64(0); j < ne && r.Err() == nil; j++ {
			id := r.String()
			e := &Entity{Stamp: r.Stamp(), Deleted: r.Byte() == 1, Origin: readOrigin(r)}
			nf := count(r)
			for k := uint64(0); k < nf && r.Err() == nil; k++ {
				e.Fields = append(e.Fields, fact.Field{Name: r.String(), Value: r.Value()})
			}
			coll[id] = e
		}
		st.Collections[name] = coll
	}
	n = count(r)
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		name := r.String()
		st.Counters[name] = r.Varint()
	}
	if r.Err() != nil {
		return nil, fmt.Errorf("decoding profile state: %w", r.Err())
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("decoding profile state: %w: %d trailing bytes", fact.ErrCorrupt, r.Len())
	}
	return st, nil
}

// count reads a collection size and rejects sizes no valid input can have:
// every entry takes at least one byte.
func count(r *fact.Reader) uint64 {
	n := r.Uvarint()
	if n > maxEntries || n > uint64(r.Len()) {
		// Force the sticky error through a read past the end.
		for r.Len() > 0 {
			r.Byte()
		}
		r.Byte()
		return 0
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
