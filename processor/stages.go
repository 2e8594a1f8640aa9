package processor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor/fact"
	"github.com/profiled/profiled/processor/ingest"
	"github.com/profiled/profiled/processor/merge"
	"github.com/profiled/profiled/schemas"
	"github.com/profiled/profiled/store"
)

// Store kinds (the byte after the partition prefix).
const (
	kindOwner   = 'w' // stage 1: record key -> ingest.Owner
	kindProfile = 'p' // stage 2: profile id -> merge.State
	kindSeen    = 'd' // stage 2: profile\0counter\0id -> counted marker
)

// ---- stage 1 ----

type ingestStage struct {
	p      *Pipeline
	w      *worker
	owners map[string]ingest.Owner // written this round
	rec    ingest.Record
}

func newIngestStage(p *Pipeline, w *worker) *ingestStage {
	return &ingestStage{p: p, w: w, owners: map[string]ingest.Owner{}}
}

func (s *ingestStage) name() string { return "ingest" }
func (s *ingestStage) reset()       { clear(s.owners) }

func (s *ingestStage) GetOwner(key []byte) (ingest.Owner, bool, error) {
	if o, ok := s.owners[string(key)]; ok {
		return o, true, nil
	}
	v, err := s.w.get(kindOwner, key)
	if errors.Is(err, store.ErrNotFound) {
		return ingest.Owner{}, false, nil
	}
	if err != nil {
		return ingest.Owner{}, false, err
	}
	o, err := decodeOwner(v)
	return o, err == nil, err
}

func (s *ingestStage) PutOwner(key []byte, o ingest.Owner) { s.owners[string(key)] = o }

func (s *ingestStage) process(ctx context.Context, recs []*kgo.Record, out *output) error {
	repart := s.p.repart
	for _, r := range recs {
		s.rec = ingest.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value}
		facts, skip, err := s.p.mapper.MapContext(ctx, &s.rec, s)
		if err != nil {
			ie, ok := ingest.AsError(err)
			if !ok {
				return fmt.Errorf("mapping record at offset %d: %w", r.Offset, err)
			}
			out.records = append(out.records, s.p.workerDL(r, "ingest", string(ie.Reason), ie))
			continue
		}
		if skip != ingest.SkipNone {
			s.p.m.skipped.WithLabelValues(string(skip)).Inc()
		}
		for _, f := range facts {
			out.records = append(out.records, &kgo.Record{
				Topic: repart,
				Key:   []byte(f.ProfileID),
				Value: fact.Append(nil, f),
				// Carry the input record's time so that retention and
				// latency measurements downstream see when it happened.
				Timestamp: r.Timestamp,
			})
		}
	}
	if len(s.owners) >= s.p.opts.BatchRecords {
		// As the merge stage does: a round's memory is bounded by the
		// batch size.
		if err := s.flush(out); err != nil {
			return err
		}
		clear(s.owners)
	}
	return nil
}

// flush stores the row owners the round changed, each once.
func (s *ingestStage) flush(out *output) error {
	for k, o := range s.owners {
		out.batch.Set(kindOwner, []byte(k), encodeOwner(o))
	}
	return nil
}

const ownerVersion = 1

func encodeOwner(o ingest.Owner) []byte {
	b := []byte{ownerVersion}
	b = fact.AppendString(b, o.Profile)
	b = fact.AppendStamp(b, o.Stamp)
	if o.Deleted {
		return append(b, 1)
	}
	return append(b, 0)
}

func decodeOwner(b []byte) (ingest.Owner, error) {
	r := fact.NewReader(b)
	if v := r.Byte(); v != ownerVersion {
		return ingest.Owner{}, fmt.Errorf("%w: owner version %d", store.ErrCorrupt, v)
	}
	o := ingest.Owner{Profile: r.String(), Stamp: r.Stamp(), Deleted: r.Byte() == 1}
	if r.Err() != nil || r.Len() != 0 {
		return ingest.Owner{}, fmt.Errorf("%w: owner record", store.ErrCorrupt)
	}
	return o, nil
}

// ---- stage 2 ----

type mergeStage struct {
	p        *Pipeline
	w        *worker
	profiles map[string]*entry   // touched this round
	order    []string            // profile ids in first-touch order, for output order
	seen     map[string]struct{} // de-duplication ids added this round
}

type entry struct {
	st      *merge.State
	before  merge.View
	dirty   bool
	maxTime int64
	// size is the length of the stored state it was loaded from: the
	// state written back is about as long, so its buffer is allocated
	// once instead of growing by doubling.
	size int
	// inTime is the newest Kafka timestamp of the records that changed the
	// profile this round: the update carries it, as Kafka Streams carries
	// its input's time, so a consumer can tell how long the input took to
	// become a profile.
	inTime time.Time
}

func newMergeStage(p *Pipeline, w *worker) *mergeStage {
	return &mergeStage{p: p, w: w, profiles: map[string]*entry{}, seen: map[string]struct{}{}}
}

func (s *mergeStage) name() string { return "merge" }

func (s *mergeStage) reset() {
	clear(s.profiles)
	clear(s.seen)
	s.order = s.order[:0]
}

func (s *mergeStage) load(id string) (*entry, error) {
	if e, ok := s.profiles[id]; ok {
		return e, nil
	}
	e := &entry{}
	v, err := s.w.get(kindProfile, []byte(id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.st = merge.NewState()
	case err != nil:
		return nil, fmt.Errorf("loading profile %q: %w", id, err)
	default:
		if e.st, err = merge.DecodeState(v); err != nil {
			return nil, fmt.Errorf("loading profile %q: %w", id, err)
		}
		e.size = len(v)
	}
	e.before = s.p.merger.Render(e.st)
	s.profiles[id] = e
	s.order = append(s.order, id)
	return e, nil
}

func seenKey(profile, counter, id string) []byte {
	b := make([]byte, 0, len(profile)+len(counter)+len(id)+2)
	b = append(b, profile...)
	b = append(b, 0)
	b = append(b, counter...)
	b = append(b, 0)
	return append(b, id...)
}

// SeenOrAdd implements merge.Seen over this batch and the store.
func (s *mergeStage) SeenOrAdd(profile, counter, id string) (bool, error) {
	k := seenKey(profile, counter, id)
	if _, ok := s.seen[string(k)]; ok {
		return true, nil
	}
	_, err := s.w.get(kindSeen, k)
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, fmt.Errorf("reading counter de-duplication: %w", err)
	}
	s.seen[string(k)] = struct{}{}
	return false, nil
}

func (s *mergeStage) process(_ context.Context, recs []*kgo.Record, out *output) error {
	for _, r := range recs {
		f, err := fact.Decode(r.Value)
		if err == nil {
			err = s.p.merger.Check(f)
		}
		if err != nil {
			out.records = append(out.records, s.p.workerDL(r, "merge", string(ingest.ReasonDecode), err))
			continue
		}
		e, err := s.load(f.ProfileID)
		if err != nil {
			return err
		}
		changed, err := s.p.merger.Apply(e.st, f, s)
		if err != nil {
			return err
		}
		if !changed {
			s.p.m.noopFacts.Inc()
			continue
		}
		e.dirty = true
		e.maxTime = max(e.maxTime, f.Stamp.Time)
		if r.Timestamp.After(e.inTime) {
			e.inTime = r.Timestamp
		}
	}
	if len(s.profiles) >= s.p.opts.BatchRecords {
		// A round over a large state touches more profiles than are worth
		// holding decoded until its end: emit them now (a hot profile may
		// then get two versions in one round), so that a round's memory is
		// bounded by the batch size, not by the round size.
		if err := s.flush(out); err != nil {
			return err
		}
		s.reset()
	}
	return nil
}

// flush emits one version of every profile the round changed, and stores
// its state.
func (s *mergeStage) flush(out *output) error {
	for _, id := range s.order {
		e := s.profiles[id]
		if !e.dirty {
			continue
		}
		after := s.p.merger.Render(e.st)
		if changed := merge.Diff(e.before, after); len(changed) > 0 {
			e.st.Version++
			e.st.UpdatedAt = max(e.st.UpdatedAt, e.maxTime)
			value, err := s.p.encodeProfile(id, e.st.Version, e.st.UpdatedAt, after, changed)
			if err != nil {
				// The value does not fit the registered schema (a decimal
				// beyond its precision): the state is kept, the update is
				// dead-lettered in JSON with the reason.
				out.records = append(out.records, s.p.profileDL(id, AppendProfileJSON(nil, id, e.st.Version, e.st.UpdatedAt, after, changed), err))
			} else {
				out.records = append(out.records, &kgo.Record{Topic: s.p.dict.Pipeline.ProfilesTopic, Key: []byte(id), Value: value, Timestamp: e.inTime})
				s.p.m.profileUpdates.Inc()
				s.p.m.freshness.Observe(max(0, time.Since(time.UnixMicro(e.maxTime)).Seconds()))
			}
		}
		out.batch.Set(kindProfile, []byte(id), merge.AppendState(make([]byte, 0, e.size+e.size/4+64), e.st))
	}
	for k := range s.seen {
		out.batch.Set(kindSeen, []byte(k), nil)
	}
	return nil
}

func (p *Pipeline) encodeProfile(id string, version uint64, updatedAt int64, v merge.View, changed []string) ([]byte, error) {
	if p.opts.ProfileEncoder == nil {
		return AppendProfileJSON(nil, id, version, updatedAt, v, changed), nil
	}
	b, err := p.opts.ProfileEncoder.Append(nil, id, version, updatedAt, v, changed)
	if err != nil {
		return nil, fmt.Errorf("encoding profile %q: %w", id, err)
	}
	return b, nil
}

// profileDL is the dead letter of a profile update that cannot be encoded.
func (p *Pipeline) profileDL(id string, jsonValue []byte, err error) *kgo.Record {
	r := &kgo.Record{Topic: p.dict.Pipeline.ProfilesTopic, Key: []byte(id), Value: jsonValue, Partition: -1, Offset: -1}
	return p.workerDL(r, "merge", "encode", err)
}

// AppendProfileJSON renders one profile update as published on the profiles
// topic: {"profile_id", "version", "updated_at", "attributes", "changed"}.
func AppendProfileJSON(b []byte, id string, version uint64, updatedAt int64, v merge.View, changed []string) []byte {
	b = append(b, `{"profile_id":`...)
	b = schemas.AppendJSONString(b, id)
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, version, 10)
	b = append(b, `,"updated_at":`...)
	b = schemas.AppendJSONString(b, time.UnixMicro(updatedAt).UTC().Format(time.RFC3339Nano))
	b = append(b, `,"attributes":{`...)
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = schemas.AppendJSONString(b, k)
		b = append(b, ':')
		b = v[k].AppendJSON(b)
	}
	b = append(b, `},"changed":[`...)
	for i, k := range changed {
		if i > 0 {
			b = append(b, ',')
		}
		b = schemas.AppendJSONString(b, k)
	}
	return append(b, "]}"...)
}
