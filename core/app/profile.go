package app

import (
	"net/http"

	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// getProfile is GET /api/v1/me: 404 profile_not_found until PUT made one.
func (a *App) getProfile(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	p, err := scanProfile(a.exec.QueryRow(r.Context(), selectProfileSQL, who.UserID))
	if err = ifNoRows(err, errorf(http.StatusNotFound, codeProfileNotFound, "no profile yet; PUT /api/v1/me makes one")); err != nil {
		return err
	}
	return private(w, p, keyUser(who.UserID, "profile"))
}

// profileRequest is the body of PUT /api/v1/me.
type profileRequest struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

func (q *profileRequest) validate() error {
	var f fields
	f.text("name", q.Name, 1, 100)
	f.text("email", q.Email, 3, 254)
	f.check(validEmail(q.Email), "email", "must look like name@example.com")
	f.check(validPhone(q.Phone), "phone", "must be empty or 3 to 32 of digits, spaces and + - ( )")
	return f.err
}

// putProfile is PUT /api/v1/me: creates or replaces the profile. The role
// is the verified identity's, never the body's.
func (a *App) putProfile(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	var q profileRequest
	if err := a.decode(w, r, &q); err != nil {
		return err
	}
	ctx, at := r.Context(), now()
	var p *Profile
	var v outbox.Version
	err = a.inTx(ctx, func(tx *exec.Tx) (err error) {
		if _, err = tx.Exec(ctx, upsertProfileSQL, who.UserID, q.Name, q.Email, q.Phone, string(who.Role), at, at); err != nil {
			return err
		}
		if p, err = scanProfile(tx.QueryRow(ctx, selectProfileSQL, who.UserID)); err != nil {
			return err
		}
		v, err = change(ctx, tx, who.UserID, "profile.updated", keyUser(who.UserID, "profile"))
		return err
	})
	if err != nil {
		return err
	}
	return written(w, http.StatusOK, v, p)
}
