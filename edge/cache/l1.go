package cache

import (
	"slices"
	"sync/atomic"

	"github.com/maypok86/otter/v2"
)

// admit stores item in L1 unless one of its surrogate keys was purged after
// m. Holding mu across the check, the otter write and the index update makes
// each Set happen wholly before or wholly after each purge: before, the purge
// finds it in the index; after, the purge log refuses it (if its Mark is
// older) or it is newer content.
func (s *Store[T]) admit(m Mark, hash uint64, item T) bool {
	sks := item.SurrogateKeys()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.purges.since(m.seq, sks) {
		s.c.setsRefused.Add(1)
		return false
	}
	if s.l1 == nil {
		return true
	}
	s.l1.Set(hash, item)
	for _, sk := range sks {
		hs := s.index[sk]
		if hs == nil {
			hs = make(map[uint64]struct{}, 1)
			s.index[sk] = hs
		}
		hs[hash] = struct{}{}
	}
	return true
}

// purgeL1 removes from L1 every entry carrying one of keys and records the
// purge so that items fetched before it are refused. It returns the number
// of entries removed.
func (s *Store[T]) purgeL1(keys []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.purges.next()
	n := 0
	for _, sk := range keys {
		s.purges.record(sk, seq)
		for h := range s.index[sk] { // empty without L1
			if _, ok := s.l1.Invalidate(h); ok {
				n++
			}
		}
		delete(s.index, sk)
	}
	return n
}

// flushL1 empties L1 and refuses every item fetched before now: used when
// this edge may have missed purges.
func (s *Store[T]) flushL1(why string) {
	s.mu.Lock()
	s.purges.all(s.purges.next())
	if s.l1 != nil {
		s.l1.InvalidateAll()
		clear(s.index)
	}
	s.mu.Unlock()
	if s.l1 != nil {
		s.c.l1Flushes.Add(1)
		s.log.Warn("L1 emptied", "reason", why)
	}
}

// onL1Deletion queues an entry that left L1 (evicted, expired, replaced,
// invalidated) for unindex. It runs under otter's bucket lock, sometimes
// within admit (which holds mu), so it only takes dmu.
func (s *Store[T]) onL1Deletion(e otter.DeletionEvent[uint64, T]) {
	s.dmu.Lock()
	s.deleted = append(s.deleted, deletion[T]{e.Key, e.Value})
	s.dmu.Unlock()
	select {
	case s.unindexWake <- struct{}{}:
	default:
	}
}

type deletion[T Item] struct {
	hash uint64
	item T
}

// unindexLoop keeps the index bounded by L1, a batch of deletions at a time.
func (s *Store[T]) unindexLoop() {
	var batch []deletion[T]
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.unindexWake:
		}
		s.dmu.Lock()
		batch, s.deleted = s.deleted, batch[:0]
		s.dmu.Unlock()
		s.unindex(batch)
		clear(batch)
	}
}

// unindex removes each deleted entry's hash from the index of each of its
// keys, unless the entry now under that hash carries the key too. It looks
// at L1 as it is now, under mu, so the order in which deletions arrive does
// not matter: a hash stays indexed under a key exactly while L1 holds an
// entry there carrying the key.
func (s *Store[T]) unindex(batch []deletion[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range batch {
		cur, present := s.l1.GetEntryQuietly(d.hash)
		for _, sk := range d.item.SurrogateKeys() {
			if present && slices.Contains(cur.Value.SurrogateKeys(), sk) {
				continue
			}
			if hs := s.index[sk]; hs != nil {
				delete(hs, d.hash)
				if len(hs) == 0 {
					delete(s.index, sk)
				}
			}
		}
	}
}

// purgeLog remembers, for a bounded number of surrogate keys, the sequence
// number of their latest purge. Its fields other than seq are guarded by
// Store.mu; seq is written under it and read without it by Mark.
type purgeLog struct {
	seq   atomic.Uint64
	size  int               // most entries kept
	floor uint64            // Marks before it are refused: the history they need is gone
	last  map[string]uint64 // surrogate key → seq of its latest purge
	fifo  []logEntry        // purges in order, for forgetting the oldest
	head  int
}

type logEntry struct {
	sk  string
	seq uint64
}

// next numbers a new purge.
func (l *purgeLog) next() uint64 {
	n := l.seq.Load() + 1
	l.seq.Store(n)
	return n
}

func (l *purgeLog) record(sk string, seq uint64) {
	if len(l.fifo)-l.head >= l.size {
		old := l.fifo[l.head]
		l.fifo[l.head] = logEntry{}
		l.head++
		if l.last[old.sk] == old.seq {
			delete(l.last, old.sk)
			l.floor = max(l.floor, old.seq)
		}
	}
	if l.head > 1024 && l.head*2 >= len(l.fifo) {
		n := copy(l.fifo, l.fifo[l.head:])
		clear(l.fifo[n:])
		l.fifo, l.head = l.fifo[:n], 0
	}
	l.fifo = append(l.fifo, logEntry{sk, seq})
	l.last[sk] = seq
}

// all records a purge of everything.
func (l *purgeLog) all(seq uint64) {
	l.floor = seq
	clear(l.last)
	clear(l.fifo)
	l.fifo, l.head = l.fifo[:0], 0
}

// since reports whether one of sks was purged after mark, or may have been.
func (l *purgeLog) since(mark uint64, sks []string) bool {
	if mark < l.floor {
		return true
	}
	for _, sk := range sks {
		if l.last[sk] > mark {
			return true
		}
	}
	return false
}
