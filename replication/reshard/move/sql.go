package move

import "strings"

// The statements the package sends, built from a Table. Identifiers are
// back-quoted. Every statement takes its values as placeholders, which the
// driver interpolates (dbconn's DSN), so a statement's text depends only on
// the table and on how many rows or users it carries.

// quote back-quotes an identifier.
func quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// placeholders returns "?, ?, …" (n of them).
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func (t Table) selectFrom() string {
	return "SELECT " + quoteAll(t.Columns) + " FROM " + quote(t.Name)
}

func (t Table) orderByKey() string { return " ORDER BY " + quoteAll(t.Key) }

// scanFirstSQL reads the first batch of a table in key order.
// Args: limit.
func (t Table) scanFirstSQL() string {
	return t.selectFrom() + t.orderByKey() + " LIMIT ?"
}

// scanAfterSQL reads the next batch after a key. Args: afterArgs(key), limit.
//
// The condition is the row comparison (k1, k2, k3) > (?, ?, ?) written out
// as k1 > ? OR (k1 = ? AND k2 > ?) OR (k1 = ? AND k2 = ? AND k3 > ?):
// MariaDB 10.11 does not turn a row comparison into an index range (EXPLAIN
// says type=index: each batch would walk the key from the start, which is
// quadratic over a table), while it does turn the disjunction into one range
// starting at the key, as TiDB's range builder does.
func (t Table) scanAfterSQL() string {
	return t.selectFrom() + " WHERE " + t.afterCondition() + t.orderByKey() + " LIMIT ?"
}

func (t Table) afterCondition() string {
	terms := make([]string, len(t.Key))
	for i := range t.Key {
		var conj []string
		for _, k := range t.Key[:i] {
			conj = append(conj, quote(k)+" = ?")
		}
		conj = append(conj, quote(t.Key[i])+" > ?")
		terms[i] = strings.Join(conj, " AND ")
		if i > 0 {
			terms[i] = "(" + terms[i] + ")"
		}
	}
	return strings.Join(terms, " OR ")
}

// afterArgs are the arguments of afterCondition for key.
func afterArgs(key Key) []any {
	var args []any
	for i := range key {
		args = append(args, key[:i+1]...)
	}
	return args
}

// upsertSQL writes rows rows, replacing a row the target already has: a
// copy done again, or resumed after a batch that was written but whose
// progress was not kept, changes nothing.
func (t Table) upsertSQL(rows int) string {
	row := "(" + placeholders(len(t.Columns)) + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + quote(t.Name) + " (" + quoteAll(t.Columns) + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ON DUPLICATE KEY UPDATE " + t.updateList())
	return b.String()
}

// updateList sets every non-key column from the new row; a table of key
// columns only sets user_id to itself.
func (t Table) updateList() string {
	var set []string
	for _, c := range t.Columns {
		if !isKey(t, c) {
			set = append(set, quote(c)+" = VALUES("+quote(c)+")")
		}
	}
	if len(set) == 0 {
		set = append(set, quote(UserColumn)+" = VALUES("+quote(UserColumn)+")")
	}
	return strings.Join(set, ", ")
}

func isKey(t Table, column string) bool {
	for _, k := range t.Key {
		if k == column {
			return true
		}
	}
	return false
}

func (t Table) usersIn(n int) string {
	return quote(UserColumn) + " IN (" + placeholders(n) + ")"
}

// selectUsersSQL reads n users' rows in key order. Args: the users.
func (t Table) selectUsersSQL(n int) string {
	return t.selectFrom() + " WHERE " + t.usersIn(n) + t.orderByKey()
}

// deleteUsersSQL deletes n users' rows (inside Recopy's target
// transaction). Args: the users.
func (t Table) deleteUsersSQL(n int) string {
	return "DELETE FROM " + quote(t.Name) + " WHERE " + t.usersIn(n)
}

// deleteUsersBatchSQL deletes at most a limit of n users' rows, in key
// order so that the statement is deterministic (statement-based binlogs
// accept it). Args: the users, limit.
func (t Table) deleteUsersBatchSQL(n int) string {
	return t.deleteUsersSQL(n) + t.orderByKey() + " LIMIT ?"
}

// deleteKeySQL deletes one row by its primary key. Args: the key's values.
func (t Table) deleteKeySQL() string {
	conds := make([]string, len(t.Key))
	for i, k := range t.Key {
		conds[i] = quote(k) + " = ?"
	}
	return "DELETE FROM " + quote(t.Name) + " WHERE " + strings.Join(conds, " AND ")
}

// distinctUsersSQL lists the table's users from one on: a loose scan of the
// primary key ("Using index for group-by"). Args: from, limit.
func (t Table) distinctUsersSQL() string {
	u := quote(UserColumn)
	return "SELECT DISTINCT " + u + " FROM " + quote(t.Name) + " WHERE " + u + " >= ? ORDER BY " + u + " LIMIT ?"
}

// statements lists every statement the package builds for t, with n rows or
// users where the text depends on it, so tests parse and run each.
func (t Table) statements(n int) []string {
	return []string{
		t.scanFirstSQL(), t.scanAfterSQL(), t.upsertSQL(n), t.selectUsersSQL(n),
		t.deleteUsersSQL(n), t.deleteUsersBatchSQL(n), t.deleteKeySQL(), t.distinctUsersSQL(),
	}
}
