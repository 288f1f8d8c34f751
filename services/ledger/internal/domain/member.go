package domain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// DefaultLocale and DefaultTier are what a new member gets unless told otherwise.
const (
	DefaultLocale = "en"
	DefaultTier   = "standard"
)

// Member is an enrolled customer.
type Member struct {
	ID               string
	DisplayName      string
	Email            string
	Locale           string
	SurveyConsent    bool
	MarketingConsent bool
	Tier             string
	// TimeZone is the member's IANA time zone (Europe/Berlin), "" when not known.
	TimeZone   string
	EnrolledAt time.Time
	// ErasedAt is when the member's personal data was erased (zero while it was not),
	// ErasureReason why, as the erasure recorded it.
	ErasedAt      time.Time
	ErasureReason string
	// ReferralCode is the member's referral code (NewReferralCode), unique among members.
	ReferralCode string
}

// Erased reports whether the member's personal data was erased.
func (m Member) Erased() bool { return !m.ErasedAt.IsZero() }

// Erase removes what identifies the person (name, email) and withdraws their consents:
// nobody may be surveyed or marketed to after asking to leave. The id stays, a
// pseudonym under which the postings keep balances and programme totals whole; locale,
// tier and the referral code (random, like the id) stay too, as they identify no one. Erasing an erased member changes nothing
// and reports false: the first erasure's time and reason stand.
func (m *Member) Erase(at time.Time, reason string) (changed bool) {
	if m.Erased() {
		return false
	}
	m.DisplayName, m.Email = "", ""
	m.SurveyConsent, m.MarketingConsent = false, false
	m.ErasedAt, m.ErasureReason = at, reason
	return true
}

// Enrolment is a request to enrol.
type Enrolment struct {
	DisplayName      string
	Email            string
	Locale           string
	SurveyConsent    bool
	MarketingConsent bool
	// TimeZone is an IANA time zone (CheckTimeZone), "" when not given.
	TimeZone string
	// Identifiers the member may be named by, normalised (ParseIdentifiers), and the
	// evidence of the consents given.
	Identifiers     []Identifier
	ConsentEvidence ConsentEvidence
}

// Normalize fills defaults and canonicalises what has more than one spelling, so that two
// requests meaning the same hash the same.
func (e Enrolment) Normalize() Enrolment {
	e.DisplayName = strings.TrimSpace(e.DisplayName)
	e.Email = strings.ToLower(strings.TrimSpace(e.Email))
	if e.Locale == "" {
		e.Locale = DefaultLocale
	}
	e.TimeZone = strings.TrimSpace(e.TimeZone)
	return e
}

// Hash identifies the request for idempotency: a retry with the same key must carry the
// same hash.
func (e Enrolment) Hash() string {
	n := e.Normalize()
	parts := []string{"enroll", n.DisplayName, n.Email, n.Locale, boolString(n.SurveyConsent), boolString(n.MarketingConsent)}
	// An enrolment without identifiers or evidence hashes as before they existed, so
	// that a retry across the upgrade still finds its member.
	if len(n.Identifiers) > 0 || n.ConsentEvidence != (ConsentEvidence{}) {
		ev := n.ConsentEvidence
		parts = append(parts, "identifiers", strconv.Itoa(len(n.Identifiers)))
		for _, id := range n.Identifiers {
			parts = append(parts, id.String())
		}
		parts = append(parts, "evidence", ev.Wording, ev.WordingVersion, string(ev.Channel), ev.Evidence)
	}
	// Likewise an enrolment without a time zone.
	if n.TimeZone != "" {
		parts = append(parts, "time_zone", n.TimeZone)
	}
	return RequestHash(parts...)
}

// NewMember returns the member an enrolment creates.
func NewMember(id string, e Enrolment, at time.Time) Member {
	n := e.Normalize()
	return Member{
		ID: id, DisplayName: n.DisplayName, Email: n.Email, Locale: n.Locale,
		SurveyConsent: n.SurveyConsent, MarketingConsent: n.MarketingConsent,
		Tier: DefaultTier, TimeZone: n.TimeZone, EnrolledAt: at, ReferralCode: NewReferralCode(),
	}
}

// RequestHash is a SHA-256 over length-prefixed parts, so that ("ab","c") and ("a","bc")
// differ.
func RequestHash(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
