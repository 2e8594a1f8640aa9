// Package sink is the engine shared by the ESP connectors: it keeps an email
// service provider in sync with the profiles topic.
//
// # Data flow
//
//	profiles topic ──► poll loop ──► one worker per assigned partition
//	(read_committed,     (PollRecords,    queue (byte budget; fetching pauses when full)
//	 group <group>.       AllowRebalance)  │ batch: up to the adapter's items/bytes, or max wait
//	 sink.<name>)                          │ coalesce: newest version per profile, changed sets united
//	                                       ▼
//	                              Adapter.Send(batch) ──► Client.Do ──► ESP
//	                                       │        (token bucket + concurrency cap,
//	                                       │         adapts to 429 and Retry-After/X-RateLimit-Reset,
//	                                       │         backoff with jitter for 429, 5xx, network)
//	                                       │  per-item failures ──► profiled.sink.dlq
//	                                       ▼
//	                       commit the partition's offset (only now)
//
// # Guarantees
//
//   - Ordering: a partition's batches go out one after the other, and a
//     batch is acknowledged (asynchronous jobs polled to their end, dead
//     letters written) before the next one leaves. A profile's updates share
//     its partition, so a later version is never overwritten by an earlier
//     one, retries included: a retried request is the same batch, and
//     nothing newer of that partition is in flight meanwhile.
//   - At-least-once: the offset is committed after the ESP acknowledged the
//     batch and its failures are on the dead-letter topic. A crash anywhere
//     re-sends the uncommitted batches; upserts are idempotent, keyed as the
//     ESP keys contacts.
//   - Rebalances: a revoked partition's worker finishes its in-flight batch
//     (bounded by Options.DrainTimeout) and commits it before the partition
//     is released; what it had not sent yet is left to the next owner. A lost
//     partition's worker is abandoned without committing. Commits and the
//     revoked flag share a lock, so nothing is committed for a partition
//     another member owns.
//
// # Adapters
//
// An Adapter turns a batch of Changes into the ESP's requests through the
// Client, which does the rate limiting, retries and metrics. It reports
// items the ESP rejected for good as Failures, which go to the dead-letter
// topic with the ESP's reason; the rest of the batch proceeds. An error from
// Send means the batch was not delivered: a Fatal one (rejected credentials)
// stops the sink, any other is retried.
package sink
