package domain

// Redemption is a rewards redemption that completed or was cancelled: what it asks of
// its hold.
type Redemption struct {
	RedemptionID string
	HoldID       string
	// Reason is why it was cancelled; empty for a completion.
	Reason string
}

// SurveyResponse is a submitted survey response, as far as the ledger cares: who earns
// its bonus. MemberRef is "" for an anonymous response.
type SurveyResponse struct {
	ResponseID string
	MemberRef  string
	StoreID    string
}
