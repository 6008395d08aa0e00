package cache

import "sync/atomic"

// Stats is a snapshot of a Store's counters (monotonic since New) and gauges,
// for the edge to export as metrics.
type Stats struct {
	L1Hits      uint64 // Get answered from L1
	L1Misses    uint64 // Get not answered from L1 (L1 enabled)
	L1Entries   int    // gauge: entries in L1 (estimate)
	L1Bytes     uint64 // gauge: weight held by L1
	L1MaxBytes  uint64 // L1's bound
	L1Flushes   uint64 // L1 emptied because purges may have been missed (pub/sub reconnected, purge of everything)
	SetsRefused uint64 // Set/fill refused: a purge of one of the item's keys came after its Mark

	L2Hits         uint64 // Get answered from L2 (L1 then filled)
	L2Misses       uint64 // L2 asked, not found
	L2Stale        uint64 // L2 had an entry written before a purge of one of its keys; treated as a miss
	L2Errors       uint64 // Redis calls that failed or timed out, and undecodable entries
	L2Rejected     uint64 // Redis calls not made because the breaker was open (or half-open and busy)
	L2Writes       uint64 // entries written to L2
	L2WriteDrops   uint64 // L2 writes dropped: queue full, too late, or purged before they ran
	Breaker        string // "closed", "half-open" or "open"
	BreakerOpens   uint64 // times the breaker opened
	Purges         uint64 // PurgeKeys/PurgeAll calls
	PurgesReceived uint64 // purges received from the region's other edges
	PendingPurges  int    // gauge: surrogate keys whose L2 purge waits for Redis (plus 1 for a pending purge of everything)
	PurgeOverflows uint64 // pending purges that overflowed into a purge of everything
}

type counters struct {
	l1Hits, l1Misses, l1Flushes, setsRefused        atomic.Uint64
	l2Hits, l2Misses, l2Stale, l2Errors, l2Rejected atomic.Uint64
	l2Writes, l2WriteDrops, breakerOpens            atomic.Uint64
	purges, purgesReceived, purgeOverflows          atomic.Uint64
}
