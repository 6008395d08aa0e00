package httpapi_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/cangqiong/cangqiong/core/httpapi"
)

func ExampleWrap() {
	getDish := func(w http.ResponseWriter, r *http.Request) error {
		if r.PathValue("id") != "7" {
			return httpapi.Errorf(http.StatusNotFound, "dish_not_found", "no dish %s", r.PathValue("id"))
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"name": "Ramen"})
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /dishes/{id}", httpapi.Wrap(getDish, httpapi.Fail(slog.Default())))

	for _, path := range []string{"/dishes/7", "/dishes/8"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Print(rec.Code, " ", rec.Body)
	}
	// Output:
	// 200 {"name":"Ramen"}
	// 404 {"error":{"code":"dish_not_found","message":"no dish 8"}}
}
