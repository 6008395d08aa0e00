package move_test

import (
	"encoding/json"
	"fmt"

	"github.com/cangqiong/cangqiong/replication/reshard/move"
)

// A coordinator persists the Progress its Copier reports and hands it back
// to Copy to resume, on any node.
func ExampleProgress() {
	p := move.Progress{
		Done:    []string{"users", "addresses"},
		Table:   "cart_items",
		After:   move.Key{int64(9007199254740993), int64(12)}, // past 2^53: kept exactly
		Scanned: 52000, Rows: 17000, Users: 4100,
	}
	b, _ := json.Marshal(p)
	fmt.Println(string(b))

	var resumed move.Progress
	_ = json.Unmarshal(b, &resumed)
	fmt.Println(resumed.After[0].(int64) == 9007199254740993)
	// Output:
	// {"done":["users","addresses"],"table":"cart_items","after":["i:9007199254740993","i:12"],"scanned":52000,"rows":17000,"users":4100}
	// true
}
