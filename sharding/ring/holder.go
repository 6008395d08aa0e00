package ring

import "sync/atomic"

// Holder publishes the current Ring to concurrent readers. The zero value
// holds nil and is ready to use; a Holder must not be copied after first use.
type Holder struct {
	p atomic.Pointer[Ring]
}

// Load returns the current ring, or nil if none was stored.
func (h *Holder) Load() *Ring { return h.p.Load() }

// Store makes r the current ring. Readers still using the previous ring
// keep a consistent, immutable snapshot.
func (h *Holder) Store(r *Ring) { h.p.Store(r) }
