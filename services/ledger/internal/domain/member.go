package domain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
	EnrolledAt       time.Time
}

// Enrolment is a request to enrol.
type Enrolment struct {
	DisplayName      string
	Email            string
	Locale           string
	SurveyConsent    bool
	MarketingConsent bool
}

// Normalize fills defaults and canonicalises what has more than one spelling, so that two
// requests meaning the same hash the same.
func (e Enrolment) Normalize() Enrolment {
	e.DisplayName = strings.TrimSpace(e.DisplayName)
	e.Email = strings.ToLower(strings.TrimSpace(e.Email))
	if e.Locale == "" {
		e.Locale = DefaultLocale
	}
	return e
}

// Hash identifies the request for idempotency: a retry with the same key must carry the
// same hash.
func (e Enrolment) Hash() string {
	n := e.Normalize()
	return RequestHash("enroll", n.DisplayName, n.Email, n.Locale, boolString(n.SurveyConsent), boolString(n.MarketingConsent))
}

// NewMember returns the member an enrolment creates.
func NewMember(id string, e Enrolment, at time.Time) Member {
	n := e.Normalize()
	return Member{
		ID: id, DisplayName: n.DisplayName, Email: n.Email, Locale: n.Locale,
		SurveyConsent: n.SurveyConsent, MarketingConsent: n.MarketingConsent,
		Tier: DefaultTier, EnrolledAt: at,
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
