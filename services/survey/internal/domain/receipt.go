package domain

import "time"

// Receipt is a purchase whose receipt carries a survey link.
type Receipt struct {
	StoreID       string
	TransactionID string
	MemberID      string // "" for an anonymous purchase
	EmployeeID    string
	Locale        string
}

// ReceiptKey is the trigger key of a receipt: the same key as its purchase's trigger, so
// a receipt and an invitation the purchase earned are one invitation, answered once.
func ReceiptKey(storeID, transactionID string) string {
	return PurchaseTrigger("", storeID, transactionID, "", time.Time{}).Key
}

// NewReceiptInvitation is the invitation printed on a receipt: sent (on paper) and due
// at once, valid for ttl (cut to whole seconds, the precision of its link).
func NewReceiptInvitation(id, surveyID string, r Receipt, now time.Time, ttl time.Duration) Invitation {
	now = now.UTC()
	return Invitation{
		ID:             id,
		SurveyID:       surveyID,
		MemberID:       r.MemberID,
		Locale:         r.Locale,
		Touchpoint:     TouchpointPurchase,
		StoreID:        r.StoreID,
		TriggerEventID: "receipt:" + r.StoreID + ":" + r.TransactionID,
		TriggerKey:     ReceiptKey(r.StoreID, r.TransactionID),
		ExpiresAt:      now.Add(ttl).Truncate(time.Second),
		CreatedAt:      now,
		Status:         StatusSent,
		DueAt:          now,
		SurveyVersion:  1,
		Channel:        ChannelReceipt,
		EmployeeID:     r.EmployeeID,
		SalesChannel:   "STORE",
		SentAt:         now,
	}
}
