package domain

import (
	"strings"
	"time"
)

// PurchaseKey identifies a POS transaction: its id is unique per store.
type PurchaseKey struct {
	StoreID       string
	TransactionID string
}

// Reference is how ledger transactions and events name the purchase.
func (k PurchaseKey) Reference() string { return k.StoreID + "/" + k.TransactionID }

// Line is a receipt line, kept with a purchase so that returns can be checked against it.
type Line struct {
	SKU         string `json:"sku"`
	Description string `json:"description,omitempty"`
	Quantity    int32  `json:"quantity"`
	AmountMinor int64  `json:"amount_minor"`
	// Category and Brand are optional, for earning rules.
	Category string `json:"category,omitempty"`
	Brand    string `json:"brand,omitempty"`
}

// Purchase is a POS sale as the ledger keeps it.
type Purchase struct {
	Key     PurchaseKey
	EventID string
	// MemberRef is the member id as the POS sent it; "" for an anonymous sale.
	MemberRef string
	// MemberID is the enrolled member it names, "" when anonymous or unknown.
	MemberID   string
	OccurredAt time.Time
	Currency   string
	TotalMinor int64
	Lines      []Line
	// Channel is where it was made: "store", "web" or "" when the POS did not say.
	Channel string
	// EmployeeID is the POS's staff id of who served the customer, "" when not given
	// (not stored: it travels on PurchaseMatched).
	EmployeeID string
	// Points credited for it, and taken back by its returns so far.
	Points         int64
	PointsReturned int64
	// LedgerTxID is the credit's transaction, "" when nothing was credited.
	LedgerTxID string
}

// MatchedByIdentifier reports whether the purchase named its member by an identifier
// (card, email, phone) and was matched to a member.
func (p Purchase) MatchedByIdentifier() bool {
	if p.MemberID == "" {
		return false
	}
	r, ok := ParseMemberRef(p.MemberRef)
	return ok && r.MemberID == ""
}

// CreditKey is the idempotency key of the purchase's credit.
func (p Purchase) CreditKey() string { return "purchase:" + p.Key.Reference() }

// ReturnKey identifies a POS return: its id is unique per store.
type ReturnKey struct {
	StoreID  string
	ReturnID string
}

// Reference is how ledger transactions and events name the return.
func (k ReturnKey) Reference() string { return k.StoreID + "/" + k.ReturnID }

// Return is a POS return as the ledger keeps it.
type Return struct {
	Key                   ReturnKey
	OriginalTransactionID string
	EventID               string
	MemberRef             string
	OccurredAt            time.Time
	Currency              string
	TotalMinor            int64
	Lines                 []Line
	// Deliveries counts the attempts to book it (not stored): a return waits a few for
	// its purchase, since events of different subjects are not ordered.
	Deliveries int

	// The outcome: the member debited, the points the return called for, what the
	// member still had (Debited) and what they had already spent (Shortfall).
	MemberID  string
	Points    int64
	Debited   int64
	Shortfall int64
	// Orphan is set when it was booked from its own amount, its purchase being unknown.
	Orphan     bool
	LedgerTxID string
}

// Original is the key of the purchase the goods were bought in (same store).
func (r Return) Original() PurchaseKey {
	return PurchaseKey{StoreID: r.Key.StoreID, TransactionID: r.OriginalTransactionID}
}

// DebitKey is the idempotency key of the return's debit.
func (r Return) DebitKey() string { return "return:" + r.Key.Reference() }

// CanonicalUUID returns the UUID ref spells (a member id, say), in the canonical lower-case
// 8-4-4-4-12 form, or false when ref is not a UUID (and so names no member).
func CanonicalUUID(ref string) (string, bool) {
	hex := ref
	switch len(ref) {
	case 36:
		if ref[8] != '-' || ref[13] != '-' || ref[18] != '-' || ref[23] != '-' {
			return "", false
		}
		hex = ref[0:8] + ref[9:13] + ref[14:18] + ref[19:23] + ref[24:]
	case 32:
	default:
		return "", false
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
	}
	hex = strings.ToLower(hex)
	return hex[0:8] + "-" + hex[8:12] + "-" + hex[12:16] + "-" + hex[16:20] + "-" + hex[20:], true
}
