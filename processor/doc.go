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
// topics and the repartition topic. One goroutine (a worker) owns each
// assigned partition and all of its state.
//
// # Commit protocol
//
// A worker takes a batch of records from its queue and, in this order:
//
//  1. skips records at or below the offset its store says it applied;
//  2. processes the rest into output records (facts, profile updates, dead
//     letters) and state changes, all in memory;
//  3. produces the output records and waits until Kafka acknowledged every
//     one;
//  4. writes the state changes and the batch's last offset in one Badger
//     transaction;
//  5. marks the offset for the group's commit.
//
// A crash before 3 completes re-reads the batch and produces the same output
// again (the merge is idempotent, so consumers of facts see no change and
// readers of profiles at most a repeated version). A crash between 4 and 5
// re-reads records that step 1 then skips. Nothing is lost and no state change
// is applied twice.
//
// # Backpressure
//
// The poll loop never blocks on a worker: it appends to the worker's queue
// and pauses fetching for the partition when the queue holds more than
// Options.QueueBytes; the worker resumes it when the queue is half empty.
package processor
