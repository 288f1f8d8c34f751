package domain

import "strings"

// Programme accounts. They have no stored balance: every posting would update the same row
// and writers would queue behind its lock, so their balances are derived from postings.
const (
	// AccountIssued is where points come from; its balance is minus the points in
	// circulation, so it may go negative.
	AccountIssued      = "program:issued"
	AccountRedeemed    = "program:redeemed"
	AccountExpired     = "program:expired"
	AccountAdjustments = "program:adjustments"
)

// ProgramAccounts lists every programme account.
var ProgramAccounts = []string{AccountIssued, AccountRedeemed, AccountExpired, AccountAdjustments, AccountDebts, AccountGoodwill}

const memberPrefix = "member:"

// AvailableAccount is the member's spendable points.
func AvailableAccount(memberID string) string { return memberPrefix + memberID }

// HoldAccount holds points reserved for redemptions not yet captured.
func HoldAccount(memberID string) string { return memberPrefix + memberID + ":hold" }

// PendingAccount holds points still in their return window.
func PendingAccount(memberID string) string { return memberPrefix + memberID + ":pending" }

// MemberAccounts are the accounts enrolment opens for a member.
func MemberAccounts(memberID string) []string {
	return []string{AvailableAccount(memberID), HoldAccount(memberID), PendingAccount(memberID), DebtAccount(memberID)}
}

// IsMemberAccount reports whether account belongs to a member (and so keeps a stored
// balance that may never go below zero).
func IsMemberAccount(account string) bool { return strings.HasPrefix(account, memberPrefix) }

// Balance is what a member has.
type Balance struct {
	MemberID  string
	Available int64
	Held      int64
	Pending   int64
	// Debt is what the member owes (a return after the points were spent); it is paid
	// back from the next points that become available. DebtFlagged marks a member whose
	// debt repeated.
	Debt        int64
	DebtFlagged bool
}
