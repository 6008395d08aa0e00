package app_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/cangqiong/cangqiong/core/app"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/ids"
)

func ExampleParseOrderRef() {
	ref, err := app.ParseOrderRef("42-7001")
	fmt.Println(ref.UserID, ref.OrderID, err)
	_, err = app.ParseOrderRef("042-7001") // one spelling per order
	fmt.Println(errors.Is(err, app.ErrBadOrderRef))
	// Output:
	// 42 7001 <nil>
	// true
}

func ExampleCachePolicy_Header() {
	fmt.Println(app.DefaultConfig().Catalog.Header())
	fmt.Println(app.CachePolicy{SMaxAge: 5 * time.Minute, StaleIfError: -1}.Header())
	// Output:
	// public, s-maxage=60, stale-while-revalidate=30, stale-if-error=600
	// public, s-maxage=300, stale-while-revalidate=30
}

func ExampleStatus_CanBecome() {
	fmt.Println(app.StatusPaid.CanBecome(app.StatusCancelled))
	fmt.Println(app.StatusDelivering.CanBecome(app.StatusCancelled))
	// Output:
	// true
	// false
}

// A core node serves the API over the executor it routes with. (Not run:
// it needs the shards.)
func ExampleNew() {
	var executor *exec.Executor // exec.New over the node's shard map
	gen, err := ids.New(7)      // this node's number, unique among live nodes
	if err != nil {
		log.Fatal(err)
	}
	cfg := app.DefaultConfig()
	cfg.Exec, cfg.IDs = executor, gen
	a, err := app.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", a.Handler()))
}
