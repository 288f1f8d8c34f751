package convert

import (
	"maps"

	"github.com/treue/treue/pkg/enum"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
)

var (
	identifierKinds = enum.New(map[domain.IdentifierKind]ledgerv1.IdentifierKind{
		domain.IdentifierCard:  ledgerv1.IdentifierKind_IDENTIFIER_KIND_CARD,
		domain.IdentifierEmail: ledgerv1.IdentifierKind_IDENTIFIER_KIND_EMAIL,
		domain.IdentifierPhone: ledgerv1.IdentifierKind_IDENTIFIER_KIND_PHONE,
	})
	channels = enum.New(map[domain.Channel]ledgerv1.ContactChannel{
		domain.ChannelPOS:        ledgerv1.ContactChannel_CONTACT_CHANNEL_POS,
		domain.ChannelWeb:        ledgerv1.ContactChannel_CONTACT_CHANNEL_WEB,
		domain.ChannelApp:        ledgerv1.ContactChannel_CONTACT_CHANNEL_APP,
		domain.ChannelCallCentre: ledgerv1.ContactChannel_CONTACT_CHANNEL_CALL_CENTRE,
		domain.ChannelEmail:      ledgerv1.ContactChannel_CONTACT_CHANNEL_EMAIL,
	})
	consentPurposes = enum.New(map[domain.ConsentPurpose]ledgerv1.ConsentPurpose{
		domain.ConsentSurvey:    ledgerv1.ConsentPurpose_CONSENT_PURPOSE_SURVEY,
		domain.ConsentMarketing: ledgerv1.ConsentPurpose_CONSENT_PURPOSE_MARKETING,
	})
)

// IdentifierIn is an identifier as the request wrote it (not yet normalised).
func IdentifierIn(id *ledgerv1.Identifier) domain.Identifier {
	kind, _ := identifierKinds.Domain(id.GetKind())
	return domain.Identifier{Kind: kind, Value: id.GetValue()}
}

func identifiersIn(ids []*ledgerv1.Identifier) []domain.Identifier {
	if len(ids) == 0 {
		return nil
	}
	out := make([]domain.Identifier, len(ids))
	for i, id := range ids {
		out[i] = IdentifierIn(id)
	}
	return out
}

// Identifier converts an identifier.
func Identifier(id domain.Identifier) *ledgerv1.Identifier {
	return &ledgerv1.Identifier{Kind: identifierKinds.Proto(id.Kind), Value: id.Value}
}

// ChannelIn is the domain's channel of c (ChannelUnspecified for unspecified).
func ChannelIn(c ledgerv1.ContactChannel) domain.Channel {
	ch, _ := channels.Domain(c)
	return ch
}

// ConsentPurposeIn is the domain's purpose of p.
func ConsentPurposeIn(p ledgerv1.ConsentPurpose) domain.ConsentPurpose {
	purpose, _ := consentPurposes.Domain(p)
	return purpose
}

func consentEvidence(ev *ledgerv1.ConsentEvidence) domain.ConsentEvidence {
	return domain.ConsentEvidence{
		Wording: ev.GetWording(), WordingVersion: ev.GetWordingVersion(), Channel: ChannelIn(ev.GetChannel()), Evidence: ev.GetEvidence(),
	}
}

// ClaimableReceipts converts receipts a member may claim.
func ClaimableReceipts(rs []domain.ClaimableReceipt) []*ledgerv1.ClaimableReceipt {
	out := make([]*ledgerv1.ClaimableReceipt, len(rs))
	for i, r := range rs {
		out[i] = &ledgerv1.ClaimableReceipt{
			StoreId: r.Key.StoreID, TransactionId: r.Key.TransactionID, OccurredAt: Timestamp(r.OccurredAt),
			Currency: r.Currency, TotalMinor: r.TotalMinor, ClaimableUntil: Timestamp(r.ClaimableUntil),
		}
	}
	return out
}

// Profile converts a member's profile.
func Profile(p domain.Profile) *ledgerv1.MemberProfile {
	out := &ledgerv1.MemberProfile{
		Member: Member(p.Member), Identifiers: make([]*ledgerv1.Identifier, len(p.Identifiers)),
		Tags: p.Tags, Attributes: maps.Clone(p.Attributes), TimeZone: p.Member.TimeZone,
	}
	for i, id := range p.Identifiers {
		out.Identifiers[i] = Identifier(id)
	}
	return out
}

// TillView converts what a till learns of a member it looked up.
func TillView(v domain.TillView) *ledgerv1.LookupMemberResponse {
	return &ledgerv1.LookupMemberResponse{MemberId: v.MemberID, Tier: v.Tier, AvailablePoints: v.Available, NameInitial: v.NameInitial}
}

// ClaimRequest is the request's claim, under the caller's scoped idempotency key.
func ClaimRequest(req *ledgerv1.ClaimPurchaseRequest, scopedKey string) domain.ClaimRequest {
	return domain.ClaimRequest{
		IdempotencyKey: scopedKey, MemberID: req.GetMemberId(),
		Key:        domain.PurchaseKey{StoreID: req.GetStoreId(), TransactionID: req.GetTransactionId()},
		TotalMinor: req.GetTotalMinor(), Channel: ChannelIn(req.GetChannel()),
	}
}

// Claim is the answer to ClaimPurchase.
func Claim(c domain.Claim) *ledgerv1.ClaimPurchaseResponse {
	return &ledgerv1.ClaimPurchaseResponse{
		MemberId: c.MemberID, StoreId: c.Key.StoreID, TransactionId: c.Key.TransactionID, Points: c.Points,
		LedgerTransactionId: c.LedgerTxID, ClaimedAt: Timestamp(c.ClaimedAt),
	}
}

// ConsentRecord converts a consent record.
func ConsentRecord(r domain.ConsentRecord) *ledgerv1.ConsentRecord {
	return &ledgerv1.ConsentRecord{
		ConsentId: r.ID, MemberId: r.MemberID, Purpose: consentPurposes.Proto(r.Purpose), Granted: r.Granted,
		Wording: r.Wording, WordingVersion: r.WordingVersion, Channel: channels.Proto(r.Channel),
		RecordedBy: r.RecordedBy, RecordedAt: Timestamp(r.RecordedAt), Evidence: r.Evidence,
	}
}

// ConsentRecords converts a consent history.
func ConsentRecords(rs []domain.ConsentRecord) *ledgerv1.ListConsentsResponse {
	out := &ledgerv1.ListConsentsResponse{Consents: make([]*ledgerv1.ConsentRecord, len(rs))}
	for i, r := range rs {
		out.Consents[i] = ConsentRecord(r)
	}
	return out
}
