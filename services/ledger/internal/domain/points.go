package domain

// ReturnPoints is what a return takes back: the rate applied to the refunded amount,
// capped at what the purchase credited less what earlier returns of it already took.
func ReturnPoints(rate Rate, refundMinor, credited, alreadyReturned int64) int64 {
	left := credited - alreadyReturned
	if left <= 0 {
		return 0
	}
	return min(rate.Points(refundMinor), left)
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
