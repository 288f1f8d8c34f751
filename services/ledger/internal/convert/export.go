package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/treue/treue/pkg/privacy"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// Export is the member's export as the JSON of ExportMemberResponse.data (the struct
// tags below name its fields): an empty object for a member the ledger does not know.
func Export(x domain.MemberExport) (*structpb.Struct, error) {
	if x.Member == nil {
		return &structpb.Struct{Fields: map[string]*structpb.Value{}}, nil
	}
	m := x.Member
	doc := exportDoc{
		Member: exportMember{
			MemberID: m.ID, DisplayName: m.DisplayName, Email: m.Email, Locale: m.Locale,
			SurveyConsent: m.SurveyConsent, MarketingConsent: m.MarketingConsent, Tier: m.Tier,
			EnrolledAt: stamp(m.EnrolledAt), ErasedAt: stamp(m.ErasedAt), ErasureReason: m.ErasureReason, TimeZone: m.TimeZone,
			ReferralCode: m.ReferralCode,
		},
		Balance:      exportBalance{Available: x.Balance.Available, Held: x.Balance.Held, Pending: x.Balance.Pending},
		Transactions: make([]exportTransaction, len(x.Transactions)),
		Holds:        make([]exportHold, len(x.Holds)),
		Purchases:    make([]exportPurchase, len(x.Purchases)),
		Returns:      make([]exportReturn, len(x.Returns)),
		Unmatched:    make([]exportPurchase, len(x.Unmatched)),
	}
	for i, t := range x.Transactions {
		doc.Transactions[i] = exportTransaction{
			TransactionID: t.ID, Kind: string(t.Kind), Reason: string(t.Reason), Reference: t.Reference,
			Points: t.AvailableChange(m.ID), CreatedAt: stamp(t.CreatedAt), Postings: t.Postings,
		}
	}
	for i, h := range x.Holds {
		doc.Holds[i] = exportHold{
			HoldID: h.ID, Points: h.Points, Reference: h.Reference, Status: string(h.Status), CreatedAt: stamp(h.CreatedAt),
			ExpiresAt: stamp(h.ExpiresAt), ClosedAt: stamp(h.ClosedAt), VoidReason: h.VoidReason,
		}
	}
	for i, p := range x.Purchases {
		doc.Purchases[i] = purchaseDoc(p)
	}
	for i, p := range x.Unmatched {
		doc.Unmatched[i] = purchaseDoc(p)
	}
	doc.exportMemberData = memberDataDoc(x)
	for i, r := range x.Returns {
		doc.Returns[i] = exportReturn{
			StoreID: r.Key.StoreID, ReturnID: r.Key.ReturnID, OriginalTransactionID: r.OriginalTransactionID,
			exportSale: saleDoc(r.MemberRef, r.OccurredAt, r.Currency, r.TotalMinor, r.Lines),
			Points:     r.Points, Debited: r.Debited, Shortfall: r.Shortfall, Orphan: r.Orphan,
		}
	}
	return privacy.Data(doc)
}

type exportDoc struct {
	Member       exportMember        `json:"member"`
	Balance      exportBalance       `json:"balance"`
	Transactions []exportTransaction `json:"transactions"`
	Holds        []exportHold        `json:"holds"`
	Purchases    []exportPurchase    `json:"purchases"`
	Returns      []exportReturn      `json:"returns"`
	Unmatched    []exportPurchase    `json:"unmatched_purchases"`
	exportMemberData
}

type exportMember struct {
	MemberID         string `json:"member_id"`
	DisplayName      string `json:"display_name"`
	Email            string `json:"email"`
	Locale           string `json:"locale"`
	TimeZone         string `json:"time_zone,omitempty"`
	ReferralCode     string `json:"referral_code,omitempty"`
	SurveyConsent    bool   `json:"survey_consent"`
	MarketingConsent bool   `json:"marketing_consent"`
	Tier             string `json:"tier"`
	EnrolledAt       string `json:"enrolled_at"`
	ErasedAt         string `json:"erased_at,omitempty"`
	ErasureReason    string `json:"erasure_reason,omitempty"`
}

type exportBalance struct {
	Available int64 `json:"available"`
	Held      int64 `json:"held"`
	Pending   int64 `json:"pending"`
}

type exportTransaction struct {
	TransactionID string `json:"transaction_id"`
	Kind          string `json:"kind"`
	Reason        string `json:"reason,omitempty"`
	Reference     string `json:"reference"`
	// Points is the change of the member's available balance.
	Points    int64            `json:"points"`
	CreatedAt string           `json:"created_at"`
	Postings  []domain.Posting `json:"postings"`
}

type exportHold struct {
	HoldID     string `json:"hold_id"`
	Points     int64  `json:"points"`
	Reference  string `json:"reference"`
	Status     string `json:"status"`
	CreatedAt  string `json:"created_at"`
	ExpiresAt  string `json:"expires_at"`
	ClosedAt   string `json:"closed_at,omitempty"`
	VoidReason string `json:"void_reason,omitempty"`
}

// exportSale is what purchases and returns have in common (its fields are inlined).
type exportSale struct {
	MemberRef  string        `json:"member_ref"`
	OccurredAt string        `json:"occurred_at"`
	Currency   string        `json:"currency"`
	TotalMinor int64         `json:"total_minor"`
	Lines      []domain.Line `json:"lines"`
}

type exportPurchase struct {
	StoreID       string `json:"store_id"`
	TransactionID string `json:"transaction_id"`
	exportSale
	Points         int64 `json:"points"`
	PointsReturned int64 `json:"points_returned"`
}

type exportReturn struct {
	StoreID               string `json:"store_id"`
	ReturnID              string `json:"return_id"`
	OriginalTransactionID string `json:"original_transaction_id"`
	exportSale
	Points    int64 `json:"points"`
	Debited   int64 `json:"debited"`
	Shortfall int64 `json:"shortfall"`
	Orphan    bool  `json:"orphan"`
}

func purchaseDoc(p domain.Purchase) exportPurchase {
	return exportPurchase{
		StoreID: p.Key.StoreID, TransactionID: p.Key.TransactionID,
		exportSale: saleDoc(p.MemberRef, p.OccurredAt, p.Currency, p.TotalMinor, p.Lines),
		Points:     p.Points, PointsReturned: p.PointsReturned,
	}
}

// saleDoc's lines are never nil, so that a receipt without lines exports [] rather than
// null.
func saleDoc(memberRef string, at time.Time, currency string, total int64, lines []domain.Line) exportSale {
	if lines == nil {
		lines = []domain.Line{}
	}
	return exportSale{MemberRef: memberRef, OccurredAt: stamp(at), Currency: currency, TotalMinor: total, Lines: lines}
}

// stamp is t in RFC 3339 with the precision the ledger keeps; "" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
