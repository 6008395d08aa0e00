package control

import "time"

// RelayStatements lists every statement the lease and ack stores issue,
// for the tests that parse each with TiDB's parser and run each on MariaDB.
var RelayStatements = []string{
	selectLeasesSQL, insertLeaseSQL, takeLeaseSQL, renewLeaseSQL, releaseLeaseSQL,
	insertAcksSQL, insertAcksStatement(3), selectAcksSQL, forgetAcksSQL,
}

// SetAckClock replaces the clock an AckStore stamps acknowledgements with.
func SetAckClock(s *AckStore, now func() time.Time) { s.now = now }
