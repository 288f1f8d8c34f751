package domain

import "time"

// Event is something the ledger tells the rest of the system, published through the
// outbox in the transaction that caused it.
type Event interface{ isEvent() }

// MemberEnrolled: a member joined, with the phone they gave as an identifier (if any)
// and their tags.
type MemberEnrolled struct {
	Member Member
	Phone  string
	Tags   []string
}

// MemberUpdated: a member's contact details or profile changed; it carries the member
// as they are now. Email is the enrolment's email, else the member's email identifier.
type MemberUpdated struct {
	MemberID  string
	Email     string
	Phone     string
	Locale    string
	TimeZone  string
	Tags      []string
	Tier      string
	UpdatedAt time.Time
	// ReferralCode is the member's referral code.
	ReferralCode string
	// DisplayName is the member's display name.
	DisplayName string
}

// MemberUpdatedOf is the MemberUpdated event of a profile as it is at at.
func MemberUpdatedOf(p Profile, at time.Time) MemberUpdated {
	email := p.Member.Email
	if email == "" {
		email = p.IdentifierOf(IdentifierEmail)
	}
	return MemberUpdated{
		MemberID: p.Member.ID, Email: email, Phone: p.IdentifierOf(IdentifierPhone), Locale: p.Member.Locale,
		TimeZone: p.Member.TimeZone, Tags: p.Tags, Tier: p.Member.Tier, UpdatedAt: at, ReferralCode: p.Member.ReferralCode,
		DisplayName: p.Member.DisplayName,
	}
}

// IdentifierOf is the value of the profile's first identifier of kind, "" when it has
// none.
func (p Profile) IdentifierOf(kind IdentifierKind) string {
	return FirstIdentifier(p.Identifiers, kind)
}

// FirstIdentifier is the value of the first of ids of kind, "" when there is none.
func FirstIdentifier(ids []Identifier, kind IdentifierKind) string {
	for _, id := range ids {
		if id.Kind == kind {
			return id.Value
		}
	}
	return ""
}

// PurchaseMatched: a purchase that named its member by an identifier (card, email,
// phone) was matched to a member. A purchase that named the member by id has none.
type PurchaseMatched struct{ Purchase Purchase }

// MemberErased: a member's personal data was erased; every service erases or
// anonymises its copy.
type MemberErased struct {
	MemberID string
	ErasedAt time.Time
}

// PointsCredited: points moved from the programme to a member.
type PointsCredited struct {
	TransactionID string
	MemberID      string
	Points        int64
	Reason        Reason
	Reference     string
	StoreID       string
	OccurredAt    time.Time
}

// PointsDebited: points moved from a member back to the programme. Shortfall is what the
// reason called for that the member no longer had.
type PointsDebited struct {
	TransactionID string
	MemberID      string
	Points        int64
	Shortfall     int64
	Reason        Reason
	Reference     string
	StoreID       string
	OccurredAt    time.Time
}

// HoldPlaced, HoldCaptured and HoldVoided follow a hold's life; HoldVoided also reports an
// expiry (reason "expired").
type (
	HoldPlaced   struct{ Hold Hold }
	HoldCaptured struct{ Hold Hold }
	HoldVoided   struct{ Hold Hold }
)

// PurchaseUnmatched: a purchase named a member the ledger does not know.
type PurchaseUnmatched struct{ Purchase Purchase }

func (MemberEnrolled) isEvent()    {}
func (MemberErased) isEvent()      {}
func (PointsCredited) isEvent()    {}
func (PointsDebited) isEvent()     {}
func (HoldPlaced) isEvent()        {}
func (HoldCaptured) isEvent()      {}
func (HoldVoided) isEvent()        {}
func (PurchaseUnmatched) isEvent() {}
func (MemberUpdated) isEvent()     {}
func (PurchaseMatched) isEvent()   {}
