package domain

import (
	"errors"
	"time"
)

// ConsentPurpose is what a member may agree to.
type ConsentPurpose string

const (
	ConsentSurvey    ConsentPurpose = "survey"
	ConsentMarketing ConsentPurpose = "marketing"
)

// Channel is how a member told the programme something: a consent, a claim.
type Channel string

const (
	ChannelUnspecified Channel = ""
	ChannelPOS         Channel = "pos"
	ChannelWeb         Channel = "web"
	ChannelApp         Channel = "app"
	ChannelCallCentre  Channel = "call_centre"
	ChannelEmail       Channel = "email"
)

// ConsentRecord is one grant or withdrawal of a consent with its evidence: what was
// agreed (the wording and its version), when, through which channel, recorded by whom.
type ConsentRecord struct {
	ID             string         `json:"consent_id"`
	MemberID       string         `json:"member_id"`
	Purpose        ConsentPurpose `json:"purpose"`
	Granted        bool           `json:"granted"`
	Wording        string         `json:"wording"`
	WordingVersion string         `json:"wording_version"`
	Channel        Channel        `json:"channel"`
	Actor          Actor          `json:"-"`
	RecordedBy     string         `json:"recorded_by"`
	Evidence       string         `json:"evidence,omitempty"`
	RecordedAt     time.Time      `json:"recorded_at"`
}

// ConsentEvidence is what an enrolment's consents agreed to.
type ConsentEvidence struct {
	Wording        string
	WordingVersion string
	Channel        Channel
	Evidence       string
}

// ErrConsentPurpose: a purpose the programme does not know.
var ErrConsentPurpose = errors.New("unknown consent purpose")

// ApplyConsent sets the member's consent of r's purpose as r says: the member's flags
// follow the latest record. It reports whether the flag changed.
func (m *Member) ApplyConsent(r ConsentRecord) (changed bool, err error) {
	var flag *bool
	switch r.Purpose {
	case ConsentSurvey:
		flag = &m.SurveyConsent
	case ConsentMarketing:
		flag = &m.MarketingConsent
	default:
		return false, ErrConsentPurpose
	}
	changed = *flag != r.Granted
	*flag = r.Granted
	return changed, nil
}

// EnrolmentConsents are the records of the consents an enrolment gave, with its
// evidence; ids come from newID.
func EnrolmentConsents(m Member, ev ConsentEvidence, actor Actor, newID func() string) []ConsentRecord {
	var out []ConsentRecord
	for _, c := range []struct {
		purpose ConsentPurpose
		given   bool
	}{{ConsentSurvey, m.SurveyConsent}, {ConsentMarketing, m.MarketingConsent}} {
		if c.given {
			out = append(out, ConsentRecord{
				ID: newID(), MemberID: m.ID, Purpose: c.purpose, Granted: true,
				Wording: ev.Wording, WordingVersion: ev.WordingVersion, Channel: ev.Channel, Evidence: ev.Evidence,
				Actor: actor, RecordedBy: actor.Name, RecordedAt: m.EnrolledAt,
			})
		}
	}
	return out
}

// MemberConsentChanged: a member gave or withdrew a consent; it carries the consents
// after the change.
type MemberConsentChanged struct {
	MemberID         string
	Locale           string
	SurveyConsent    bool
	MarketingConsent bool
	ChangedAt        time.Time
}

func (MemberConsentChanged) isEvent() {}

// SurveyActor is who withdraws a consent when a member unsubscribes from survey emails.
var SurveyActor = Actor{Name: "survey"}

// UnsubscribeWording is the evidence's wording of a withdrawal through the unsubscribe
// link of a survey email.
const UnsubscribeWording = "unsubscribe link in a survey email"

// Unsubscribe is a member following the unsubscribe link of a survey email.
type Unsubscribe struct {
	MemberID     string
	InvitationID string
	At           time.Time
}

// Withdrawal is the consent record of the unsubscribe: the survey consent withdrawn by
// email, the invitation whose email carried the link as its reference.
func (u Unsubscribe) Withdrawal() ConsentRecord {
	ev := ""
	if u.InvitationID != "" {
		ev = "invitation:" + u.InvitationID
	}
	return ConsentRecord{Purpose: ConsentSurvey, Granted: false, Wording: UnsubscribeWording, Channel: ChannelEmail, Evidence: ev}
}
