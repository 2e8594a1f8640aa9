package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/profiled/profiled/processor"
	"github.com/profiled/profiled/processor/fact"
	"github.com/profiled/profiled/processor/ingest"
	"github.com/profiled/profiled/processor/merge"
	"github.com/profiled/profiled/schemas/dictionary"
)

// The goka peer's groups and topics. goka names its tables <group>-table.
const (
	gokaIngestGroup = "goka-ingest"
	gokaMergeGroup  = "goka-merge"
	gokaFacts       = "goka-facts"
	gokaProfiles    = "goka-profiles"
	gokaDLQ         = "goka-dlq"
)

// cmdGokaPeer runs profiled's two stages as two goka processors in one
// process, with profiled's own mapping (processor/ingest) and merge
// (processor/merge) libraries, so that the comparison is about the
// stream-processing engine and the final profiles must agree:
//
//   - stage 1 (group goka-ingest) consumes the input topics, maps each record
//     with ingest.Mapper, keeps the rows' owners in its group table (keyed by
//     the input key, as goka requires) and emits facts keyed by profile id
//     to goka-facts, dead letters to goka-dlq;
//   - stage 2 (group goka-merge) consumes goka-facts, merges each fact into
//     the profile's state held in its group table with merge.Merger, and
//     emits the profile (processor.AppendProfileJSON) to goka-profiles when
//     it changed.
//
// goka processes one message at a time and keeps one table value per key,
// so stage 2 keeps a profile's counter de-duplication ids inside the
// profile's value (as 64-bit hashes) instead of in keys of their own.
func cmdGokaPeer(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench gokapeer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "127.0.0.1:9092", "comma-separated seed brokers")
	config := fs.String("config", "", "profiled's data dictionary (YAML); required")
	dir := fs.String("storage-dir", "", "directory for goka's LevelDB tables (default: a new temporary directory)")
	verbose := fs.Bool("v", false, "print goka's log")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *config == "" {
		return fmt.Errorf("%w: --config is required", errUsage)
	}
	d, err := dictionary.Load(*config)
	if err != nil {
		return fmt.Errorf("loading %s: %w", *config, err)
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "goka-peer-")
		if err != nil {
			return fmt.Errorf("creating storage directory: %w", err)
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		*dir = tmp
	}
	seeds := strings.Split(*brokers, ",")
	if err := createGokaTopics(ctx, seeds, d); err != nil {
		return err
	}
	log := goka.Logger(quietLogger{})
	if *verbose {
		log = stderrLogger{stderr}
	}
	return runGokaPeer(ctx, seeds, d, *dir, log)
}

// runGokaPeer builds both processors and runs them until ctx ends.
func runGokaPeer(ctx context.Context, brokers []string, d *dictionary.File, dir string, log goka.Logger) error {
	cfg := goka.DefaultConfig()
	cfg.Version = sarama.V2_8_0_0 // kfake serves Fetch v4+; goka's default 2.0 works too
	// goka's default starts new groups at the newest offset and would skip
	// the input produced before it started.
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1 // one broker; goka's default of 2 is refused
	tmc.Stream.Replication = 1

	inputs := processor.TopicsOf(d).Inputs
	streams := make(goka.Streams, len(inputs))
	for i, t := range inputs {
		streams[i] = goka.Stream(t)
	}
	s1 := &gokaIngest{mapper: ingest.NewMapper(d)}
	s2 := &gokaMerge{merger: merge.New(d)}
	g1 := goka.DefineGroup(gokaIngestGroup,
		goka.Inputs(streams, new(codec.Bytes), s1.process),
		goka.Output(gokaFacts, new(codec.Bytes)),
		goka.Output(gokaDLQ, new(codec.Bytes)),
		goka.Persist(new(codec.Bytes)),
	)
	g2 := goka.DefineGroup(gokaMergeGroup,
		goka.Input(gokaFacts, new(codec.Bytes), s2.process),
		goka.Output(gokaProfiles, new(codec.Bytes)),
		goka.Output(gokaDLQ, new(codec.Bytes)),
		goka.Persist(new(codec.Bytes)),
	)
	var procs []*goka.Processor
	for _, g := range []*goka.GroupGraph{g1, g2} {
		// goka's default storage is LevelDB under a fixed path; a fresh
		// directory per run keeps runs from reading each other's tables.
		p, err := goka.NewProcessor(brokers, g,
			goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
			goka.WithStorageBuilder(storage.DefaultBuilder(dir+"/"+string(g.Group()))),
			goka.WithLogger(log),
		)
		if err != nil {
			return fmt.Errorf("creating goka processor %s: %w", g.Group(), err)
		}
		procs = append(procs, p)
	}
	eg, ctx := errgroup.WithContext(ctx)
	for _, p := range procs {
		eg.Go(func() error {
			if err := p.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("goka processor %s: %w", p.Graph().Group(), err)
			}
			return nil
		})
	}
	return eg.Wait()
}

// createGokaTopics creates the peer's streams like profiled creates its
// own: facts with the pipeline's partitions and kept forever, profiles
// compacted. goka creates its table topics itself.
func createGokaTopics(ctx context.Context, brokers []string, d *dictionary.File) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return fmt.Errorf("creating admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	parts := int32(d.Pipeline.Partitions)
	for _, t := range []struct {
		name string
		cfg  map[string]*string
	}{
		{gokaFacts, map[string]*string{"retention.ms": kadm.StringPtr("-1")}},
		{gokaProfiles, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}},
		{gokaDLQ, nil},
	} {
		resp, err := adm.CreateTopic(ctx, parts, 1, t.cfg, t.name)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			return fmt.Errorf("creating topic %s: %w", t.name, err)
		}
	}
	return nil
}

// ---- stage 1 ----

type gokaIngest struct {
	mapper *ingest.Mapper
}

func (s *gokaIngest) process(ctx goka.Context, msg any) {
	value, _ := msg.([]byte)
	key := ctx.Key()
	owners := &gokaOwners{ctx: ctx}
	rec := ingest.Record{Topic: string(ctx.Topic()), Partition: ctx.Partition(), Offset: ctx.Offset(), Key: []byte(key), Value: value}
	facts, _, err := s.mapper.Map(&rec, owners)
	if err != nil {
		if _, ok := ingest.AsError(err); ok {
			ctx.Emit(gokaDLQ, key, value)
			return
		}
		ctx.Fail(err) // does not return: goka stops the callback and the processor
		return
	}
	for _, f := range facts {
		ctx.Emit(gokaFacts, f.ProfileID, fact.Append(nil, f))
	}
	if owners.dirty {
		ctx.SetValue(encodeOwners(owners.m))
	}
}

// gokaOwners implements ingest.Owners over the table value of the current
// input key: the owners of every source's row with that key (the owner key
// is the source name and the record key).
type gokaOwners struct {
	ctx    goka.Context
	m      map[string]ingest.Owner
	loaded bool
	dirty  bool
}

func (o *gokaOwners) load() error {
	if o.loaded {
		return nil
	}
	o.loaded = true
	v, _ := o.ctx.Value().([]byte)
	m, err := decodeOwners(v)
	o.m = m
	return err
}

func (o *gokaOwners) GetOwner(key []byte) (ingest.Owner, bool, error) {
	if err := o.load(); err != nil {
		return ingest.Owner{}, false, err
	}
	w, ok := o.m[string(key)]
	return w, ok, nil
}

func (o *gokaOwners) PutOwner(key []byte, w ingest.Owner) {
	if o.load() != nil {
		o.m = map[string]ingest.Owner{} // a corrupt value is replaced, as GetOwner reported
	}
	o.m[string(key)] = w
	o.dirty = true
}

const gokaValueVersion = 1

// encodeOwners: version, count, then per owner key, profile, stamp, deleted.
func encodeOwners(m map[string]ingest.Owner) []byte {
	b := []byte{gokaValueVersion}
	b = binary.AppendUvarint(b, uint64(len(m)))
	for k, o := range m {
		b = fact.AppendString(b, k)
		b = fact.AppendString(b, o.Profile)
		b = fact.AppendStamp(b, o.Stamp)
		if o.Deleted {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

func decodeOwners(b []byte) (map[string]ingest.Owner, error) {
	m := map[string]ingest.Owner{}
	if len(b) == 0 {
		return m, nil
	}
	r := fact.NewReader(b)
	if v := r.Byte(); v != gokaValueVersion {
		return m, fmt.Errorf("owners value version %d", v)
	}
	for n := r.Uvarint(); n > 0 && r.Err() == nil; n-- {
		k := r.String()
		m[k] = ingest.Owner{Profile: r.String(), Stamp: r.Stamp(), Deleted: r.Byte() == 1}
	}
	if r.Err() != nil || r.Len() != 0 {
		return map[string]ingest.Owner{}, fmt.Errorf("corrupt owners value: %w", errors.Join(r.Err(), errors.New("trailing bytes")))
	}
	return m, nil
}

// ---- stage 2 ----

type gokaMerge struct {
	merger *merge.Merger
}

func (s *gokaMerge) process(ctx goka.Context, msg any) {
	value, _ := msg.([]byte)
	f, err := fact.Decode(value)
	if err == nil {
		err = s.merger.Check(f)
	}
	if err != nil {
		ctx.Emit(gokaDLQ, ctx.Key(), value)
		return
	}
	stored, _ := ctx.Value().([]byte)
	pv, err := decodeProfileValue(stored)
	if err != nil {
		ctx.Fail(err)
		return
	}
	before := s.merger.Render(pv.st)
	changed, err := s.merger.Apply(pv.st, f, pv)
	if err != nil {
		ctx.Fail(err)
		return
	}
	if !changed {
		return
	}
	after := s.merger.Render(pv.st)
	if diff := merge.Diff(before, after); len(diff) > 0 {
		pv.st.Version++
		pv.st.UpdatedAt = max(pv.st.UpdatedAt, f.Stamp.Time)
		ctx.Emit(gokaProfiles, f.ProfileID, processor.AppendProfileJSON(nil, f.ProfileID, pv.st.Version, pv.st.UpdatedAt, after, diff))
	}
	ctx.SetValue(pv.encode())
}

// profileValue is stage 2's table value: the merge state and the hashes of
// the de-duplication ids counted for the profile.
type profileValue struct {
	st   *merge.State
	seen []byte // 8-byte hashes, unsorted: a scan is cheaper than a decoded set
}

// SeenOrAdd implements merge.Seen.
func (p *profileValue) SeenOrAdd(_, counter, id string) (bool, error) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(counter))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(id))
	var k [8]byte
	binary.LittleEndian.PutUint64(k[:], h.Sum64())
	for i := 0; i+8 <= len(p.seen); i += 8 {
		if [8]byte(p.seen[i:i+8]) == k {
			return true, nil
		}
	}
	p.seen = append(p.seen, k[:]...)
	return false, nil
}

// encode: version, state length, state, seen hashes.
func (p *profileValue) encode() []byte {
	st := merge.AppendState(nil, p.st)
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(st)+len(p.seen))
	b = append(b, gokaValueVersion)
	b = binary.AppendUvarint(b, uint64(len(st)))
	b = append(b, st...)
	return append(b, p.seen...)
}

func decodeProfileValue(b []byte) (*profileValue, error) {
	if len(b) == 0 {
		return &profileValue{st: merge.NewState()}, nil
	}
	if b[0] != gokaValueVersion {
		return nil, fmt.Errorf("profile value version %d", b[0])
	}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || uint64(len(b)-1-w) < n || (uint64(len(b)-1-w)-n)%8 != 0 {
		return nil, errors.New("corrupt profile value")
	}
	st, err := merge.DecodeState(b[1+w : 1+w+int(n)])
	if err != nil {
		return nil, fmt.Errorf("decoding profile state: %w", err)
	}
	seen := append([]byte(nil), b[1+w+int(n):]...)
	return &profileValue{st: st, seen: seen}, nil
}

// ---- logging ----

type quietLogger struct{}

func (quietLogger) Print(...any)          {}
func (quietLogger) Println(...any)        {}
func (quietLogger) Printf(string, ...any) {}

type stderrLogger struct{ w io.Writer }

func (l stderrLogger) Print(v ...any)                 { fmt.Fprint(l.w, v...) }
func (l stderrLogger) Println(v ...any)               { fmt.Fprintln(l.w, v...) }
func (l stderrLogger) Printf(format string, v ...any) { fmt.Fprintf(l.w, format+"\n", v...) }
