package service_test

// lotInvariants are what lots and debts promise on the database: a member's available
// lots add up to their available balance, their pending lots to their pending balance, an
// open hold's lots to its points, and a debt account to the debts less repayments.
var lotInvariants = []invariant{
	{"the unexpired, unspent available lots of every member add up to their available balance, and their pending lots to pending", `
			WITH l AS (
				SELECT member_id, sum(remaining) FILTER (WHERE NOT pending) AS available, sum(remaining) FILTER (WHERE pending) AS pending
				FROM lots GROUP BY member_id)
			SELECT count(*) FROM accounts a LEFT JOIN l ON l.member_id = a.member_id
			WHERE (a.name = 'member:' || a.member_id AND a.balance <> COALESCE(l.available, 0))
				OR (a.name = 'member:' || a.member_id || ':pending' AND a.balance <> COALESCE(l.pending, 0))`},
	{"an open hold's lots add up to its points", `
			SELECT count(*) FROM holds h LEFT JOIN (SELECT hold_id, sum(points) AS points FROM hold_lots GROUP BY 1) hl ON hl.hold_id = h.id
			WHERE h.status = 'placed' AND h.points <> COALESCE(hl.points, 0)`},
	{"a lot never holds more than it was credited", `
			SELECT count(*) FROM lots WHERE remaining + expired > points`},
	{"a lot expires at most once through the expiry job", `
			SELECT count(*) FROM (SELECT idempotency_key FROM transactions WHERE idempotency_key LIKE 'expire:%' GROUP BY 1 HAVING count(*) > 1) x`},
	{"every debt account equals the debts recorded less what was repaid", `
			WITH d AS (SELECT member_id, sum(points) AS owed FROM debts GROUP BY member_id),
			r AS (SELECT source, sum(amount) AS repaid FROM postings WHERE source LIKE 'member:%:debt' GROUP BY source)
			SELECT count(*) FROM accounts a LEFT JOIN d ON d.member_id = a.member_id LEFT JOIN r ON r.source = a.name
			WHERE a.name = 'member:' || a.member_id || ':debt' AND a.balance <> COALESCE(d.owed, 0) - COALESCE(r.repaid, 0)`},
}
