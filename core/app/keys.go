package app

import "strconv"

// Surrogate keys name what a response shows and what a change touched; an
// edge purges its cached responses by them. The same function builds the
// key for the header of a read and for the outbox row of a write, so the
// two cannot drift apart.

const keyShops = "shops" // every page of the shop list

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func keyRegion(region string) string { return "shops:region:" + region }
func keyShop(id int64) string        { return "shop:" + itoa(id) }
func keyMenu(shop int64) string      { return "menu:" + itoa(shop) }
func keyShopOrders(shop int64) string {
	return "shop:" + itoa(shop) + ":orders"
}
func keyOrder(ref OrderRef) string { return "order:" + ref.String() }

// keyUser names one kind of a user's data: profile, addresses, cart,
// orders.
func keyUser(user int64, what string) string { return "user:" + itoa(user) + ":" + what }

// keysShopChanged are the keys a change of the shop row itself touches:
// its page, its menu (which shows the shop) and the lists.
func keysShopChanged(s *Shop) []string {
	return []string{keyShop(s.ID), keyMenu(s.ID), keyShops, keyRegion(s.Region)}
}

// keysOrderChanged are the keys a change of an order touches: the order,
// its customer's order list and its shop's order list.
func keysOrderChanged(ref OrderRef, shop int64) []string {
	return []string{keyOrder(ref), keyUser(ref.UserID, "orders"), keyShopOrders(shop)}
}
