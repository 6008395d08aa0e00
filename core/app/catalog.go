package app

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
)

// listShops is GET /api/v1/shops?region=&cursor=&limit=: shops by id, open
// or not, optionally of one region.
func (a *App) listShops(w http.ResponseWriter, r *http.Request) error {
	region := r.URL.Query().Get("region")
	if region != "" && !validRegion(region) {
		return errorf(http.StatusBadRequest, codeBadRegion, "region must be 1 to 64 of a-z, 0-9 and '-', not %q", region)
	}
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	after, err := idCursor(r)
	if err != nil {
		return err
	}
	page, err := a.shopPage(r.Context(), region, after, limit)
	if err != nil {
		return err
	}
	if region == "" {
		return a.public(w, page, keyShops)
	}
	return a.public(w, page, keyShops, keyRegion(region))
}

func (a *App) shopPage(ctx context.Context, region string, after int64, limit int) (*ShopPage, error) {
	query, args := listShopsSQL, []any{after, limit + 1}
	if region != "" {
		query, args = listRegionShopsSQL, []any{region, after, limit + 1}
	}
	shops, err := queryAll(ctx, a.exec, scanShop, query, args...)
	if err != nil {
		return nil, err
	}
	page := &ShopPage{Shops: shops}
	if len(shops) > limit {
		page.Shops = shops[:limit]
		page.NextCursor = encodeIDCursor(shops[limit-1].ID)
	}
	return page, nil
}

// getShop is GET /api/v1/shops/{shop}.
func (a *App) getShop(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "shop")
	if err != nil {
		return err
	}
	s, err := a.shop(r.Context(), id)
	if err != nil {
		return err
	}
	return a.public(w, s, keyShop(id))
}

// getMenu is GET /api/v1/shops/{shop}/menu: the shop, its categories in
// order and the dishes on sale in each.
func (a *App) getMenu(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "shop")
	if err != nil {
		return err
	}
	s, err := a.shop(r.Context(), id)
	if err != nil {
		return err
	}
	menu, err := a.menu(r.Context(), s)
	if err != nil {
		return err
	}
	return a.public(w, menu, keyShop(id), keyMenu(id))
}

func (a *App) menu(ctx context.Context, s *Shop) (*Menu, error) {
	cats, err := queryAll(ctx, a.exec, scanCategory, listCategoriesSQL, s.ID)
	if err != nil {
		return nil, err
	}
	dishes, err := queryAll(ctx, a.exec, scanDish, listDishesOnSaleSQL, s.ID)
	if err != nil {
		return nil, err
	}
	byCat := map[int64][]*Dish{}
	for _, d := range dishes {
		byCat[d.CategoryID] = append(byCat[d.CategoryID], d)
	}
	m := &Menu{Shop: s, Categories: []MenuCategory{}}
	for _, c := range cats {
		if len(byCat[c.ID]) > 0 {
			m.Categories = append(m.Categories, MenuCategory{Category: c, Dishes: byCat[c.ID]})
		}
	}
	return m, nil
}

// shop reads one shop: 404 unknown_shop when there is none.
func (a *App) shop(ctx context.Context, id int64) (*Shop, error) {
	s, err := scanShop(a.exec.QueryRow(ctx, selectShopSQL, id))
	return s, ifNoRows(err, errorf(http.StatusNotFound, codeUnknownShop, "no shop %d", id))
}

// ifNoRows is err, or notFound when err says the row does not exist.
func ifNoRows(err, notFound error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound
	}
	return err
}
