package domain

import (
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultNPSSurveyID is the NPS survey a migration seeds; triggers invite to it.
const DefaultNPSSurveyID = "0192f0c8-5a1e-7000-8000-000000000001"

// MaxCommentLen is the most characters a comment may have (the API's limit too).
const MaxCommentLen = 4000

// Touchpoint is the moment of contact an invitation belongs to.
type Touchpoint string

const (
	TouchpointPurchase    Touchpoint = "PURCHASE"
	TouchpointServiceCall Touchpoint = "SERVICE_CALL"
	TouchpointSalesCall   Touchpoint = "SALES_CALL"
	TouchpointWebVisit    Touchpoint = "WEB_VISIT"
)

// SurveyText is a survey's wording in one language.
type SurveyText struct {
	Question  string
	LowLabel  string // what 0 means
	HighLabel string // what 10 means
}

// Survey is a survey definition with its wording in several languages.
type Survey struct {
	ID            string
	Name          string
	Version       int
	DefaultLocale string
	Texts         map[string]SurveyText // by language ("en", "de")
}

// Text returns the wording for locale, falling back to the survey's default language,
// and the language chosen.
func (s Survey) Text(locale string) (string, SurveyText) {
	if lang := Language(locale); lang != "" {
		if t, ok := s.Texts[lang]; ok {
			return lang, t
		}
	}
	return s.DefaultLocale, s.Texts[s.DefaultLocale]
}

// Language returns the lower-case primary language of a locale: "de-AT" and "de_AT" are
// "de"; "" stays "".
func Language(locale string) string {
	lang, _, _ := strings.Cut(strings.TrimSpace(locale), "-")
	lang, _, _ = strings.Cut(lang, "_")
	return strings.ToLower(lang)
}

// Member is the local copy of what the survey needs to know about a loyalty member.
type Member struct {
	ID            string
	Locale        string
	SurveyConsent bool
	// AsOf is when the ledger's member was as this copy says (their enrolment, or a
	// change of consent): of two copies, the later one wins, whatever order they arrive
	// in.
	AsOf time.Time
}

// Invitation asks one member to answer one survey through a signed link.
type Invitation struct {
	ID             string
	SurveyID       string
	MemberID       string // "" once the member is erased
	Locale         string
	Touchpoint     Touchpoint
	StoreID        string
	TriggerEventID string
	TriggerKey     string
	ExpiresAt      time.Time
	CreatedAt      time.Time

	Status        InvitationStatus
	DueAt         time.Time // when it is due to be sent; the link works from then on
	SurveyVersion int
	TriggerID     string            // the trigger rule that made it; "" for a receipt link
	Channels      []DeliveryChannel // to try, in order
	Channel       DeliveryChannel   // the one used
	EmployeeID    string
	SalesChannel  string // where the touchpoint happened: STORE, WEB or ""
	SentAt        time.Time
}

// NewInvitation invites the member of trigger t to survey surveyID. The expiry is cut to
// whole seconds, the precision of the link's token, so that the stored expiry and the
// token's agree.
func NewInvitation(id, surveyID string, t Trigger, locale string, now time.Time, ttl time.Duration) Invitation {
	return Invitation{
		ID:             id,
		SurveyID:       surveyID,
		MemberID:       t.MemberID,
		Locale:         locale,
		Touchpoint:     t.Touchpoint,
		StoreID:        t.StoreID,
		TriggerEventID: t.EventID,
		TriggerKey:     t.Key,
		ExpiresAt:      now.Add(ttl).Truncate(time.Second).UTC(),
		CreatedAt:      now.UTC(),
	}
}

// Open reports whether the invitation can still be answered at now.
func (i Invitation) Open(now time.Time) bool { return now.Before(i.ExpiresAt) }

// Response is a member's answer to an invitation.
type Response struct {
	ID           string
	InvitationID string
	SurveyID     string
	MemberID     string
	Touchpoint   Touchpoint
	StoreID      string
	Score        int
	Comment      string
	Class        NPSClass
	SubmittedAt  time.Time
}

// NewResponse answers inv with score and comment. The comment is cleaned (trimmed,
// invalid UTF-8 and NUL characters removed: neither protobuf nor Postgres text accept
// them) before its length is checked.
func NewResponse(id string, inv Invitation, score int, comment string, now time.Time) (Response, error) {
	class, err := ClassifyNPS(score)
	if err != nil {
		return Response{}, err
	}
	comment = CleanComment(comment)
	if utf8.RuneCountInString(comment) > MaxCommentLen {
		return Response{}, ErrCommentTooLong
	}
	return Response{
		ID:           id,
		InvitationID: inv.ID,
		SurveyID:     inv.SurveyID,
		MemberID:     inv.MemberID,
		Touchpoint:   inv.Touchpoint,
		StoreID:      inv.StoreID,
		Score:        score,
		Comment:      comment,
		Class:        class,
		SubmittedAt:  now.UTC(),
	}, nil
}

// CleanComment trims a free-text comment and drops what cannot be stored.
func CleanComment(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.TrimSpace(s)
}
