package domain

// MemberExport is everything the ledger holds about a member, for the right of access.
// Member is nil when the ledger knows no such member; then the rest is empty too.
type MemberExport struct {
	Member       *Member
	Balance      Balance
	Transactions []Transaction
	Holds        []Hold
	Purchases    []Purchase
	Returns      []Return
	// Unmatched are purchases that named the member after the erasure: kept, never
	// credited.
	Unmatched []Purchase
	// Profile is the member's identifiers, tags and attributes; Consents their consent
	// history, newest first.
	Profile  Profile
	Consents []ConsentRecord
}
