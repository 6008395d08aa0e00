package ids_test

import (
	"fmt"
	"log"
	"time"

	"github.com/cangqiong/cangqiong/sharding/ids"
)

func Example() {
	gen, err := ids.New(42) // this process's node number, unique among live nodes
	if err != nil {
		log.Fatal(err)
	}
	a, b := gen.Next(), gen.Next()
	fmt.Println("increasing:", b > a)
	fmt.Println("node:", ids.Node(a))
	fmt.Println("recent:", time.Since(ids.Time(a)) < time.Minute)
	// Output:
	// increasing: true
	// node: 42
	// recent: true
}

func ExampleNew_outOfRange() {
	_, err := ids.New(ids.MaxNode + 1)
	fmt.Println(err)
	// Output: ids: node out of range: 1024 (max 1023)
}
