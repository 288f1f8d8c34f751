package domain

// Redemption is a rewards redemption that completed or was cancelled: what it asks of
// its hold.
type Redemption struct {
	RedemptionID string
	HoldID       string
	// Reason is why it was cancelled; empty for a completion.
	Reason string
}
