// Package merge is the pure core of profiled: it applies facts to a profile's
// state and renders the profile. It does no I/O.
//
// # The algebra
//
// Every piece of state is a join-semilattice element, so applying the same
// set of facts in any order, any number of times, gives the same state:
//
//   - an attribute cell keeps the greatest (policy key, value) pair it has
//     seen, where the policy key is the fact's stamp for lww, the reversed
//     stamp for first, the value for max and min, and (priority, stamp) for
//     priority. A max over a total order is commutative, associative and
//     idempotent;
//   - an entity keeps the greatest (stamp, deleted, fields) version; a
//     delete is a version like any other (a tombstone that is kept), so a
//     late upsert older than the delete loses to it;
//   - a counter is the size of a set of de-duplication ids (a grow-only set).
//
// Derived attributes are functions of the entity set, and the rendered
// profile is a function of the state, so they inherit the same property.
// What depends on arrival order is only bookkeeping: the version number and
// which lineage origin an equal-valued cell remembers.
package merge
