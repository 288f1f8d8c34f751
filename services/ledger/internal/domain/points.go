package domain

// ReturnPoints is what a return takes back: the points its refunded amount earns
// (POSRules.Points), capped at what the purchase credited less what earlier returns of it
// already took.
func ReturnPoints(refundPoints, credited, alreadyReturned int64) int64 {
	left := credited - alreadyReturned
	if left <= 0 || refundPoints <= 0 {
		return 0
	}
	return min(refundPoints, left)
}

// SplitDebit divides the points a debit calls for into what the member still has and the
// shortfall they already spent: a member account never goes below zero.
func SplitDebit(points, available int64) (debited, shortfall int64) {
	if points <= 0 {
		return 0, 0
	}
	debited = min(points, max(available, 0))
	return debited, points - debited
}
