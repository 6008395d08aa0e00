package cache

import "time"

// Item is what the Store caches: an immutable entry that knows its own key,
// size, surrogate keys, lifetime and wire form. The edge's HTTP cache entry
// (*httpcache.Entry) implements it; the Store needs nothing else from it.
//
// An Item must not change once it has been given to Set: the Store shares it
// between goroutines and reads it without locks.
type Item interface {
	// Key is the full cache key. Get compares it on every hit, so two keys
	// whose hashes collide never see each other's entry.
	Key() []byte
	// Weight is roughly the bytes the item holds in memory; it bounds L1.
	Weight() int
	// SurrogateKeys are the keys a purge finds the item by. The item's URL
	// key is among them, so a purge by URL is a purge by that key.
	SurrogateKeys() []string
	// TTL is how long any level may keep the item from now: its fresh
	// lifetime plus the stale windows it may still be served in. Zero or
	// less means it is not stored.
	TTL(now time.Time) time.Duration
	// MarshalBinary is the item's form in L2; a Codec reads it back.
	MarshalBinary() ([]byte, error)
}

// Codec decodes an item from the bytes its MarshalBinary produced, for L2
// hits. httpcache.UnmarshalEntry is one.
type Codec[T Item] func([]byte) (T, error)

// Level says where Get found an item.
type Level uint8

const (
	// Miss: no level had it.
	Miss Level = iota
	// L1: this edge's memory.
	L1
	// L2: the region's Redis.
	L2
)

func (l Level) String() string {
	switch l {
	case L1:
		return "L1"
	case L2:
		return "L2"
	default:
		return "miss"
	}
}
