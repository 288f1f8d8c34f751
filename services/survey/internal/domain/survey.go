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

// Response is a member's answer to an invitation, in the survey version it was made to.
type Response struct {
	ID            string
	InvitationID  string
	SurveyID      string
	SurveyVersion int
	MemberID      string
	Touchpoint    Touchpoint
	StoreID       string
	// Score is the score question's answer, typed by ScoreKind.
	Score         int
	ScoreKind     ScoreKind
	Class         NPSClass // NPS only
	CSATSatisfied bool     // CSAT only
	CESLowEffort  bool     // CES only
	// Comment is the first open-text answer shown (for consumers that know one free text).
	Comment      string
	Answers      Answers
	Locale       string // the language it was answered in
	EmployeeID   string
	SalesChannel string // STORE, WEB or ""
	TriggerKey   string
	TriggerID    string
	SubmittedAt  time.Time
}

// NewResponse answers inv with a in version v (the invitation's), shown in lang. The
// answers are checked (Final): answers to hidden questions are dropped, texts cleaned.
func NewResponse(id string, inv Invitation, v SurveyVersion, a Answers, lang string, now time.Time) (Response, error) {
	final, err := v.Final(a)
	if err != nil {
		return Response{}, err
	}
	score, err := ScoreOf(v, final)
	if err != nil {
		return Response{}, err
	}
	return Response{
		ID:            id,
		InvitationID:  inv.ID,
		SurveyID:      inv.SurveyID,
		SurveyVersion: v.Version,
		MemberID:      inv.MemberID,
		Touchpoint:    inv.Touchpoint,
		StoreID:       inv.StoreID,
		Score:         score.Value,
		ScoreKind:     score.Kind,
		Class:         score.NPSClass,
		CSATSatisfied: score.CSATSatisfied,
		CESLowEffort:  score.CESLowEffort,
		Comment:       v.Comment(final),
		Answers:       final,
		Locale:        lang,
		EmployeeID:    inv.EmployeeID,
		SalesChannel:  inv.SalesChannel,
		TriggerKey:    inv.TriggerKey,
		TriggerID:     inv.TriggerID,
		SubmittedAt:   now.UTC(),
	}, nil
}

// NewScoreResponse answers inv with a score and a comment only (the API from before
// surveys had several questions): see SurveyVersion.ScoreAnswers. A comment no open-text
// question takes is kept as the response's comment.
func NewScoreResponse(id string, inv Invitation, v SurveyVersion, score int, comment, lang string, now time.Time) (Response, error) {
	a, placed := v.ScoreAnswers(score, comment)
	r, err := NewResponse(id, inv, v, a, lang, now)
	if err != nil || placed {
		return r, err
	}
	r.Comment = CleanComment(comment)
	if utf8.RuneCountInString(r.Comment) > MaxCommentLen {
		return Response{}, ErrCommentTooLong
	}
	return r, nil
}

// CleanComment trims a free-text comment and drops what cannot be stored.
func CleanComment(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.TrimSpace(s)
}

// Answerable returns nil when the invitation can be answered at now: it is due, not
// expired, and scheduled or sent. An answered one is ErrAlreadyAnswered; a suppressed,
// failed or expired one ErrLinkExpired; one not due yet ErrNotYetDue.
func (i Invitation) Answerable(now time.Time) error {
	switch i.Status {
	case StatusAnswered:
		return ErrAlreadyAnswered
	case StatusSuppressed, StatusFailed, StatusExpired:
		return ErrLinkExpired
	}
	if !i.Open(now) {
		return ErrLinkExpired
	}
	if now.Before(i.DueAt) {
		return ErrNotYetDue
	}
	return nil
}
