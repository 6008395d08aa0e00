package shardmap

import "slices"

// State is where a shard is in its life.
type State string

const (
	// Serving shards own users on the ring and answer for them.
	Serving State = "serving"
	// Draining shards still own their users while a reshard moves them away.
	Draining State = "draining"
	// Joining shards receive schema and copied rows but own no users yet.
	Joining State = "joining"
)

// OwnsUsers reports whether shards in state s are on the ring. Joining
// shards are not: they hold a partial, still-catching-up copy of the rows
// that will move to them, so routing a user there before cutover would read
// stale data and write where the old owner never sees it.
func (s State) OwnsUsers() bool { return s == Serving || s == Draining }

func (s State) valid() bool { return s.OwnsUsers() || s == Joining }

// Shard is one MySQL-protocol server (a TiDB cluster in production).
type Shard struct {
	// ID names the shard everywhere: logs, errors, the ring. Lower-case
	// letters, digits and '-' only.
	ID string `json:"id"`
	// Address is host:port of the shard's MySQL protocol endpoint.
	// Credentials never travel in the map; nodes take them from their config.
	Address string `json:"address"`
	// Database is the schema name on that server; empty means DefaultDatabase.
	Database string `json:"database,omitempty"`
	State    State  `json:"state"`
	// Weight is the shard's relative capacity: a shard of weight 2 owns about
	// twice the users of a shard of weight 1.
	Weight int `json:"weight"`
}

// Keyspace is the unsharded global keyspace (catalog and control tables).
type Keyspace struct {
	Address  string `json:"address"`
	Database string `json:"database,omitempty"`
}

// Map is one version of the shard map.
type Map struct {
	// Epoch increases by at least one with every change; nodes only ever
	// move to a higher epoch.
	Epoch  uint64   `json:"epoch"`
	Shards []Shard  `json:"shards"`
	Global Keyspace `json:"global"`
	// Freeze holds the writes of every user whose owner differs between
	// this map and its Settled() form: a reshard's cutover, while the last
	// changes are copied. Their reads go on as the ring says; a later epoch
	// lifts the freeze.
	Freeze bool `json:"freeze,omitempty"`
}

// DefaultDatabase is the schema name used when a shard or keyspace names none.
const DefaultDatabase = "cangqiong"

// DatabaseName is the schema to use on the shard's server.
func (s Shard) DatabaseName() string { return orDefault(s.Database) }

// DatabaseName is the schema to use on the global keyspace's server.
func (k Keyspace) DatabaseName() string { return orDefault(k.Database) }

func orDefault(db string) string {
	if db == "" {
		return DefaultDatabase
	}
	return db
}

// Clone returns a deep copy of m, safe to modify.
func (m *Map) Clone() *Map {
	c := *m
	c.Shards = slices.Clone(m.Shards)
	return &c
}

// Equal reports whether m and o describe the same map, shard order included.
func (m *Map) Equal(o *Map) bool {
	return m.Epoch == o.Epoch && m.Global == o.Global && slices.Equal(m.Shards, o.Shards) && m.Freeze == o.Freeze
}

// Settled returns the map as it will be once every reshard in flight has
// finished: joining shards serve, draining shards are gone, and the epoch is
// one higher. Diff(m, m.Settled(), opts) is the work still to do.
func (m *Map) Settled() *Map {
	c := m.Clone()
	c.Epoch++
	c.Freeze = false
	c.Shards = slices.DeleteFunc(c.Shards, func(s Shard) bool { return s.State == Draining })
	for i := range c.Shards {
		c.Shards[i].State = Serving
	}
	return c
}
