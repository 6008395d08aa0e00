package app

import (
	"net/http"

	"github.com/cangqiong/cangqiong/core/httpapi"
)

// validator is a request body that checks itself after decoding.
type validator interface{ validate() error }

// decode reads r's JSON body strictly (bounded by MaxBodyBytes) into v and
// validates it.
func (a *App) decode(w http.ResponseWriter, r *http.Request, v validator) error {
	if err := httpapi.Decode(w, r, a.maxBody, v); err != nil {
		return err
	}
	return v.validate()
}
