package sink

import (
	"context"
	"slices"
	"strings"

	"github.com/profiled/profiled/schemas/dictionary"
)

// Adapter delivers batches to one ESP.
type Adapter interface {
	// Limits bounds the batches the engine hands to Send.
	Limits() Limits
	// Send delivers a batch, in the ESP's requests, through the Client. It
	// returns when the ESP has acknowledged every item (asynchronous jobs
	// polled to their end): the items it rejected for good are returned as
	// Failures with the ESP's reason, everything else counts as delivered.
	// An error means the batch as a whole was not delivered: a Fatal one
	// stops the sink; any other makes the engine retry the batch.
	Send(ctx context.Context, batch []*Change) ([]Failure, error)
}

// Limits bounds one request; the engine hands the adapter batches of up to
// Options.WindowRequests times as much, which the adapter splits.
type Limits struct {
	MaxItems int // distinct profiles
	MaxBytes int // estimated from the records' sizes
}

// Failure is an item the ESP rejected for good.
type Failure struct {
	Change *Change
	Reason string // the ESP's error, as it gave it
}

// Chunk splits items into runs of at most maxItems whose sizes add up to at
// most maxBytes (an item larger than maxBytes goes alone). size returns an
// item's encoded size.
func Chunk[T any](items []T, maxItems, maxBytes int, size func(T) int) [][]T {
	var out [][]T
	start, bytes := 0, 0
	for i, it := range items {
		n := size(it)
		if i > start && (i-start >= maxItems || bytes+n > maxBytes) {
			out = append(out, items[start:i])
			start, bytes = i, 0
		}
		bytes += n
	}
	if start < len(items) {
		out = append(out, items[start:])
	}
	return out
}

func sortByOffset(cs []*Change) {
	slices.SortStableFunc(cs, func(a, b *Change) int {
		switch {
		case a.Origin.Offset < b.Origin.Offset:
			return -1
		case a.Origin.Offset > b.Origin.Offset:
			return 1
		}
		return 0
	})
}

func sortStrings(s []string) { slices.SortFunc(s, strings.Compare) }

// FailAll returns a failure with reason for every change.
func FailAll(cs []*Change, reason string) []Failure {
	out := make([]Failure, len(cs))
	for i, c := range cs {
		out[i] = Failure{Change: c, Reason: reason}
	}
	return out
}

// Text renders a field value as text, as ESPs that type every field as a
// string want it; nil is "".
func Text(v any) string {
	if v == nil {
		return ""
	}
	return textOf(v)
}

// LimitsFor returns the per-request limits of a configured sink: its batch
// settings, capped by the ESP's documented maxima (hardItems, hardBytes).
func LimitsFor(cfg *dictionary.Sink, hardItems, hardBytes int) Limits {
	l := Limits{MaxItems: hardItems, MaxBytes: hardBytes}
	if n := cfg.Batch.MaxItems; n > 0 && n < l.MaxItems {
		l.MaxItems = n
	}
	if n := cfg.Batch.MaxBytes; n > 0 && n < l.MaxBytes {
		l.MaxBytes = n
	}
	return l
}

// SplitDeleted separates a batch into upserts and deletes, keeping their
// order; ESPs take the two through different calls.
func SplitDeleted(batch []*Change) (ups, dels []*Change) {
	for _, c := range batch {
		if c.Deleted {
			dels = append(dels, c)
		} else {
			ups = append(ups, c)
		}
	}
	return ups, dels
}
