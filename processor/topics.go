package processor

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/profiled/profiled/schemas/dictionary"
)

// Topics lists the topics the pipeline needs, with the settings it creates
// them with.
type Topics struct {
	Partitions  int32
	Repartition string
	Changelog   string
	Profiles    string
	DLQ         string
	Inputs      []string // literal source topics
}

// TopicsOf derives the topic set from the dictionary.
func TopicsOf(d *dictionary.File) Topics {
	t := Topics{
		Partitions:  int32(d.Pipeline.Partitions),
		Repartition: RepartitionTopic(d),
		Changelog:   ChangelogTopic(d),
		Profiles:    d.Pipeline.ProfilesTopic,
		DLQ:         d.Pipeline.DLQTopic,
	}
	for _, s := range d.Sources {
		if s.Pattern == nil {
			t.Inputs = append(t.Inputs, s.Topic)
		}
	}
	return t
}

// Ensure creates the internal and output topics that do not exist yet, and
// the input topics too when withInputs (the embedded dev broker, where no
// Debezium created them). Existing topics are left as they are, but an
// internal topic with a partition count other than the configured one is an
// error: profiles would be routed to partitions whose state lives elsewhere.
func (t Topics) Ensure(ctx context.Context, adm *kadm.Client, withInputs bool) error {
	compact := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	// The changelog holds the merge state, but facts must outlive any
	// pause of the merge stage, so the repartition topic keeps everything.
	keepAll := map[string]*string{"retention.ms": kadm.StringPtr("-1"), "retention.bytes": kadm.StringPtr("-1")}
	want := []struct {
		name    string
		configs map[string]*string
	}{
		{t.Repartition, keepAll},
		{t.Changelog, changelogConfigs()},
		{t.Profiles, compact},
		{t.DLQ, nil},
	}
	if withInputs {
		for _, in := range t.Inputs {
			want = append(want, struct {
				name    string
				configs map[string]*string
			}{in, nil})
		}
	}
	// Create only what is missing: a broker checks CREATE before it checks
	// existence, so asking for an existing topic fails for a principal that
	// was (rightly) given no CREATE permission.
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = w.name
	}
	existing, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("listing topics: %w", err)
	}
	for _, w := range want {
		if d, ok := existing[w.name]; ok && d.Err == nil {
			continue
		}
		resp, err := adm.CreateTopic(ctx, t.Partitions, -1, w.configs, w.name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %q: %w", w.name, err)
		}
	}
	details, err := adm.ListTopics(ctx, t.Repartition)
	if err != nil {
		return fmt.Errorf("describing topic %q: %w", t.Repartition, err)
	}
	if d, ok := details[t.Repartition]; ok && d.Err == nil && int32(len(d.Partitions)) != t.Partitions {
		return fmt.Errorf("topic %q has %d partitions but the configuration says %d; change pipeline.partitions or recreate the topic",
			t.Repartition, len(d.Partitions), t.Partitions)
	}
	return nil
}
