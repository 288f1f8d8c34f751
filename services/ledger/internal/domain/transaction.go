package domain

import "time"

// Kind says what a transaction does.
type Kind string

const (
	KindCredit  Kind = "credit"  // programme → member
	KindDebit   Kind = "debit"   // member → programme
	KindHold    Kind = "hold"    // member → hold
	KindCapture Kind = "capture" // hold → redeemed
	KindVoid    Kind = "void"    // hold → member
)

// Reason says why points moved.
type Reason string

const (
	ReasonNone        Reason = ""
	ReasonPurchase    Reason = "purchase"
	ReasonReturn      Reason = "return"
	ReasonSurveyBonus Reason = "survey_bonus"
	ReasonAdjustment  Reason = "adjustment"
	ReasonExpiry      Reason = "expiry"
)

// Posting moves Amount (> 0) points from Source to Destination.
type Posting struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Amount      int64  `json:"amount"`
}

// Transaction is an append-only, balanced set of postings, applied once per
// IdempotencyKey.
type Transaction struct {
	ID             string
	IdempotencyKey string
	Kind           Kind
	Reason         Reason
	Reference      string
	MemberID       string
	CreatedAt      time.Time
	Postings       []Posting
}

// Transfer returns a transaction of one posting.
func Transfer(id, key string, kind Kind, reason Reason, reference, memberID string, at time.Time, from, to string, amount int64) Transaction {
	return Transaction{
		ID: id, IdempotencyKey: key, Kind: kind, Reason: reason, Reference: reference,
		MemberID: memberID, CreatedAt: at,
		Postings: []Posting{{Source: from, Destination: to, Amount: amount}},
	}
}

// AvailableChange is the signed change the transaction makes to the member's available
// balance: negative for a debit or a hold.
func (t Transaction) AvailableChange(memberID string) int64 {
	acct := AvailableAccount(memberID)
	var n int64
	for _, p := range t.Postings {
		if p.Destination == acct {
			n += p.Amount
		}
		if p.Source == acct {
			n -= p.Amount
		}
	}
	return n
}

// BalanceChanges sums the postings of txs per member account (the accounts with stored
// balances). Programme accounts are left out: their balances are derived.
func BalanceChanges(txs []Transaction) map[string]int64 {
	out := map[string]int64{}
	for _, t := range txs {
		for _, p := range t.Postings {
			if IsMemberAccount(p.Source) {
				out[p.Source] -= p.Amount
			}
			if IsMemberAccount(p.Destination) {
				out[p.Destination] += p.Amount
			}
		}
	}
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}
