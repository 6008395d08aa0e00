package app

import (
	"context"
	"net/http"

	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// createShopRequest is the body of POST /api/v1/shops.
type createShopRequest struct {
	OwnerUserID int64  `json:"owner_user_id"`
	Name        string `json:"name"`
	Region      string `json:"region"`
}

func (q *createShopRequest) validate() error {
	var f fields
	f.id("owner_user_id", q.OwnerUserID)
	f.text("name", q.Name, 1, 200)
	f.check(validRegion(q.Region), "region", "must be 1 to 64 of a-z, 0-9 and '-'")
	return f.err
}

// createShop is POST /api/v1/shops (admins): a new shop, closed, for its
// owner to fill and open.
func (a *App) createShop(w http.ResponseWriter, r *http.Request) error {
	if _, err := admin(r); err != nil {
		return err
	}
	var q createShopRequest
	if err := a.decode(w, r, &q); err != nil {
		return err
	}
	at := now()
	s := &Shop{ID: a.ids.Next(), OwnerUserID: q.OwnerUserID, Name: q.Name, Region: q.Region, CreatedAt: at, UpdatedAt: at}
	var v outbox.Version
	err := a.inTx(r.Context(), func(tx *exec.Tx) (err error) {
		if _, err = tx.Exec(r.Context(), insertShopSQL, s.ID, s.OwnerUserID, s.Name, s.Region, s.IsOpen, s.CreatedAt, s.UpdatedAt); err != nil {
			return err
		}
		v, err = change(r.Context(), tx, 0, "shop.created", keysShopChanged(s)...)
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/shops/"+itoa(s.ID))
	return written(w, http.StatusCreated, v, managed(s))
}

// openShop is POST /api/v1/shops/{shop}/open.
func (a *App) openShop(w http.ResponseWriter, r *http.Request) error { return a.setOpen(w, r, true) }

// closeShop is POST /api/v1/shops/{shop}/close.
func (a *App) closeShop(w http.ResponseWriter, r *http.Request) error { return a.setOpen(w, r, false) }

func (a *App) setOpen(w http.ResponseWriter, r *http.Request, open bool) error {
	kind := "shop.closed"
	if open {
		kind = "shop.opened"
	}
	var out *Shop
	v, err := a.shopWrite(w, r, nil, func(ctx context.Context, tx *exec.Tx, s *Shop) ([]string, string, error) {
		s.IsOpen, s.UpdatedAt = open, now()
		_, err := tx.Exec(ctx, setShopOpenSQL, s.IsOpen, s.UpdatedAt, s.ID)
		out = s
		return keysShopChanged(s), kind, err
	})
	if err != nil {
		return err
	}
	return written(w, http.StatusOK, v, managed(out))
}

// shopEdit changes the catalog of shop s inside tx and says which
// surrogate keys and change kind to record.
type shopEdit func(ctx context.Context, tx *exec.Tx, s *Shop) (keys []string, kind string, err error)

// shopWrite runs a merchant's change to the shop of the {shop} wildcard:
// the caller must be staff; body (if not nil) is decoded and validated
// first; then, in one global transaction, the shop row is read and locked
// (404 unknown_shop, 403 for another merchant's shop), edit runs and the
// change goes to the global outbox.
func (a *App) shopWrite(w http.ResponseWriter, r *http.Request, body validator, edit shopEdit) (outbox.Version, error) {
	who, err := staff(r)
	if err != nil {
		return outbox.Version{}, err
	}
	id, err := pathID(r, "shop")
	if err != nil {
		return outbox.Version{}, err
	}
	if body != nil {
		if err := a.decode(w, r, body); err != nil {
			return outbox.Version{}, err
		}
	}
	var v outbox.Version
	err = a.inTx(r.Context(), func(tx *exec.Tx) error {
		keys, kind, err := a.editShop(r.Context(), tx, who, id, edit)
		if err != nil {
			return err
		}
		v, err = change(r.Context(), tx, 0, kind, keys...)
		return err
	})
	return v, err
}

func (a *App) editShop(ctx context.Context, tx *exec.Tx, who identity.Identity, id int64, edit shopEdit) ([]string, string, error) {
	s, err := scanShop(tx.QueryRow(ctx, lockShopSQL, id))
	if err = ifNoRows(err, errorf(http.StatusNotFound, codeUnknownShop, "no shop %d", id)); err != nil {
		return nil, "", err
	}
	if err := checkManages(who, s); err != nil {
		return nil, "", err
	}
	return edit(ctx, tx, s)
}
