package app

import "strings"

// Every statement the package runs, in one place: statements_test.go
// parses each with TiDB's parser and checks where the router sends it;
// the integration tests run them on MariaDB. Constants ending in SQL are
// statements; the *Cols constants are their column lists, in the order the
// scan functions of model.go read them.

const (
	shopCols     = "id, owner_user_id, name, region, is_open, created_at, updated_at"
	categoryCols = "id, shop_id, name, position"
	dishCols     = "id, shop_id, category_id, name, description, price_cents, on_sale, created_at, updated_at"
	profileCols  = "user_id, name, email, phone, role, created_at, updated_at"
	addressCols  = "user_id, id, label, recipient, phone, line1, line2, city, region, postal_code, country, is_default, created_at, updated_at"
	cartCols     = "dish_id, shop_id, quantity, created_at, updated_at"
	summaryCols  = "user_id, id, shop_id, status, total_cents, created_at, updated_at"
	orderCols    = summaryCols + ", address_id, delivery_recipient, delivery_phone, delivery_line1, delivery_line2, delivery_city, delivery_region, delivery_postal_code, delivery_country"
	itemCols     = "id, dish_id, name, unit_price_cents, quantity"
	paymentCols  = "id, kind, status, amount_cents, provider_ref, created_at"
)

// Catalog, global keyspace.
const (
	selectShopSQL          = "SELECT " + shopCols + " FROM shops WHERE id = ?"
	lockShopSQL            = "SELECT " + shopCols + " FROM shops WHERE id = ? FOR UPDATE"
	listShopsSQL           = "SELECT " + shopCols + " FROM shops WHERE id > ? ORDER BY id LIMIT ?"
	listRegionShopsSQL     = "SELECT " + shopCols + " FROM shops WHERE region = ? AND id > ? ORDER BY id LIMIT ?"
	insertShopSQL          = "INSERT INTO shops (" + shopCols + ") VALUES (?, ?, ?, ?, ?, ?, ?)"
	setShopOpenSQL         = "UPDATE shops SET is_open = ?, updated_at = ? WHERE id = ?"
	listCategoriesSQL      = "SELECT " + categoryCols + " FROM categories WHERE shop_id = ? ORDER BY position, id"
	selectCategorySQL      = "SELECT " + categoryCols + " FROM categories WHERE id = ?"
	insertCategorySQL      = "INSERT INTO categories (" + categoryCols + ") VALUES (?, ?, ?, ?)"
	listDishesOnSaleSQL    = "SELECT " + dishCols + " FROM dishes WHERE shop_id = ? AND on_sale = 1 ORDER BY category_id, id"
	selectDishSQL          = "SELECT " + dishCols + " FROM dishes WHERE id = ?"
	lockDishSQL            = "SELECT " + dishCols + " FROM dishes WHERE id = ? FOR UPDATE"
	insertDishSQL          = "INSERT INTO dishes (" + dishCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
	updateDishSQL          = "UPDATE dishes SET category_id = ?, name = ?, description = ?, price_cents = ?, on_sale = ?, updated_at = ? WHERE id = ?"
	deleteDishSQL          = "DELETE FROM dishes WHERE id = ?"
	selectDishesByIDPrefix = "SELECT " + dishCols + " FROM dishes WHERE id IN ("
)

// dishesByIDSQL reads n dishes by id (n >= 1): one statement text per n,
// and n is bounded by MaxCartLines, so the router's plan cache holds them.
func dishesByIDSQL(n int) string {
	return selectDishesByIDPrefix + placeholders(n) + ")"
}

// Profile, addresses and cart: the user's shard.
const (
	selectProfileSQL = "SELECT " + profileCols + " FROM users WHERE user_id = ?"
	upsertProfileSQL = "INSERT INTO users (" + profileCols + ") VALUES (?, ?, ?, ?, ?, ?, ?) " +
		"ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email), phone = VALUES(phone), role = VALUES(role), updated_at = VALUES(updated_at)"

	listAddressesSQL         = "SELECT " + addressCols + " FROM addresses WHERE user_id = ? ORDER BY id LIMIT ?"
	selectAddressSQL         = "SELECT " + addressCols + " FROM addresses WHERE user_id = ? AND id = ?"
	lockAddressSQL           = "SELECT " + addressCols + " FROM addresses WHERE user_id = ? AND id = ? FOR UPDATE"
	countAddressesSQL        = "SELECT COUNT(*) FROM addresses WHERE user_id = ? FOR UPDATE"
	insertAddressSQL         = "INSERT INTO addresses (" + addressCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	updateAddressSQL         = "UPDATE addresses SET label = ?, recipient = ?, phone = ?, line1 = ?, line2 = ?, city = ?, region = ?, postal_code = ?, country = ?, is_default = ?, updated_at = ? WHERE user_id = ? AND id = ?"
	clearDefaultAddressesSQL = "UPDATE addresses SET is_default = 0, updated_at = ? WHERE user_id = ? AND is_default = 1 AND id <> ?"
	deleteAddressSQL         = "DELETE FROM addresses WHERE user_id = ? AND id = ?"

	listCartSQL       = "SELECT " + cartCols + " FROM cart_items WHERE user_id = ? ORDER BY dish_id"
	lockCartSQL       = "SELECT " + cartCols + " FROM cart_items WHERE user_id = ? ORDER BY dish_id FOR UPDATE"
	upsertCartItemSQL = "INSERT INTO cart_items (user_id, " + cartCols + ") VALUES (?, ?, ?, ?, ?, ?) " +
		"ON DUPLICATE KEY UPDATE shop_id = VALUES(shop_id), quantity = VALUES(quantity), updated_at = VALUES(updated_at)"
	deleteCartItemSQL = "DELETE FROM cart_items WHERE user_id = ? AND dish_id = ?"
	clearCartSQL      = "DELETE FROM cart_items WHERE user_id = ?"
)

// Orders, payments and idempotency keys: the user's shard, except the
// merchant's listing, which scatters over every shard.
const (
	claimIdemKeySQL  = "INSERT INTO idempotency_keys (user_id, idem_key, request_hash, response_status, response_body, created_at) VALUES (?, ?, ?, NULL, NULL, ?)"
	storeIdemRespSQL = "UPDATE idempotency_keys SET response_status = ?, response_body = ? WHERE user_id = ? AND idem_key = ?"
	selectIdemKeySQL = "SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE user_id = ? AND idem_key = ?"

	insertOrderSQL = "INSERT INTO orders (" + orderCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	selectOrderSQL = "SELECT " + orderCols + " FROM orders WHERE user_id = ? AND id = ?"
	lockOrderSQL   = "SELECT " + orderCols + " FROM orders WHERE user_id = ? AND id = ? FOR UPDATE"
	// The status guard makes a transition happen once, from the state the
	// handler checked, whatever runs concurrently.
	setOrderStatusSQL    = "UPDATE orders SET status = ?, updated_at = ? WHERE user_id = ? AND id = ? AND status = ?"
	selectOrderStatusSQL = "SELECT status FROM orders WHERE user_id = ? AND id = ?"
	listItemsSQL         = "SELECT " + itemCols + " FROM order_items WHERE user_id = ? AND order_id = ? ORDER BY id"
	listPaymentsSQL      = "SELECT " + paymentCols + " FROM payments WHERE user_id = ? AND order_id = ? ORDER BY id"
	insertPaymentSQL     = "INSERT INTO payments (user_id, order_id, " + paymentCols + ", updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

	insertItemsPrefix = "INSERT INTO order_items (user_id, order_id, " + itemCols + ") VALUES "
	itemRow           = "(?, ?, ?, ?, ?, ?, ?)"

	// Newest first by (created_at, id); the cursor variants start after
	// the last row of the previous page.
	listUserOrdersSQL      = "SELECT " + summaryCols + " FROM orders WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"
	listUserOrdersAfterSQL = "SELECT " + summaryCols + " FROM orders WHERE user_id = ? AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?"
	listShopOrdersSQL      = "SELECT " + summaryCols + " FROM orders WHERE shop_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"
	listShopOrdersAfterSQL = "SELECT " + summaryCols + " FROM orders WHERE shop_id = ? AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?"
)

// insertItemsSQL inserts n order items (n >= 1) in one statement.
func insertItemsSQL(n int) string {
	return insertItemsPrefix + strings.Repeat(itemRow+", ", n-1) + itemRow
}

// placeholders is "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.Repeat("?, ", n-1) + "?"
}
