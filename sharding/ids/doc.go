// Package ids makes the product's 64-bit row ids. Ids are made by the
// application, never by AUTO_INCREMENT, so that a row keeps its id when a
// reshard copies it to another shard and so that ids made on different shards
// and core nodes never collide, without any coordination at run time.
//
// # Layout
//
// An id is a positive int64 (it fits a signed BIGINT column and JSON numbers
// up to 2^63 are exact in Go):
//
//	bit  63      sign, always 0
//	bits 62..22  41 bits: milliseconds since Epoch (2025-01-01T00:00:00Z)
//	bits 21..12  10 bits: node, 0..MaxNode (1023)
//	bits 11..0   12 bits: sequence within the millisecond, 0..4095
//
// Ids of one generator strictly increase; ids of different generators are
// ordered by time to within a millisecond (plus the lead described below),
// so "ORDER BY id" is "oldest first" across shards.
//
// # Limits
//
//   - Time: 41 bits of milliseconds last 69.7 years, until 2094-09-07. A
//     clock set before Epoch counts as Epoch; a generator asked for an id
//     after 2094 panics rather than wrap around.
//   - Nodes: at most 1024 generators may be live at once, and each must have
//     its own node number. Assigning node numbers (per core node process) is
//     the deployment's job; two live generators with one node number can
//     collide.
//   - Rate: 4096 ids per millisecond per generator (about 4 million a
//     second). When a millisecond's sequence is used up, the generator does
//     not wait for the wall clock: it moves its logical clock to the next
//     millisecond. The logical clock may run at most MaxLead ahead of the
//     latest wall-clock reading the generator has seen; only then does Next
//     block, until the wall clock catches up.
//   - Clock steps: if the wall clock steps back, the generator keeps its last
//     timestamp and goes on counting from there, so ids keep increasing;
//     the lead rule above bounds how many ids it makes before the wall clock
//     has caught up again (MaxLead × 4096 ids).
//   - Restarts: a generator does not persist its state. A restarted process
//     that reuses the node number must not start before the wall clock has
//     passed the last id its predecessor made; this holds whenever the
//     restart takes longer than MaxLead and the clock did not step back
//     across the restart.
//
// A hand-written generator is used rather than a library because the layout
// (epoch, node bits) and the bounded-lead rule are this project's own
// contract: ids are stored forever and decoded by Time and Node.
package ids
