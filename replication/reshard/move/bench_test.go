package move

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// BenchmarkCopy copies orders (16 columns) and order_items (7) between two
// MariaDB shards: every user (every row written), and a third of the users
// (the usual share when a shard joins three: the scan dominates).
// bench: go test -run '^$' -bench Copy -benchtime 3x ./replication/reshard/move/
func BenchmarkCopy(b *testing.B) {
	c := shardtest.Start(b, shardtest.Options{Shards: 2})
	src, dst := c.Direct(b, "shard-0"), c.Direct(b, "shard-1")
	const users, ordersPerUser = 2000, 5
	loadOrders(b, src, users, ordersPerUser)
	tables, err := Tables(context.Background(), src)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		filter func(int64) bool
	}{
		{"all", func(int64) bool { return true }},
		{"third", func(u int64) bool { return u%3 == 0 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var p Progress
			var elapsed time.Duration
			for range b.N {
				b.StopTimer()
				clearTables(b, dst, tables)
				copier, err := NewCopier(Config{Source: src, Target: dst, Tables: tables, Filter: bc.filter, Logger: quiet})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				if p, err = copier.Copy(context.Background(), Progress{}); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
			}
			secs := elapsed.Seconds()
			b.ReportMetric(float64(p.Rows)*float64(b.N)/secs, "rows/s")
			b.ReportMetric(float64(p.Scanned)*float64(b.N)/secs, "scanned/s")
		})
	}
}

// loadOrders writes users × perUser orders with two items each, straight
// into db, a thousand rows a statement.
func loadOrders(b *testing.B, db *sql.DB, users, perUser int) {
	b.Helper()
	var orders, items []string
	flush := func(force bool) {
		for _, batch := range []struct {
			rows *[]string
			head string
		}{
			{&orders, "INSERT INTO orders (user_id, id, shop_id, status, total_cents, address_id, delivery_recipient, delivery_phone, delivery_line1, delivery_line2, delivery_city, delivery_region, delivery_postal_code, delivery_country, created_at, updated_at) VALUES "},
			{&items, "INSERT INTO order_items (user_id, order_id, id, dish_id, name, unit_price_cents, quantity) VALUES "},
		} {
			if len(*batch.rows) == 0 || !force && len(*batch.rows) < 1000 {
				continue
			}
			if _, err := db.Exec(batch.head + strings.Join(*batch.rows, ", ")); err != nil {
				b.Fatal(err)
			}
			*batch.rows = (*batch.rows)[:0]
		}
	}
	for u := 1; u <= users; u++ {
		for o := 1; o <= perUser; o++ {
			id := u*100 + o
			orders = append(orders, fmt.Sprintf("(%d, %d, 7, 'delivered', 2500, %d, 'Recipient Name', '+86 571 5550 1234', 'No. 1 West Lake Road', 'Apt 5', 'Hangzhou', 'Zhejiang', '310000', 'CN', '2026-01-02 03:04:05.123456', '2026-01-02 03:14:05.654321')", u, id, u*100))
			items = append(items, fmt.Sprintf("(%d, %d, 1, 11, 'Dongpo pork', 4800, 1)", u, id), fmt.Sprintf("(%d, %d, 2, 12, 'Longjing tea', 1200, 2)", u, id))
		}
		flush(false)
	}
	flush(true)
}
