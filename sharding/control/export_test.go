package control

// Statements lists every statement the store issues, for the tests that
// parse each with TiDB's parser and run each on MariaDB.
var Statements = []string{
	selectMapSQL, selectMapLockedSQL, insertMapSQL, updateMapSQL, insertHistorySQL, selectHistorySQL,
}
