package app

import "net/http"

// route is one pattern of the API (Go 1.22 ServeMux syntax) and its handler.
type route struct {
	pattern string
	h       handler
}

// routeTable lists every route of the API.
func (a *App) routeTable() []route {
	return []route{
		// Catalog: public, cacheable by any shared cache.
		{"GET /api/v1/shops", a.catalogRead(a.listShops)},
		{"GET /api/v1/shops/{shop}", a.catalogRead(a.getShop)},
		{"GET /api/v1/shops/{shop}/menu", a.catalogRead(a.getMenu)},
		// The signed-in user's own data, on the user's shard.
		{"GET /api/v1/me", a.userRead(a.getProfile)},
		{"PUT /api/v1/me", a.putProfile},
		{"GET /api/v1/me/addresses", a.userRead(a.listAddresses)},
		{"POST /api/v1/me/addresses", a.createAddress},
		{"GET /api/v1/me/addresses/{address}", a.userRead(a.getAddress)},
		{"PUT /api/v1/me/addresses/{address}", a.putAddress},
		{"DELETE /api/v1/me/addresses/{address}", a.deleteAddress},
		{"GET /api/v1/me/cart", a.userRead(a.getCart)},
		{"DELETE /api/v1/me/cart", a.clearCart},
		{"PUT /api/v1/me/cart/items/{dish}", a.putCartItem},
		{"DELETE /api/v1/me/cart/items/{dish}", a.deleteCartItem},
		{"GET /api/v1/me/orders", a.userRead(a.listMyOrders)},
		{"POST /api/v1/me/orders", a.createOrder},
		{"GET /api/v1/me/orders/{order}", a.userRead(a.getMyOrder)},
		{"POST /api/v1/me/orders/{order}/pay", a.payOrder},
		{"POST /api/v1/me/orders/{order}/cancel", a.cancelOrder},
		// Merchants (their own shops) and admins (any shop).
		{"POST /api/v1/shops", a.createShop},
		{"POST /api/v1/shops/{shop}/open", a.openShop},
		{"POST /api/v1/shops/{shop}/close", a.closeShop},
		{"POST /api/v1/shops/{shop}/categories", a.createCategory},
		{"POST /api/v1/shops/{shop}/dishes", a.createDish},
		{"PUT /api/v1/shops/{shop}/dishes/{dish}", a.putDish},
		{"DELETE /api/v1/shops/{shop}/dishes/{dish}", a.deleteDish},
		{"GET /api/v1/shops/{shop}/orders", a.listShopOrders},
		{"GET /api/v1/orders/{order}", a.getShopOrder},
		{"POST /api/v1/orders/{order}/status", a.advanceOrder},
	}
}

// routes builds the handler: the ServeMux, with JSON answers for what it
// does not route.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.routeTable() {
		mux.Handle(rt.pattern, a.wrap(rt.h))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			unrouted(mux, w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// unrouted answers a request no pattern matches in the API's error format:
// 404 not_found, or 405 method_not_allowed with the mux's Allow header.
func unrouted(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	probe := &statusProbe{header: http.Header{}}
	mux.ServeHTTP(probe, r)
	w.Header().Set("Cache-Control", "no-store")
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeErr(w, errorf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	writeErr(w, errorf(http.StatusNotFound, codeNotFound, "no route for %s %s", r.Method, r.URL.Path))
}

// statusProbe records the status the mux would answer with, discarding
// its plain-text body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }
