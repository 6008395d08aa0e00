package app

import (
	"context"
	"net/http"

	"github.com/cangqiong/cangqiong/sharding/exec"
)

// Catalog bounds.
const (
	MaxPriceCents = 10_000_000 // 100 000.00 in the shop's currency
	MaxPosition   = 10_000
)

// categoryRequest is the body of POST /api/v1/shops/{shop}/categories.
type categoryRequest struct {
	Name     string `json:"name"`
	Position int    `json:"position"`
}

func (q *categoryRequest) validate() error {
	var f fields
	f.text("name", q.Name, 1, 100)
	f.between("position", int64(q.Position), 0, MaxPosition)
	return f.err
}

// createCategory is POST /api/v1/shops/{shop}/categories.
func (a *App) createCategory(w http.ResponseWriter, r *http.Request) error {
	var q categoryRequest
	var c *Category
	v, err := a.shopWrite(w, r, &q, func(ctx context.Context, tx *exec.Tx, s *Shop) ([]string, string, error) {
		c = &Category{ID: a.ids.Next(), ShopID: s.ID, Name: q.Name, Position: q.Position}
		_, err := tx.Exec(ctx, insertCategorySQL, c.ID, c.ShopID, c.Name, c.Position)
		return []string{keyMenu(s.ID)}, "category.created", err
	})
	if err != nil {
		return err
	}
	return written(w, http.StatusCreated, v, c)
}

// dishRequest is the body of POST …/dishes and PUT …/dishes/{dish}: every
// field of the dish (PUT replaces the dish).
type dishRequest struct {
	CategoryID  int64  `json:"category_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	PriceCents  *int64 `json:"price_cents"`
	OnSale      *bool  `json:"on_sale"`
}

func (q *dishRequest) validate() error {
	var f fields
	f.id("category_id", q.CategoryID)
	f.text("name", q.Name, 1, 200)
	f.text("description", q.Description, 0, 2000)
	f.present("price_cents", q.PriceCents != nil)
	f.present("on_sale", q.OnSale != nil)
	if f.err == nil {
		f.between("price_cents", *q.PriceCents, 0, MaxPriceCents)
	}
	return f.err
}

// apply sets the request's fields on d.
func (q *dishRequest) apply(d *Dish) {
	d.CategoryID, d.Name, d.Description = q.CategoryID, q.Name, q.Description
	d.PriceCents, d.OnSale = *q.PriceCents, *q.OnSale
	d.UpdatedAt = now()
}

// createDish is POST /api/v1/shops/{shop}/dishes.
func (a *App) createDish(w http.ResponseWriter, r *http.Request) error {
	var q dishRequest
	var d *Dish
	v, err := a.shopWrite(w, r, &q, func(ctx context.Context, tx *exec.Tx, s *Shop) ([]string, string, error) {
		if err := checkCategory(ctx, tx, s.ID, q.CategoryID); err != nil {
			return nil, "", err
		}
		d = &Dish{ID: a.ids.Next(), ShopID: s.ID}
		q.apply(d)
		d.CreatedAt = d.UpdatedAt
		_, err := tx.Exec(ctx, insertDishSQL, d.ID, d.ShopID, d.CategoryID, d.Name, d.Description, d.PriceCents, d.OnSale, d.CreatedAt, d.UpdatedAt)
		return []string{keyMenu(s.ID)}, "dish.created", err
	})
	if err != nil {
		return err
	}
	return written(w, http.StatusCreated, v, d)
}

// putDish is PUT /api/v1/shops/{shop}/dishes/{dish}.
func (a *App) putDish(w http.ResponseWriter, r *http.Request) error {
	dishID, err := staffAndPathID(r, "dish")
	if err != nil {
		return err
	}
	var q dishRequest
	var out *Dish
	v, err := a.shopWrite(w, r, &q, func(ctx context.Context, tx *exec.Tx, s *Shop) ([]string, string, error) {
		d, err := lockShopDish(ctx, tx, s.ID, dishID)
		if err == nil {
			err = checkCategory(ctx, tx, s.ID, q.CategoryID)
		}
		if err != nil {
			return nil, "", err
		}
		q.apply(d)
		_, err = tx.Exec(ctx, updateDishSQL, d.CategoryID, d.Name, d.Description, d.PriceCents, d.OnSale, d.UpdatedAt, d.ID)
		out = d
		return []string{keyMenu(s.ID)}, "dish.updated", err
	})
	if err != nil {
		return err
	}
	return written(w, http.StatusOK, v, out)
}

// deleteDish is DELETE /api/v1/shops/{shop}/dishes/{dish}. Placed orders
// keep their copy of the dish; carts holding it find it unavailable.
func (a *App) deleteDish(w http.ResponseWriter, r *http.Request) error {
	dishID, err := staffAndPathID(r, "dish")
	if err != nil {
		return err
	}
	v, err := a.shopWrite(w, r, nil, func(ctx context.Context, tx *exec.Tx, s *Shop) ([]string, string, error) {
		if _, err := lockShopDish(ctx, tx, s.ID, dishID); err != nil {
			return nil, "", err
		}
		_, err := tx.Exec(ctx, deleteDishSQL, dishID)
		return []string{keyMenu(s.ID)}, "dish.deleted", err
	})
	if err != nil {
		return err
	}
	return written(w, http.StatusNoContent, v, nil)
}

// staffAndPathID checks the caller before the path, so that a stranger
// learns nothing from a malformed id (401/403 come before 400).
func staffAndPathID(r *http.Request, name string) (int64, error) {
	if _, err := staff(r); err != nil {
		return 0, err
	}
	return pathID(r, name)
}

// lockShopDish reads and locks a dish of shop: 404 unknown_dish when it is
// not there or belongs to another shop.
func lockShopDish(ctx context.Context, tx *exec.Tx, shop, id int64) (*Dish, error) {
	d, err := scanDish(tx.QueryRow(ctx, lockDishSQL, id))
	if err == nil && d.ShopID != shop {
		return nil, errorf(http.StatusNotFound, codeUnknownDish, "shop %d has no dish %d", shop, id)
	}
	return d, ifNoRows(err, errorf(http.StatusNotFound, codeUnknownDish, "shop %d has no dish %d", shop, id))
}

// checkCategory makes sure a category named in a body is the shop's: 422.
func checkCategory(ctx context.Context, tx *exec.Tx, shop, id int64) error {
	c, err := scanCategory(tx.QueryRow(ctx, selectCategorySQL, id))
	if err == nil && c.ShopID != shop {
		return errorf(http.StatusUnprocessableEntity, codeCategoryNotInShop, "category %d belongs to another shop", id)
	}
	return ifNoRows(err, errorf(http.StatusUnprocessableEntity, codeUnknownCategory, "no category %d", id))
}
