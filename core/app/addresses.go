package app

import (
	"context"
	"net/http"

	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// MaxAddresses bounds a user's address book.
const MaxAddresses = 20

// addressRequest is the body of POST and PUT on addresses: every field of
// the address (PUT replaces it).
type addressRequest struct {
	Label      string `json:"label"`
	Recipient  string `json:"recipient"`
	Phone      string `json:"phone"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
	IsDefault  bool   `json:"is_default"`
}

func (q *addressRequest) validate() error {
	var f fields
	f.text("label", q.Label, 1, 64)
	f.text("recipient", q.Recipient, 1, 100)
	f.check(q.Phone != "" && validPhone(q.Phone), "phone", "must be 3 to 32 of digits, spaces and + - ( )")
	f.text("line1", q.Line1, 1, 200)
	f.text("line2", q.Line2, 0, 200)
	f.text("city", q.City, 1, 100)
	f.text("region", q.Region, 0, 100)
	f.text("postal_code", q.PostalCode, 0, 20)
	f.check(validCountry(q.Country), "country", "must be an ISO 3166 code of two capital letters")
	return f.err
}

func (q *addressRequest) apply(ad *Address) {
	ad.Label, ad.Recipient, ad.Phone, ad.Line1, ad.Line2 = q.Label, q.Recipient, q.Phone, q.Line1, q.Line2
	ad.City, ad.Region, ad.PostalCode, ad.Country, ad.IsDefault = q.City, q.Region, q.PostalCode, q.Country, q.IsDefault
	ad.UpdatedAt = now()
}

// listAddresses is GET /api/v1/me/addresses (all of them, by id).
func (a *App) listAddresses(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	list, err := queryAll(r.Context(), a.exec, scanAddress, listAddressesSQL, who.UserID, MaxAddresses)
	if err != nil {
		return err
	}
	return private(w, map[string][]*Address{"addresses": list}, keyUser(who.UserID, "addresses"))
}

// getAddress is GET /api/v1/me/addresses/{address}.
func (a *App) getAddress(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "address")
	if err != nil {
		return err
	}
	ad, err := address(r.Context(), a.exec, selectAddressSQL, who.UserID, id, http.StatusNotFound)
	if err != nil {
		return err
	}
	return private(w, ad, keyUser(who.UserID, "addresses"))
}

// address reads one of user's addresses; a missing one is status
// unknown_address (404 for the path, 422 for a body's reference).
func address(ctx context.Context, q querier, query string, user, id int64, status int) (*Address, error) {
	ad, err := scanAddress(q.QueryRow(ctx, query, user, id))
	return ad, ifNoRows(err, errorf(status, codeUnknownAddress, "no address %d", id))
}

// createAddress is POST /api/v1/me/addresses.
func (a *App) createAddress(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	ad, v, err := a.addressWrite(w, r, who.UserID, func(ctx context.Context, tx *exec.Tx, q *addressRequest) (*Address, error) {
		var n int
		if err := tx.QueryRow(ctx, countAddressesSQL, who.UserID).Scan(&n); err != nil {
			return nil, err
		}
		if n >= MaxAddresses {
			return nil, errorf(http.StatusConflict, codeTooManyAddresses, "an address book holds at most %d addresses", MaxAddresses)
		}
		ad := &Address{ID: a.ids.Next()}
		q.apply(ad)
		ad.CreatedAt = ad.UpdatedAt
		_, err := tx.Exec(ctx, insertAddressSQL, who.UserID, ad.ID, ad.Label, ad.Recipient, ad.Phone, ad.Line1, ad.Line2,
			ad.City, ad.Region, ad.PostalCode, ad.Country, ad.IsDefault, ad.CreatedAt, ad.UpdatedAt)
		return ad, err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/me/addresses/"+itoa(ad.ID))
	return written(w, http.StatusCreated, v, ad)
}

// putAddress is PUT /api/v1/me/addresses/{address}.
func (a *App) putAddress(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "address")
	if err != nil {
		return err
	}
	ad, v, err := a.addressWrite(w, r, who.UserID, func(ctx context.Context, tx *exec.Tx, q *addressRequest) (*Address, error) {
		ad, err := address(ctx, tx, lockAddressSQL, who.UserID, id, http.StatusNotFound)
		if err != nil {
			return nil, err
		}
		q.apply(ad)
		_, err = tx.Exec(ctx, updateAddressSQL, ad.Label, ad.Recipient, ad.Phone, ad.Line1, ad.Line2,
			ad.City, ad.Region, ad.PostalCode, ad.Country, ad.IsDefault, ad.UpdatedAt, who.UserID, ad.ID)
		return ad, err
	})
	if err != nil {
		return err
	}
	return written(w, http.StatusOK, v, ad)
}

// addressWrite runs a change to user's address book: the body is decoded
// and validated, then edit runs in the user's shard transaction; a new
// default address takes the flag from the others.
func (a *App) addressWrite(w http.ResponseWriter, r *http.Request, user int64,
	edit func(ctx context.Context, tx *exec.Tx, q *addressRequest) (*Address, error)) (*Address, outbox.Version, error) {
	var q addressRequest
	if err := a.decode(w, r, &q); err != nil {
		return nil, outbox.Version{}, err
	}
	ctx := r.Context()
	var ad *Address
	var v outbox.Version
	err := a.inTx(ctx, func(tx *exec.Tx) (err error) {
		if ad, err = edit(ctx, tx, &q); err != nil {
			return err
		}
		if ad.IsDefault {
			if _, err = tx.Exec(ctx, clearDefaultAddressesSQL, ad.UpdatedAt, user, ad.ID); err != nil {
				return err
			}
		}
		v, err = change(ctx, tx, user, "addresses.changed", keyUser(user, "addresses"))
		return err
	})
	return ad, v, err
}

// deleteAddress is DELETE /api/v1/me/addresses/{address}. Orders keep
// their copy of the address.
func (a *App) deleteAddress(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "address")
	if err != nil {
		return err
	}
	ctx := r.Context()
	var v outbox.Version
	err = a.inTx(ctx, func(tx *exec.Tx) error {
		res, err := tx.Exec(ctx, deleteAddressSQL, who.UserID, id)
		if err = removed(res, err, errorf(http.StatusNotFound, codeUnknownAddress, "no address %d", id)); err != nil {
			return err
		}
		v, err = change(ctx, tx, who.UserID, "addresses.changed", keyUser(who.UserID, "addresses"))
		return err
	})
	if err != nil {
		return err
	}
	return written(w, http.StatusNoContent, v, nil)
}
