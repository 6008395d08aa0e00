package ring_test

import (
	"fmt"

	"github.com/cangqiong/cangqiong/sharding/ring"
)

func Example() {
	r, err := ring.New([]ring.Member{
		{ID: "shard-b", Weight: 1},
		{ID: "shard-a", Weight: 2}, // twice the capacity
	}, ring.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Publish the ring; request handlers Load it without locks.
	var current ring.Holder
	current.Store(r)

	fmt.Println(current.Load().Owner(42))
	fmt.Println(r.Members()[r.OwnerIndex(7)].ID)
	rs := r.Ranges()
	fmt.Printf("first range starts at %d, last ends at %#x\n", rs[0].Start, rs[len(rs)-1].End)
	// Output:
	// shard-b
	// shard-a
	// first range starts at 0, last ends at 0xffffffffffffffff
}

func ExampleNew_errors() {
	_, err := ring.New([]ring.Member{{ID: "a", Weight: 1}, {ID: "a", Weight: 1}}, ring.Options{})
	fmt.Println(err)
	// Output:
	// ring: duplicate member id: member 1 (id "a")
}
