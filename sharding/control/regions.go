package control

// This file is the region registry: the edge regions, where they are, how
// much traffic each should take and which endpoints serve it. The front
// door, the failure drills and the terraform provider (through the admin
// API) read and change it here.
//
// Changes are guarded by a version per region instead of the epoch of the
// shard map: regions change independently of one another, so a writer names
// the version it read, the change commits only if that is still the stored
// version, and every commit increments it. Of many writers starting from
// one version exactly one wins (a single-row UPDATE … WHERE version = ? is
// atomic in InnoDB and TiDB); the others get a *RegionConflictError.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// RegionState is whether a region takes traffic.
type RegionState string

const (
	// RegionActive regions take traffic in proportion to their weight.
	RegionActive RegionState = "active"
	// RegionDraining regions take no new traffic; what is in flight finishes.
	RegionDraining RegionState = "draining"
	// RegionDisabled regions are out of rotation (failed, or not yet built).
	RegionDisabled RegionState = "disabled"
)

func (s RegionState) valid() bool {
	return s == RegionActive || s == RegionDraining || s == RegionDisabled
}

// Bounds Validate enforces. The text bounds are the widths of the
// cq_regions columns (schema global migration 4).
const (
	MaxRegionWeight   = 100 // a region ramps from 0 (no traffic) to 100 (its full share)
	MaxRegionEdges    = 64  // endpoints per region
	MaxRegionLocation = 128 // characters
	MaxRegionName     = 64  // bytes
)

// Region is one edge region.
type Region struct {
	// Name identifies the region: 1-64 of a-z, 0-9 and '-' (like a shard
	// id; it lands in metrics labels and logs).
	Name string `json:"name"`
	// Location is a human description, e.g. "Frankfurt, DE".
	Location string `json:"location"`
	// Latitude and Longitude place the region (degrees); the front door
	// sends a user to the nearest one.
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	// Weight is the share of traffic, 0-100; 0 takes none.
	Weight int `json:"weight"`
	// Edges are the host:port endpoints of the region's edge nodes. A
	// region with weight > 0 needs at least one.
	Edges []string    `json:"edges"`
	State RegionState `json:"state"`
	// Version and UpdatedAt are set by the store; Put ignores them.
	Version   uint64    `json:"version"`
	UpdatedAt time.Time `json:"updated_at"` // UTC, microseconds
}

// Problems Validate reports, matched with errors.Is on its error.
var (
	ErrInvalidRegion         = errors.New("invalid region")
	ErrInvalidRegionName     = errors.New("invalid name (want 1-64 of a-z, 0-9, '-')")
	ErrInvalidRegionLocation = fmt.Errorf("invalid location (want 1-%d printable characters)", MaxRegionLocation)
	ErrInvalidLatitude       = errors.New("latitude out of range (want -90..90)")
	ErrInvalidLongitude      = errors.New("longitude out of range (want -180..180)")
	ErrInvalidRegionWeight   = fmt.Errorf("weight out of range (want 0..%d)", MaxRegionWeight)
	ErrInvalidEdge           = errors.New("invalid edge endpoint (want host:port)")
	ErrDuplicateEdge         = errors.New("duplicate edge endpoint")
	ErrTooManyEdges          = fmt.Errorf("too many edge endpoints (at most %d)", MaxRegionEdges)
	ErrNoEdges               = errors.New("weight > 0 but no edge endpoint to send traffic to")
	ErrInvalidRegionState    = errors.New("invalid state (want active, draining or disabled)")
)

// ErrRegionNotFound is returned for a region that is not stored.
var ErrRegionNotFound = errors.New("control: region not found")

// ErrRegionConflict matches every *RegionConflictError.
var ErrRegionConflict = errors.New("control: region version conflict")

// InvalidRegionError lists everything wrong with a region at once, so an
// operator fixes it in one round. errors.Is matches ErrInvalidRegion and
// the sentinel of each problem.
type InvalidRegionError struct {
	Name     string // as given, possibly invalid
	Problems []error
}

func (e *InvalidRegionError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return fmt.Sprintf("control: invalid region %q: %s", e.Name, strings.Join(msgs, "; "))
}

// Unwrap returns ErrInvalidRegion and the problems.
func (e *InvalidRegionError) Unwrap() []error {
	return append([]error{ErrInvalidRegion}, e.Problems...)
}

// Validate returns an *InvalidRegionError naming every problem of r, or nil.
// Version and UpdatedAt are not checked: the store owns them.
func (r Region) Validate() error {
	var errs []error
	if !validRegionName(r.Name) {
		errs = append(errs, ErrInvalidRegionName)
	}
	if !validLocation(r.Location) {
		errs = append(errs, ErrInvalidRegionLocation)
	}
	// Written so that NaN fails too.
	if !(r.Latitude >= -90 && r.Latitude <= 90) {
		errs = append(errs, fmt.Errorf("%w: %v", ErrInvalidLatitude, r.Latitude))
	}
	if !(r.Longitude >= -180 && r.Longitude <= 180) {
		errs = append(errs, fmt.Errorf("%w: %v", ErrInvalidLongitude, r.Longitude))
	}
	if r.Weight < 0 || r.Weight > MaxRegionWeight {
		errs = append(errs, fmt.Errorf("%w: %d", ErrInvalidRegionWeight, r.Weight))
	}
	errs = append(errs, edgeProblems(r.Edges)...)
	if r.Weight > 0 && len(r.Edges) == 0 {
		errs = append(errs, ErrNoEdges)
	}
	if !r.State.valid() {
		errs = append(errs, fmt.Errorf("%w: %q", ErrInvalidRegionState, r.State))
	}
	if len(errs) == 0 {
		return nil
	}
	return &InvalidRegionError{Name: r.Name, Problems: errs}
}

func edgeProblems(edges []string) []error {
	if len(edges) > MaxRegionEdges {
		return []error{fmt.Errorf("%w: %d", ErrTooManyEdges, len(edges))}
	}
	var errs []error
	seen := make(map[string]bool, len(edges))
	for _, e := range edges {
		switch {
		case !validEndpoint(e):
			errs = append(errs, fmt.Errorf("%w: %q", ErrInvalidEdge, e))
		case seen[e]:
			errs = append(errs, fmt.Errorf("%w: %q", ErrDuplicateEdge, e))
		}
		seen[e] = true
	}
	return errs
}

// validRegionName follows the shard id rule (shardmap): the name lands in
// logs, metrics labels and URLs, so it is kept boring.
func validRegionName(name string) bool {
	if len(name) < 1 || len(name) > MaxRegionName {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validLocation(s string) bool {
	n := utf8.RuneCountInString(s)
	return n >= 1 && n <= MaxRegionLocation && utf8.ValidString(s) &&
		!strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) })
}

// validEndpoint accepts host:port with a host free of spaces, control
// characters and URL punctuation and a port in 1..65535, as shard
// addresses are checked (shardmap).
func validEndpoint(addr string) bool {
	if len(addr) > 255+1+5 {
		return false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return false
	}
	return !strings.ContainsFunc(host, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '/' || r == '@' || r > 0x7e
	})
}

// RegionConflictError reports a Put or Delete that lost: the stored version
// is not the one the caller named. Current is the version found when the
// change was refused (0 if the caller tried to create a region that exists
// and it vanished again before it could be read).
type RegionConflictError struct {
	Name     string
	Expected uint64 // 0: the caller meant to create the region
	Current  uint64
}

func (e *RegionConflictError) Error() string {
	if e.Expected == 0 {
		return fmt.Sprintf("control: region %q exists at version %d, expected none", e.Name, e.Current)
	}
	return fmt.Sprintf("control: region %q version conflict: expected version %d, stored version is %d", e.Name, e.Expected, e.Current)
}

// Is makes errors.Is(err, ErrRegionConflict) true.
func (e *RegionConflictError) Is(target error) bool { return target == ErrRegionConflict }

// Statements the region store issues, in one place so they are easy to
// check with TiDB's parser (the tests parse every statement they see
// issued). version = version + 1 in the UPDATE is what makes concurrent
// writers from one version serialize on the row: only the first still
// matches the WHERE clause.
const (
	regionColumns          = "name, location, latitude, longitude, weight, edges, state, version, updated_at"
	selectRegionsSQL       = "SELECT " + regionColumns + " FROM cq_regions ORDER BY name"
	selectRegionSQL        = "SELECT " + regionColumns + " FROM cq_regions WHERE name = ?"
	selectRegionVersionSQL = "SELECT version FROM cq_regions WHERE name = ?"
	insertRegionSQL        = "INSERT INTO cq_regions (" + regionColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)"
	updateRegionSQL        = "UPDATE cq_regions SET location = ?, latitude = ?, longitude = ?, weight = ?, edges = ?, state = ?, version = version + 1, updated_at = ? WHERE name = ? AND version = ?"
	deleteRegionSQL        = "DELETE FROM cq_regions WHERE name = ? AND version = ?"
)

// RegionDB is what a RegionStore needs from the global keyspace. *sql.DB
// satisfies it; so does a wrapper that records or fails statements.
type RegionDB interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var _ RegionDB = (*sql.DB)(nil)

// RegionStore reads and changes the region registry in the global
// keyspace. It is safe for concurrent use, also by several processes.
type RegionStore struct {
	db  RegionDB
	now func() time.Time
}

// NewRegionStore returns a store over a pool of the global keyspace. The
// caller keeps owning db.
func NewRegionStore(db RegionDB) *RegionStore {
	return &RegionStore{db: db, now: time.Now}
}

// List returns every region, ordered by name.
func (s *RegionStore) List(ctx context.Context) ([]Region, error) {
	rows, err := s.db.QueryContext(ctx, selectRegionsSQL)
	if err != nil {
		return nil, fmt.Errorf("control: list regions: %w", err)
	}
	defer rows.Close()
	regions := []Region{}
	for rows.Next() {
		r, err := scanRegion(rows)
		if err != nil {
			return nil, err
		}
		regions = append(regions, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("control: list regions: %w", err)
	}
	return regions, nil
}

// Get returns one region, or an error matching ErrRegionNotFound.
func (s *RegionStore) Get(ctx context.Context, name string) (Region, error) {
	r, err := scanRegion(s.db.QueryRowContext(ctx, selectRegionSQL, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Region{}, fmt.Errorf("%w: %q", ErrRegionNotFound, name)
	}
	return r, err
}

// Put stores r and returns it as stored, with its new Version and
// UpdatedAt. With expectVersion 0 it creates the region, which must not
// exist yet; otherwise it replaces the region only if its stored version is
// still expectVersion. A lost race returns a *RegionConflictError; updating
// a region that does not exist returns an error matching
// ErrRegionNotFound; an invalid r returns an *InvalidRegionError.
func (s *RegionStore) Put(ctx context.Context, r Region, expectVersion uint64) (Region, error) {
	if err := r.Validate(); err != nil {
		return Region{}, err
	}
	if r.Edges == nil {
		r.Edges = []string{}
	}
	edges, err := json.Marshal(r.Edges)
	if err != nil {
		return Region{}, fmt.Errorf("control: region %q edges: %w", r.Name, err)
	}
	r.UpdatedAt = s.now().UTC().Truncate(time.Microsecond) // DATETIME(6)
	if expectVersion == 0 {
		err = s.create(ctx, &r, string(edges))
	} else {
		err = s.update(ctx, &r, string(edges), expectVersion)
	}
	if err != nil {
		return Region{}, err
	}
	return r, nil
}

// create inserts r at version 1. edges is a string, not bytes: the driver
// would send bytes as a binary literal, which TiDB and MySQL refuse for a
// JSON column.
func (s *RegionStore) create(ctx context.Context, r *Region, edges string) error {
	_, err := s.db.ExecContext(ctx, insertRegionSQL,
		r.Name, r.Location, r.Latitude, r.Longitude, r.Weight, edges, string(r.State), r.UpdatedAt)
	if isDuplicateKey(err) {
		return s.conflict(ctx, r.Name, 0, true)
	}
	if err != nil {
		return fmt.Errorf("control: create region %q: %w", r.Name, err)
	}
	r.Version = 1
	return nil
}

func (s *RegionStore) update(ctx context.Context, r *Region, edges string, expect uint64) error {
	res, err := s.db.ExecContext(ctx, updateRegionSQL,
		r.Location, r.Latitude, r.Longitude, r.Weight, edges, string(r.State), r.UpdatedAt, r.Name, expect)
	if err != nil {
		return fmt.Errorf("control: update region %q: %w", r.Name, err)
	}
	if err := s.changedOne(ctx, res, r.Name, expect); err != nil {
		return err
	}
	r.Version = expect + 1
	return nil
}

// Delete removes a region if its stored version is still expectVersion. A
// lost race returns a *RegionConflictError, a region that does not exist an
// error matching ErrRegionNotFound.
func (s *RegionStore) Delete(ctx context.Context, name string, expectVersion uint64) error {
	res, err := s.db.ExecContext(ctx, deleteRegionSQL, name, expectVersion)
	if err != nil {
		return fmt.Errorf("control: delete region %q: %w", name, err)
	}
	return s.changedOne(ctx, res, name, expectVersion)
}

// changedOne checks that a guarded UPDATE or DELETE hit its row and, when
// it did not, finds out why. Every UPDATE changes the version, so "rows
// affected" counts matched rows whatever the driver's found-rows setting.
func (s *RegionStore) changedOne(ctx context.Context, res sql.Result, name string, expect uint64) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("control: region %q: rows affected: %w", name, err)
	}
	if n == 1 {
		return nil
	}
	return s.conflict(ctx, name, expect, false)
}

// conflict explains a refused change: the region is gone (not found, unless
// the change was a create that collided with a region deleted since) or has
// another version.
func (s *RegionStore) conflict(ctx context.Context, name string, expect uint64, creating bool) error {
	var current uint64
	err := s.db.QueryRowContext(ctx, selectRegionVersionSQL, name).Scan(&current)
	switch {
	case errors.Is(err, sql.ErrNoRows) && !creating:
		return fmt.Errorf("%w: %q", ErrRegionNotFound, name)
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("control: region %q: read version after conflict: %w", name, err)
	}
	return &RegionConflictError{Name: name, Expected: expect, Current: current}
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanRegion(sc scanner) (Region, error) {
	var r Region
	var edges []byte
	var state string
	err := sc.Scan(&r.Name, &r.Location, &r.Latitude, &r.Longitude, &r.Weight, &edges, &state, &r.Version, &r.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Region{}, err
	}
	if err != nil {
		return Region{}, fmt.Errorf("control: read region: %w", err)
	}
	r.State = RegionState(state)
	if err := json.Unmarshal(edges, &r.Edges); err != nil {
		return Region{}, fmt.Errorf("control: region %q: stored edges: %w", r.Name, err)
	}
	if r.Edges == nil {
		r.Edges = []string{}
	}
	return r, nil
}
