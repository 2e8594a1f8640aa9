// Package processor runs the profile pipeline on Kafka.
//
// # Data flow
//
//	input topics ──► stage 1 (ingest) ──► <group>.repartition ──► stage 2 (merge) ──► profiles
//	 (Debezium,        decode, map,          keyed by profile id,    per-field merge      (compacted)
//	  Segment)         validate, re-key      murmur2 partitioned     in Badger
//	      │                 │                                             │
//	      └──── bad records ┴──────────────► profiled.dlq ◄───────────────┘
//
// Both stages run in every instance, as one consumer group over the input
// topics and the repartition topic (cooperative-sticky). One goroutine (a
// worker) owns each assigned partition and all of its state. Each stateful
// partition has a changelog partition (compacted): <group>.changelog for
// the merge stage, co-partitioned with the repartition topic, and
// <group>.changelog.<input> for the ingest stage's row owners. The
// changelog is the durable truth of the state; Badger is its local
// materialization.
//
// # Commit protocol: rounds
//
// Work goes in rounds. A round lasts while its input is behind, up to
// Options.CommitInterval (100 ms), and ends as soon as it caught up, so a
// stream below full speed is committed as it comes and a backlog in large
// rounds. In a round
// the poll loop hands each partition's records to its worker, which
// processes them into output records (facts, profile updates, dead letters)
// and state writes; the writes go into the round's in-memory overlay (so the
// next batch sees them) and onto the changelog. When the round ends:
//
//  1. exactly-once (default): one Kafka transaction commits the round's
//     output, its changelog records and the consumed offsets together
//     (kgo.GroupTransactSession); readers use read_committed. An aborted or
//     fenced transaction leaves nothing visible, and the consumer rewinds to
//     the committed offsets, so its input is processed again.
//     At least once: every record is acknowledged, then the offsets commit.
//  2. Only after that are the round's state writes stored in Badger, with
//     the offset of the last changelog record they reflect.
//
// A crash at any point leaves Badger behind Kafka, never ahead. On
// assignment a partition's fetching stays paused while the restorer reads
// its changelog from Badger's checkpoint to the last stable offset: a warm
// disk reads only what it missed, an empty or damaged one reads it all.
// Rounds end before a rebalance may proceed (BlockRebalanceOnPoll), so a
// partition never moves with uncommitted work; a partition lost without a
// hand-over aborts the round. With Options.Standbys, instances tail the
// changelogs of partitions they do not own, so a failover restores only
// the tail.
//
// # Lookups and metrics
//
// Pipeline.Lookup reads a profile's committed state with the lineage of
// every attribute (the origin and stamp each cell keeps), from the
// instance that owns its partition; any other instance names the owner,
// found in the group's member assignments by the address each member
// appends to its Kafka client id (Options.AdvertiseAddr). The metrics
// (metrics.go) include the consumer lag of the owned partitions, measured
// every Options.LagInterval (lag.go), and franz-go's client metrics.
package processor
