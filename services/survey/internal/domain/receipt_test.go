package domain_test

import (
	"testing"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

func TestReceiptInvitation(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 500, time.FixedZone("CET", 3600))
	inv := domain.NewReceiptInvitation("id", domain.DefaultNPSSurveyID, domain.Receipt{
		StoreID: "berlin-01", TransactionID: "T:9", EmployeeID: "E-1", Locale: "de",
	}, now, time.Hour)
	purchase := domain.PurchaseTrigger("ev", "berlin-01", "T:9", "m", now)
	if inv.TriggerKey != purchase.Key || domain.ReceiptKey("berlin-01", "T:9") != purchase.Key {
		t.Errorf("receipt key %q, the purchase's %q: a receipt and its purchase must be one invitation", inv.TriggerKey, purchase.Key)
	}
	if inv.TriggerEventID != "receipt:berlin-01:T:9" || inv.Status != domain.StatusSent || inv.Channel != domain.ChannelReceipt ||
		inv.Touchpoint != domain.TouchpointPurchase || inv.MemberID != "" || inv.EmployeeID != "E-1" || inv.SalesChannel != "STORE" {
		t.Errorf("invitation %+v", inv)
	}
	if !inv.DueAt.Equal(now) || !inv.SentAt.Equal(now) || inv.DueAt.Location() != time.UTC {
		t.Errorf("due %s sent %s, want now in UTC", inv.DueAt, inv.SentAt)
	}
	if want := now.Add(time.Hour).Truncate(time.Second); !inv.ExpiresAt.Equal(want) {
		t.Errorf("expires %s, want %s (whole seconds, as the link)", inv.ExpiresAt, want)
	}
	if err := inv.Answerable(now); err != nil {
		t.Errorf("a receipt's invitation is answerable at once: %v", err)
	}
}
