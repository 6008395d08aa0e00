package shardmap

import (
	"strconv"
	"strings"
	"sync"

	"github.com/cangqiong/cangqiong/sharding/ring"
)

// Rings are immutable and depend only on their members and options, and a
// node compiles the same few over and over: every epoch of a reshard keeps
// the ring of the one before, and its cutover needs the ring the settled
// map will have. Building one takes milliseconds (a 64-shard ring about
// 70 ms), so Compile keeps the last ringCacheSize rings and reuses them: a
// cutover's maps compile without building a ring while writes are held.
const ringCacheSize = 4

var rings struct {
	mu    sync.Mutex
	keys  []string // oldest first
	byKey map[string]*ring.Ring
}

// cachedRing returns the ring of members under opts, built once.
func cachedRing(members []ring.Member, opts ring.Options) (*ring.Ring, error) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(opts.VirtualNodes))
	for _, m := range members {
		b.WriteByte('|')
		b.WriteString(m.ID)
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(m.Weight))
	}
	key := b.String()
	rings.mu.Lock()
	r := rings.byKey[key]
	rings.mu.Unlock()
	if r != nil {
		return r, nil
	}
	r, err := ring.New(members, opts)
	if err != nil {
		return nil, err
	}
	rings.mu.Lock()
	defer rings.mu.Unlock()
	if rings.byKey == nil {
		rings.byKey = map[string]*ring.Ring{}
	}
	if have := rings.byKey[key]; have != nil {
		return have, nil // built concurrently
	}
	if len(rings.keys) == ringCacheSize {
		delete(rings.byKey, rings.keys[0])
		rings.keys = rings.keys[1:]
	}
	rings.keys = append(rings.keys, key)
	rings.byKey[key] = r
	return r, nil
}
