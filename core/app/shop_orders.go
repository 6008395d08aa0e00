package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/core/identity"
)

// listShopOrders is GET /api/v1/shops/{shop}/orders?cursor=&limit=: a
// shop's orders from every shard, newest first. It is a scatter SELECT:
// each shard returns its newest limit+1 after the cursor and the executor
// merges them by (created_at, id), which orders all rows totally.
func (a *App) listShopOrders(w http.ResponseWriter, r *http.Request) error {
	who, err := staff(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "shop")
	if err != nil {
		return err
	}
	s, err := a.shop(r.Context(), id)
	if err != nil {
		return err
	}
	if err := checkManages(who, s); err != nil {
		return err
	}
	page, err := a.orderPage(r, listShopOrdersSQL, listShopOrdersAfterSQL, id)
	if err != nil {
		return err
	}
	return private(w, page, keyShopOrders(id))
}

// getShopOrder is GET /api/v1/orders/{order}: an order of a shop the
// caller manages (404 for any other).
func (a *App) getShopOrder(w http.ResponseWriter, r *http.Request) error {
	who, err := staff(r)
	if err != nil {
		return err
	}
	ref, err := pathOrderRef(r)
	if err != nil {
		return err
	}
	o, err := loadOrder(r.Context(), a.exec, ref, selectOrderSQL)
	if err != nil {
		return err
	}
	if err := a.checkOrderShop(r.Context(), who, ref, o.ShopID); err != nil {
		return err
	}
	return private(w, o, keyOrder(ref), keyShopOrders(o.ShopID))
}

// checkOrderShop makes sure who manages shop, the shop of order ref: 404
// unknown_order otherwise, so orders of other shops stay invisible.
func (a *App) checkOrderShop(ctx context.Context, who identity.Identity, ref OrderRef, shop int64) error {
	if who.Role == identity.Admin {
		return nil
	}
	s, err := a.shop(ctx, shop)
	var api *httpapi.Error
	switch {
	case err != nil && !errors.As(err, &api):
		return err
	case err != nil || !manages(who, s.OwnerUserID):
		return unknownOrder(ref)
	}
	return nil
}
