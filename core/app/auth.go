package app

import (
	"net/http"

	"github.com/cangqiong/cangqiong/core/identity"
)

// signedIn is the verified user of r: 401 without one. Any role has a
// profile, addresses, a cart and orders of its own.
func signedIn(r *http.Request) (identity.Identity, error) {
	id, ok := identity.From(r.Context())
	if !ok || id.UserID <= 0 || !id.Role.Valid() {
		return identity.Identity{}, errorf(http.StatusUnauthorized, codeUnauthenticated, "sign in first")
	}
	return id, nil
}

// staff is a signed-in merchant or admin: 403 for a customer.
func staff(r *http.Request) (identity.Identity, error) {
	id, err := signedIn(r)
	if err == nil && id.Role != identity.Merchant && id.Role != identity.Admin {
		err = errorf(http.StatusForbidden, codeForbidden, "only merchants and admins may do this")
	}
	return id, err
}

// admin is a signed-in admin: 403 for anyone else.
func admin(r *http.Request) (identity.Identity, error) {
	id, err := signedIn(r)
	if err == nil && id.Role != identity.Admin {
		err = errorf(http.StatusForbidden, codeForbidden, "only admins may do this")
	}
	return id, err
}

// manages reports whether id may run the shop owned by owner: its owner,
// or any admin.
func manages(id identity.Identity, owner int64) bool {
	return id.Role == identity.Admin || id.Role == identity.Merchant && id.UserID == owner
}

// checkManages is manages as an API error: 403 for another merchant's shop.
func checkManages(id identity.Identity, s *Shop) error {
	if !manages(id, s.OwnerUserID) {
		return errorf(http.StatusForbidden, codeForbidden, "shop %d is not yours", s.ID)
	}
	return nil
}
