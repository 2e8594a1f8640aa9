// Package memstate holds in-memory versions of what the two stages keep in
// the store (stage 1's entity owners, stage 2's counter de-duplication), so
// that tests and benchmarks can run the mapping and the merge without Kafka
// or Badger.
package memstate

import "github.com/profiled/profiled/processor/ingest"

// Owners implements ingest.Owners.
type Owners map[string]ingest.Owner

// GetOwner implements ingest.Owners.
func (m Owners) GetOwner(k []byte) (ingest.Owner, bool, error) {
	o, ok := m[string(k)]
	return o, ok, nil
}

// PutOwner implements ingest.Owners.
func (m Owners) PutOwner(k []byte, o ingest.Owner) { m[string(k)] = o }

// Seen implements merge.Seen.
type Seen map[string]bool

// SeenOrAdd implements merge.Seen.
func (m Seen) SeenOrAdd(profile, counter, id string) (bool, error) {
	k := profile + "\x00" + counter + "\x00" + id
	if m[k] {
		return true, nil
	}
	m[k] = true
	return false, nil
}
