package service_test

import (
	"context"
	"testing"
)

// checkLotInvariants checks what lots promise on the database: a member's available lots
// add up to their available balance, their pending lots to their pending balance, and an
// open hold's lots to its points.
func checkLotInvariants(t *testing.T, e *env) {
	t.Helper()
	for what, query := range map[string]string{
		"the unexpired, unspent available lots of every member add up to their available balance": `
			SELECT count(*) FROM accounts a
			WHERE a.member_id IS NOT NULL AND a.name = 'member:' || a.member_id
			AND a.balance <> (SELECT COALESCE(sum(remaining), 0) FROM lots l WHERE l.member_id = a.member_id AND NOT l.pending)`,
		"the pending lots of every member add up to their pending balance": `
			SELECT count(*) FROM accounts a
			WHERE a.member_id IS NOT NULL AND a.name = 'member:' || a.member_id || ':pending'
			AND a.balance <> (SELECT COALESCE(sum(remaining), 0) FROM lots l WHERE l.member_id = a.member_id AND l.pending)`,
		"an open hold's lots add up to its points": `
			SELECT count(*) FROM holds h WHERE h.status = 'placed'
			AND h.points <> (SELECT COALESCE(sum(points), 0) FROM hold_lots hl WHERE hl.hold_id = h.id)`,
		"a lot never holds more than it was credited": `
			SELECT count(*) FROM lots WHERE remaining + expired > points`,
		"a lot expires at most once through the expiry job": `
			SELECT count(*) FROM (SELECT idempotency_key FROM transactions WHERE idempotency_key LIKE 'expire:%' GROUP BY 1 HAVING count(*) > 1) x`,
		"every debt account equals the debts recorded less what was repaid": `
			SELECT count(*) FROM accounts a
			WHERE a.name = 'member:' || a.member_id || ':debt'
			AND a.balance <> (SELECT COALESCE(sum(points), 0) FROM debts d WHERE d.member_id = a.member_id)
				- (SELECT COALESCE(sum(p.amount), 0) FROM postings p WHERE p.source = a.name)`,
	} {
		var bad int64
		if err := e.db.QueryRow(context.Background(), query).Scan(&bad); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if bad != 0 {
			t.Errorf("invariant broken (%d rows): %s", bad, what)
		}
	}
}
