// Package identity carries the verified end user of a request through the
// core: the edge verifies the user's JWT, the tunnel server accepts the
// edge's word for it only over an mTLS-authenticated edge connection, and
// handlers read it from the request's context.
package identity

import "context"

// Role is what a user may do.
type Role string

const (
	Customer Role = "customer" // orders food for themselves
	Merchant Role = "merchant" // runs the shops whose owner they are
	Admin    Role = "admin"    // runs the platform
)

// Valid reports whether r is one of the roles above.
func (r Role) Valid() bool { return r == Customer || r == Merchant || r == Admin }

// Identity is a verified end user.
type Identity struct {
	UserID int64
	Role   Role
}

type ctxKey struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the identity ctx carries, if any.
func From(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}
