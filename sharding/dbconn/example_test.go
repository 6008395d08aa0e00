package dbconn_test

import (
	"fmt"

	"github.com/cangqiong/cangqiong/sharding/dbconn"
)

func ExampleDSN() {
	fmt.Println(dbconn.DSN("127.0.0.1:4000", "cangqiong", dbconn.Credentials{}))
	// Output: root@tcp(127.0.0.1:4000)/cangqiong?collation=utf8mb4_bin&interpolateParams=true&parseTime=true&timeout=5s&time_zone=%27%2B00%3A00%27
}

func ExampleCredentials() {
	c := dbconn.Credentials{User: "app", Password: "s3cret"}
	fmt.Println(c)
	// Output: app (password set)
}
