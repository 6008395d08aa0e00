package relay

import "context"

// Crash stops r as a killed node would stop: its subscriptions break and
// its tailers stop, but its leases stay in the table until they expire.
func (r *Relay) Crash() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.hub.close()
	r.cancel()
	r.loops.Wait()
}

// PruneNow runs one pruning round at once.
func (r *Relay) PruneNow(ctx context.Context) { r.pruneOnce(ctx) }

// Statements lists every statement the relay issues on an outbox, for the
// tests that parse each with TiDB's parser and run each on MariaDB.
func Statements() []string {
	var out []string
	for _, q := range []outboxSQL{shardSQL, globalSQL} {
		out = append(out, q.changes, q.head, q.oldest, q.aged, q.prune)
	}
	return out
}
