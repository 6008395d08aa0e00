package app

import (
	"context"
	"time"

	"github.com/cangqiong/cangqiong/sharding/exec"
)

// The API's JSON documents. Ids are JSON numbers (app-made int64 ids, see
// sharding/ids); money is integer cents; times are RFC 3339 in UTC.

// Shop is a shop of the catalog.
type Shop struct {
	ID          int64     `json:"id"`
	OwnerUserID int64     `json:"-"` // shown to its managers only (ManagedShop)
	Name        string    `json:"name"`
	Region      string    `json:"region"`
	IsOpen      bool      `json:"is_open"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ManagedShop is a shop as its managers see it.
type ManagedShop struct {
	*Shop
	OwnerUserID int64 `json:"owner_user_id"`
}

func managed(s *Shop) ManagedShop { return ManagedShop{Shop: s, OwnerUserID: s.OwnerUserID} }

// ShopPage is one page of the shop list.
type ShopPage struct {
	Shops      []*Shop `json:"shops"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// Category groups a shop's dishes on its menu.
type Category struct {
	ID       int64  `json:"id"`
	ShopID   int64  `json:"shop_id"`
	Name     string `json:"name"`
	Position int    `json:"position"`
}

// Dish is something a shop sells.
type Dish struct {
	ID          int64     `json:"id"`
	ShopID      int64     `json:"shop_id"`
	CategoryID  int64     `json:"category_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	PriceCents  int64     `json:"price_cents"`
	OnSale      bool      `json:"on_sale"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Menu is a shop with its categories and the dishes on sale in each;
// categories with no dish on sale are left out.
type Menu struct {
	Shop       *Shop          `json:"shop"`
	Categories []MenuCategory `json:"categories"`
}

// MenuCategory is one category of a Menu.
type MenuCategory struct {
	*Category
	Dishes []*Dish `json:"dishes"`
}

// Profile is a user's own account data.
type Profile struct {
	UserID    int64     `json:"user_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Address is a delivery address of a user.
type Address struct {
	ID         int64     `json:"id"`
	Label      string    `json:"label"`
	Recipient  string    `json:"recipient"`
	Phone      string    `json:"phone"`
	Line1      string    `json:"line1"`
	Line2      string    `json:"line2"`
	City       string    `json:"city"`
	Region     string    `json:"region"`
	PostalCode string    `json:"postal_code"`
	Country    string    `json:"country"`
	IsDefault  bool      `json:"is_default"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Cart is what a user is about to order: the dishes of one shop.
type Cart struct {
	ShopID     int64       `json:"shop_id,omitempty"` // 0 when empty
	Items      []*CartItem `json:"items"`
	TotalCents int64       `json:"total_cents"` // at today's prices
}

// CartItem is one dish in a cart, with the catalog's current name and
// price (which the order will take when it is placed).
type CartItem struct {
	DishID     int64     `json:"dish_id"`
	ShopID     int64     `json:"shop_id"`
	Quantity   int       `json:"quantity"`
	Name       string    `json:"name"`
	PriceCents int64     `json:"unit_price_cents"`
	Available  bool      `json:"available"` // the dish exists and is on sale
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// OrderSummary is an order in a listing.
type OrderSummary struct {
	Ref        string    `json:"ref"` // "<user_id>-<order_id>": the order's name in the API
	ID         int64     `json:"id"`
	UserID     int64     `json:"user_id"`
	ShopID     int64     `json:"shop_id"`
	Status     Status    `json:"status"`
	TotalCents int64     `json:"total_cents"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Order is an order with where it goes, what it holds and its payments.
type Order struct {
	OrderSummary
	Delivery Delivery     `json:"delivery"`
	Items    []*OrderItem `json:"items"`
	Payments []*Payment   `json:"payments"`
}

// Delivery is the address an order goes to, copied from the user's
// address when the order was placed.
type Delivery struct {
	AddressID  int64  `json:"address_id"`
	Recipient  string `json:"recipient"`
	Phone      string `json:"phone"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// OrderItem is one dish of an order at the price it was ordered at.
type OrderItem struct {
	ID         int64  `json:"id"`
	DishID     int64  `json:"dish_id"`
	Name       string `json:"name"`
	PriceCents int64  `json:"unit_price_cents"`
	Quantity   int    `json:"quantity"`
}

// Payment is a charge for an order or the refund of one.
type Payment struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`   // charge or refund
	Status      string    `json:"status"` // succeeded (payments are simulated)
	AmountCents int64     `json:"amount_cents"`
	ProviderRef string    `json:"provider_ref"`
	CreatedAt   time.Time `json:"created_at"`
}

// OrderPage is one page of an order listing, newest first.
type OrderPage struct {
	Orders     []*OrderSummary `json:"orders"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// scanner is a row to read: *exec.Row or *exec.Rows.
type scanner interface{ Scan(dest ...any) error }

// querier runs reads on the executor or inside a transaction.
type querier interface {
	Query(ctx context.Context, query string, args ...any) (*exec.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *exec.Row
}

var (
	_ querier = (*exec.Executor)(nil)
	_ querier = (*exec.Tx)(nil)
)

// queryAll runs a query and reads every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (*T, error), query string, args ...any) ([]*T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
