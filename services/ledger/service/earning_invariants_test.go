package service_test

// earningInvariants are what campaigns promise on the database, whatever ran: a budget
// is never overspent, and what a campaign has spent is exactly what the parts of the
// credits its rules produced awarded (returns take points back from members, not from
// the budget).
var earningInvariants = []invariant{
	{"no campaign has spent more than its budget", `
		SELECT count(*) FROM campaigns WHERE spent_points < 0 OR (budget_points > 0 AND spent_points > budget_points)`},
	{"what each campaign spent is what its parts of the credit breakdowns awarded", `
		WITH parts AS (
			SELECT p->>'campaign_id' AS campaign_id, sum((p->>'points')::int8) AS points
			FROM credit_breakdowns b, json_array_elements(b.parts) p
			WHERE p->>'campaign_id' IS NOT NULL GROUP BY 1)
		SELECT count(*) FROM campaigns c LEFT JOIN parts ON parts.campaign_id = c.id::text
		WHERE c.spent_points <> COALESCE(parts.points, 0)`},
	{"every credit breakdown adds up to what its credit moved", `
		WITH b AS (
			SELECT b.transaction_id, sum((p->>'points')::int8) AS points
			FROM credit_breakdowns b, json_array_elements(b.parts) p GROUP BY 1),
		moved AS (
			SELECT transaction_id, sum(amount) AS points FROM postings
			WHERE transaction_id IN (SELECT transaction_id FROM b) GROUP BY 1)
		SELECT count(*) FROM b LEFT JOIN moved m ON m.transaction_id = b.transaction_id
		WHERE b.points <> COALESCE(m.points, 0)`},
}
