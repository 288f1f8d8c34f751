package domain

// SurveyResponse is a submitted survey response, as far as the ledger cares: who earns
// its bonus. MemberRef is "" for an anonymous response.
type SurveyResponse struct {
	ResponseID string
	MemberRef  string
	StoreID    string
}
