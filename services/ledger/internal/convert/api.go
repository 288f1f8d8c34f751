package convert

import (
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// Enrolment is the request's enrolment.
func Enrolment(req *ledgerv1.EnrollRequest) domain.Enrolment {
	return domain.Enrolment{
		DisplayName: req.GetDisplayName(), Email: req.GetEmail(), Locale: req.GetLocale(),
		SurveyConsent: req.GetSurveyConsent(), MarketingConsent: req.GetMarketingConsent(),
		Identifiers: identifiersIn(req.GetIdentifiers()), ConsentEvidence: consentEvidence(req.GetConsentEvidence()),
		TimeZone: req.GetTimeZone(),
	}
}

// HoldRequest is the request's hold, under the caller's scoped idempotency key.
func HoldRequest(req *ledgerv1.PlaceHoldRequest, scopedKey string) domain.HoldRequest {
	return domain.HoldRequest{
		IdempotencyKey: scopedKey, MemberID: req.GetMemberId(), Points: req.GetPoints(),
		Reference: req.GetReference(), TTL: req.GetTtl().AsDuration(),
	}
}

// Member converts a member; an erased one carries its erased_at and no personal data.
func Member(m domain.Member) *ledgerv1.Member {
	return &ledgerv1.Member{
		MemberId: m.ID, DisplayName: m.DisplayName, Email: m.Email, Locale: m.Locale,
		SurveyConsent: m.SurveyConsent, MarketingConsent: m.MarketingConsent, Tier: m.Tier,
		EnrolledAt: Timestamp(m.EnrolledAt), ErasedAt: Timestamp(m.ErasedAt), ReferralCode: m.ReferralCode,
	}
}

// Erasure is the answer to EraseMember: the first erasure's time and reason.
func Erasure(m domain.Member) *ledgerv1.EraseMemberResponse {
	return &ledgerv1.EraseMemberResponse{MemberId: m.ID, ErasedAt: Timestamp(m.ErasedAt), Reason: m.ErasureReason}
}

// Balance converts a balance.
func Balance(b domain.Balance) *ledgerv1.GetBalanceResponse {
	return &ledgerv1.GetBalanceResponse{MemberId: b.MemberID, Available: b.Available, Held: b.Held, Pending: b.Pending,
		Debt: b.Debt, DebtFlagged: b.DebtFlagged}
}

// Transactions converts a page of a member's history, with the running balance.
func Transactions(entries []domain.HistoryEntry, next string) *ledgerv1.ListTransactionsResponse {
	resp := &ledgerv1.ListTransactionsResponse{NextPageToken: next, Transactions: make([]*ledgerv1.Transaction, len(entries))}
	for i, e := range entries {
		t := e.Transaction
		out := &ledgerv1.Transaction{
			TransactionId: t.ID, Kind: string(t.Kind), Reason: Reason(t.Reason), Reference: t.Reference,
			Points: t.AvailableChange(t.MemberID), CreatedAt: Timestamp(t.CreatedAt), BalanceAfter: e.BalanceAfter,
		}
		for _, p := range t.Postings {
			out.Postings = append(out.Postings, &ledgerv1.Posting{Source: p.Source, Destination: p.Destination, Amount: p.Amount})
		}
		resp.Transactions[i] = out
	}
	return resp
}

// Hold converts a hold.
func Hold(h domain.Hold) *ledgerv1.Hold {
	return &ledgerv1.Hold{
		HoldId: h.ID, MemberId: h.MemberID, Points: h.Points, Reference: h.Reference,
		Status: holdStatuses.Proto(h.Status), ExpiresAt: Timestamp(h.ExpiresAt),
	}
}

// The responses that carry one member or one hold.

func EnrollResponse(e domain.Enrolled) *ledgerv1.EnrollResponse {
	return &ledgerv1.EnrollResponse{Member: Member(e.Member), ClaimableReceipts: ClaimableReceipts(e.Claimable)}
}

func GetMemberResponse(m domain.Member) *ledgerv1.GetMemberResponse {
	return &ledgerv1.GetMemberResponse{Member: Member(m)}
}

func PlaceHoldResponse(h domain.Hold) *ledgerv1.PlaceHoldResponse {
	return &ledgerv1.PlaceHoldResponse{Hold: Hold(h)}
}

func CaptureHoldResponse(h domain.Hold) *ledgerv1.CaptureHoldResponse {
	return &ledgerv1.CaptureHoldResponse{Hold: Hold(h)}
}

func VoidHoldResponse(h domain.Hold) *ledgerv1.VoidHoldResponse {
	return &ledgerv1.VoidHoldResponse{Hold: Hold(h)}
}

// TillMemberResponse is a member as a till sees it: that the member exists (and since
// when, in which tier), not who they are. Name, email, locale and consents stay out.
func TillMemberResponse(m domain.Member) *ledgerv1.GetMemberResponse {
	return &ledgerv1.GetMemberResponse{Member: &ledgerv1.Member{
		MemberId: m.ID, Tier: m.Tier, EnrolledAt: Timestamp(m.EnrolledAt), ErasedAt: Timestamp(m.ErasedAt),
	}}
}

// TillBalance is a balance as a till sees it: the points the member can spend now.
func TillBalance(b domain.Balance) *ledgerv1.GetBalanceResponse {
	return &ledgerv1.GetBalanceResponse{MemberId: b.MemberID, Available: b.Available}
}
