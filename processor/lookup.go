package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/profiled/profiled/processor/fact"
	"github.com/profiled/profiled/processor/merge"
	"github.com/profiled/profiled/store"
)

// advertisingClientID is the Kafka client id of an instance that serves
// lookups at addr: the configured client id, "@", and addr. Client ids are
// visible to every member through DescribeGroups, which makes them the one
// place where instances can find each other without another registry.
func advertisingClientID(base, addr string) string {
	if base == "" {
		base = "profiled"
	}
	return base + "@" + addr
}

// advertisedAddr is the address in a client id made by
// advertisingClientID; empty when there is none.
func advertisedAddr(clientID string) string {
	i := strings.LastIndexByte(clientID, '@')
	if i < 0 {
		return ""
	}
	addr := clientID[i+1:]
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return ""
	}
	return addr
}

// Errors of Lookup. A *NotOwnerError names the instance to ask instead.
var (
	// ErrProfileNotFound: this instance owns the profile's partition and
	// holds no state for the id.
	ErrProfileNotFound = errors.New("profile not found")
	// ErrNotReady: the profile's partition is restoring its state, or it is
	// between owners (a rebalance); asking again shortly will do.
	ErrNotReady = errors.New("the profile's partition is not ready")
)

// NotOwnerError reports that another instance owns the profile's
// partition.
type NotOwnerError struct {
	ProfileID string
	Partition int32
	// Owner is the owner's advertised host:port, empty when it advertises
	// none (it runs without Options.AdvertiseAddr).
	Owner string
	// MemberID is the owner's group member id.
	MemberID string
}

func (e *NotOwnerError) Error() string {
	owner := e.Owner
	if owner == "" {
		owner = "member " + e.MemberID + " (which advertises no address)"
	}
	return fmt.Sprintf("profile %q is in partition %d, which %s owns", e.ProfileID, e.Partition, owner)
}

// ProfileLookup is a profile as its owner holds it, with the lineage of
// every attribute: the record that set it and why it won.
type ProfileLookup struct {
	ProfileID string `json:"profile_id"`
	// Partition is the profile's partition of the repartition topic (and
	// of the changelog), which decides its owner.
	Partition int32 `json:"partition"`
	// Version is the last version emitted on the profiles topic; UpdatedAt
	// its updated_at (RFC 3339).
	Version   uint64 `json:"version"`
	UpdatedAt string `json:"updated_at"`
	// ServedBy is the advertised address of the instance that answered.
	ServedBy   string                      `json:"served_by,omitempty"`
	Attributes map[string]AttributeLineage `json:"attributes"`
}

// AttributeLineage is one attribute's value and where it came from.
type AttributeLineage struct {
	// Value as on the profiles topic (JSON).
	Value json.RawMessage `json:"value"`
	// Policy is what made the value win: the attribute's merge policy (lww,
	// first, max, min, priority), "derived" for an aggregate of a
	// collection, "counter" for a count of distinct events.
	Policy string `json:"policy"`
	// Origin is the input record that set the value; for a derived
	// attribute, the one that changed its collection last. Counters keep
	// no origin.
	Origin *Origin `json:"origin,omitempty"`
	// Derived says what a derived attribute aggregates.
	Derived *Derivation `json:"derived,omitempty"`
	// CountedBy names the sources that count into a counter.
	CountedBy []string `json:"counted_by,omitempty"`
}

// Origin is one input record.
type Origin struct {
	Source    string `json:"source"` // the source's name in the data dictionary
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	EventTime string `json:"event_time"` // RFC 3339
	Priority  int32  `json:"priority"`   // the source's priority
	Entity    string `json:"entity,omitempty"`
}

// Derivation describes a derived attribute.
type Derivation struct {
	Collection string `json:"collection"`
	Aggregate  string `json:"aggregate"`
	Field      string `json:"field,omitempty"`
	// Entities and Deleted count the profile's entities of the collection
	// (before the attribute's where filter).
	Entities int `json:"entities"`
	Deleted  int `json:"deleted"`
}

// Lookup returns the profile id as stored by this instance, with the
// lineage of every attribute. It answers only for profiles whose partition
// this instance owns and has restored; it reads the state of the last
// committed round, never a round in progress. For a profile another
// instance owns it returns a *NotOwnerError naming that instance (found
// through the group's member assignments and client ids), like the
// metadata of Kafka Streams' interactive queries.
func (p *Pipeline) Lookup(ctx context.Context, id string) (*ProfileLookup, error) {
	if id == "" {
		return nil, errors.New("empty profile id")
	}
	part, err := p.profilePartition(ctx, id)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	w := p.workers[tp{p.repart, part}]
	p.mu.Unlock()
	if w == nil {
		return nil, p.notOwner(ctx, id, part)
	}
	if !w.active.Load() {
		return nil, fmt.Errorf("%w: partition %d is restoring its state", ErrNotReady, part)
	}
	v, err := w.part.Get(kindProfile, []byte(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q (partition %d)", ErrProfileNotFound, id, part)
	}
	if err != nil {
		return nil, fmt.Errorf("reading profile %q: %w", id, err)
	}
	st, err := merge.DecodeState(v)
	if err != nil {
		return nil, fmt.Errorf("reading profile %q: %w", id, err)
	}
	return p.lineage(id, part, st), nil
}

// profilePartition is the partition of the repartition topic that id is
// produced to: Kafka's default partitioner, as stage 1 uses.
func (p *Pipeline) profilePartition(ctx context.Context, id string) (int32, error) {
	topics, err := p.rs.adm.ListTopics(ctx, p.repart)
	if err != nil {
		return 0, fmt.Errorf("describing %s: %w", p.repart, err)
	}
	t, ok := topics[p.repart]
	if !ok || t.Err != nil || len(t.Partitions) == 0 {
		return 0, fmt.Errorf("describing %s: %w", p.repart, t.Err)
	}
	n := len(t.Partitions)
	return int32(kgo.StickyKeyPartitioner(nil).ForTopic(p.repart).Partition(&kgo.Record{Key: []byte(id)}, n)), nil
}

// notOwner finds the member that owns partition part of the repartition
// topic.
func (p *Pipeline) notOwner(ctx context.Context, id string, part int32) error {
	group := p.dict.Pipeline.Group
	described, err := p.rs.adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("finding the owner of partition %d: %w", part, err)
	}
	g, ok := described[group]
	if !ok || g.Err != nil {
		return fmt.Errorf("finding the owner of partition %d: %w", part, g.Err)
	}
	me, _ := p.cl.GroupMetadata()
	for _, m := range g.Members {
		ca, ok := m.Assigned.AsConsumer()
		if !ok {
			continue
		}
		for _, t := range ca.Topics {
			if t.Topic != p.repart || !slices.Contains(t.Partitions, part) {
				continue
			}
			if m.MemberID == me {
				// Assigned to this instance, which has not opened it yet.
				return fmt.Errorf("%w: partition %d is being assigned to this instance", ErrNotReady, part)
			}
			return &NotOwnerError{ProfileID: id, Partition: part, Owner: advertisedAddr(m.ClientID), MemberID: m.MemberID}
		}
	}
	return fmt.Errorf("%w: no member owns partition %d (the group is rebalancing)", ErrNotReady, part)
}

// lineage renders st with the origin of every attribute.
func (p *Pipeline) lineage(id string, part int32, st *merge.State) *ProfileLookup {
	view := p.merger.Render(st)
	out := &ProfileLookup{
		ProfileID:  id,
		Partition:  part,
		Version:    st.Version,
		UpdatedAt:  rfc3339(st.UpdatedAt),
		ServedBy:   p.opts.AdvertiseAddr,
		Attributes: make(map[string]AttributeLineage, len(view)),
	}
	for name, v := range view {
		a := AttributeLineage{Value: json.RawMessage(v.AppendJSON(nil))}
		attr := p.dict.Attributes[name]
		switch {
		case st.Attrs[name] != nil:
			c := st.Attrs[name]
			if attr != nil { // nil: set under an older dictionary
				a.Policy = string(attr.Policy)
			}
			a.Origin = p.origin(c.Origin, c.Stamp, "")
		case attr != nil && attr.Counter:
			a.Policy = "counter"
			for _, s := range p.dict.Sources {
				for _, c := range s.Counters {
					if c.Target == attr && !slices.Contains(a.CountedBy, s.Name) {
						a.CountedBy = append(a.CountedBy, s.Name)
					}
				}
			}
		case attr != nil && attr.Derive != nil:
			a.Policy = "derived"
			d := &Derivation{Collection: attr.Derive.Collection, Aggregate: attr.Derive.Aggregate, Field: attr.Derive.Field}
			var (
				last   *merge.Entity
				lastID string
			)
			for eid, e := range st.Collections[attr.Derive.Collection] {
				if e.Deleted {
					d.Deleted++
				} else {
					d.Entities++
				}
				if last == nil || e.Stamp.Compare(last.Stamp) > 0 || (e.Stamp.Compare(last.Stamp) == 0 && eid > lastID) {
					last, lastID = e, eid
				}
			}
			a.Derived = d
			if last != nil {
				a.Origin = p.origin(last.Origin, last.Stamp, lastID)
			}
		}
		out.Attributes[name] = a
	}
	return out
}

func (p *Pipeline) origin(o fact.Origin, s fact.Stamp, entity string) *Origin {
	src := ""
	if int(o.Source) < len(p.dict.Sources) {
		src = p.dict.Sources[o.Source].Name
	}
	return &Origin{
		Source: src, Topic: o.Topic, Partition: o.Partition, Offset: o.Offset,
		EventTime: rfc3339(s.Time), Priority: s.Priority, Entity: entity,
	}
}

func rfc3339(us int64) string { return time.UnixMicro(us).UTC().Format(time.RFC3339Nano) }
