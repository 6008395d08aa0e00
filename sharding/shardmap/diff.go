package shardmap

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/cangqiong/cangqiong/sharding/ring"
)

// Move is a stretch of the ring, [Start, End] inclusive in ring.Point
// space, whose users change owner.
type Move struct {
	Start uint64 `json:"start"`
	End   uint64 `json:"end"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Flow sums the moves from one shard to another.
type Flow struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Fraction is the share of the whole keyspace that moves, in 0..1.
	Fraction float64 `json:"fraction"`
	// Ranges counts the moves making up the flow.
	Ranges int `json:"ranges"`
}

// Delta is what changes hands between two maps. It is plain data: print it
// as JSON or compare it in tests.
type Delta struct {
	FromEpoch uint64 `json:"from_epoch"`
	ToEpoch   uint64 `json:"to_epoch"`
	// Ranges are the moving ranges, sorted by Start, adjacent moves with the
	// same From and To merged.
	Ranges []Move `json:"ranges"`
	// Summary has one Flow per (From, To) pair, sorted by From then To.
	Summary []Flow `json:"summary"`
	// Fraction is the share of the keyspace that moves at all.
	Fraction float64 `json:"fraction"`
}

// Diff compiles both maps with opts and returns the ranges whose owner
// differs going from one to the other. Only ring membership and weights
// matter: a shard changing address, or going from serving to draining,
// moves nobody.
func Diff(from, to *Map, opts ring.Options) (*Delta, error) {
	a, err := Compile(from, opts)
	if err != nil {
		return nil, err
	}
	b, err := Compile(to, opts)
	if err != nil {
		return nil, err
	}
	return DiffTopologies(a, b), nil
}

// DiffTopologies is Diff for maps already compiled (with the same options).
func DiffTopologies(from, to *Topology) *Delta {
	d := &Delta{FromEpoch: from.Epoch(), ToEpoch: to.Epoch(), Ranges: []Move{}}
	olds, news := from.Ring.Ranges(), to.Ring.Ranges()
	var start uint64
	for i, j := 0, 0; ; {
		end := min(olds[i].End, news[j].End)
		if olds[i].Owner != news[j].Owner {
			d.Ranges = appendMove(d.Ranges, Move{start, end, olds[i].Owner, news[j].Owner})
		}
		if end == math.MaxUint64 {
			break // both lists end at the top of the circle
		}
		if olds[i].End == end {
			i++
		}
		if news[j].End == end {
			j++
		}
		start = end + 1
	}
	d.summarize()
	return d
}

// appendMove adds m, merging it into the previous move when they touch and
// agree on From and To.
func appendMove(ms []Move, m Move) []Move {
	if n := len(ms); n > 0 {
		last := &ms[n-1]
		if last.End+1 == m.Start && last.From == m.From && last.To == m.To {
			last.End = m.End
			return ms
		}
	}
	return append(ms, m)
}

// summarize fills Summary and Fraction from Ranges.
func (d *Delta) summarize() {
	flows := map[[2]string]*Flow{}
	d.Summary = []Flow{}
	for _, m := range d.Ranges {
		f := flows[[2]string{m.From, m.To}]
		if f == nil {
			f = &Flow{From: m.From, To: m.To}
			flows[[2]string{m.From, m.To}] = f
		}
		f.Fraction += width(m)
		f.Ranges++
		d.Fraction += width(m)
	}
	for _, f := range flows {
		d.Summary = append(d.Summary, *f)
	}
	slices.SortFunc(d.Summary, func(a, b Flow) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
}

// width is the share of the circle a move covers.
func width(m Move) float64 {
	return (float64(m.End-m.Start) + 1) / math.Exp2(64)
}

// Moves reports whether userID changes owner in d, and from where to where.
func (d *Delta) Moves(userID int64) (from, to string, moved bool) {
	p := ring.Point(userID)
	i := sort.Search(len(d.Ranges), func(i int) bool { return d.Ranges[i].End >= p })
	if i == len(d.Ranges) || d.Ranges[i].Start > p {
		return "", "", false
	}
	return d.Ranges[i].From, d.Ranges[i].To, true
}
