package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/treue/treue/pkg/privacy"
	"github.com/treue/treue/services/survey/internal/domain"
)

// The export's JSON shape: one key per kind of data, left out when there is none, so
// that a member the survey does not know has an empty export.
type (
	exportData struct {
		Member         *exportMember      `json:"member,omitempty"`
		ErasedAt       *time.Time         `json:"erased_at,omitempty"`
		Invitations    []exportInvitation `json:"invitations,omitempty"`
		Responses      []exportResponse   `json:"responses,omitempty"`
		ParkedTriggers []exportTrigger    `json:"parked_triggers,omitempty"`
		Drafts         []exportDraft      `json:"drafts,omitempty"`
	}
	exportAnswer struct {
		Score     *int     `json:"score,omitempty"`
		ChoiceIDs []string `json:"choice_ids,omitempty"`
		Text      string   `json:"text,omitempty"`
	}
	exportDraft struct {
		InvitationID string                  `json:"invitation_id"`
		Answers      map[string]exportAnswer `json:"answers"`
		UpdatedAt    time.Time               `json:"updated_at"`
	}
	exportMember struct {
		Locale        string     `json:"locale"`
		SurveyConsent bool       `json:"survey_consent"`
		LastInvitedAt *time.Time `json:"last_invited_at,omitempty"`
		UpdatedAt     time.Time  `json:"updated_at"`
	}
	exportInvitation struct {
		InvitationID string    `json:"invitation_id"`
		SurveyID     string    `json:"survey_id"`
		Locale       string    `json:"locale"`
		Touchpoint   string    `json:"touchpoint"`
		StoreID      string    `json:"store_id"`
		CreatedAt    time.Time `json:"created_at"`
		ExpiresAt    time.Time `json:"expires_at"`
		Answered     bool      `json:"answered"`
	}
	exportResponse struct {
		ResponseID    string                  `json:"response_id"`
		InvitationID  string                  `json:"invitation_id"`
		SurveyID      string                  `json:"survey_id"`
		SurveyVersion int                     `json:"survey_version"`
		ScoreKind     string                  `json:"score_kind"`
		Score         int                     `json:"score"`
		NPSClass      string                  `json:"nps_class,omitempty"`
		Comment       string                  `json:"comment"`
		Answers       map[string]exportAnswer `json:"answers"`
		Locale        string                  `json:"locale"`
		SubmittedAt   time.Time               `json:"submitted_at"`
	}
	exportTrigger struct {
		Touchpoint string    `json:"touchpoint"`
		StoreID    string    `json:"store_id"`
		OccurredAt time.Time `json:"occurred_at"`
	}
)

// Export is the member's data as the JSON of ExportMemberResponse.data.
func Export(d domain.MemberData) (*structpb.Struct, error) {
	var x exportData
	if m := d.Member; m != nil {
		x.Member = &exportMember{Locale: m.Locale, SurveyConsent: m.SurveyConsent, UpdatedAt: m.UpdatedAt}
		if !m.LastInvitedAt.IsZero() {
			x.Member.LastInvitedAt = &m.LastInvitedAt
		}
	}
	if !d.ErasedAt.IsZero() {
		x.ErasedAt = &d.ErasedAt
	}
	for _, inv := range d.Invitations {
		x.Invitations = append(x.Invitations, exportInvitation{
			InvitationID: inv.ID, SurveyID: inv.SurveyID, Locale: inv.Locale, Touchpoint: string(inv.Touchpoint),
			StoreID: inv.StoreID, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, Answered: inv.Answered,
		})
	}
	for _, r := range d.Responses {
		x.Responses = append(x.Responses, exportResponse{
			ResponseID: r.ID, InvitationID: r.InvitationID, SurveyID: r.SurveyID, SurveyVersion: r.SurveyVersion,
			ScoreKind: string(r.ScoreKind), Score: r.Score, NPSClass: string(r.Class), Comment: r.Comment,
			Answers: exportAnswers(r.Answers), Locale: r.Locale, SubmittedAt: r.SubmittedAt,
		})
	}
	for _, dr := range d.Drafts {
		x.Drafts = append(x.Drafts, exportDraft{InvitationID: dr.InvitationID, Answers: exportAnswers(dr.Answers), UpdatedAt: dr.UpdatedAt})
	}
	for _, t := range d.ParkedTriggers {
		x.ParkedTriggers = append(x.ParkedTriggers, exportTrigger{Touchpoint: string(t.Touchpoint), StoreID: t.StoreID, OccurredAt: t.OccurredAt})
	}
	// Through JSON: the tags above are the export's one description of its shape.
	return privacy.Data(x)
}

func exportAnswers(a domain.Answers) map[string]exportAnswer {
	out := make(map[string]exportAnswer, len(a))
	for id, x := range a {
		out[id] = exportAnswer{Score: x.Score, ChoiceIDs: x.ChoiceIDs, Text: x.Text}
	}
	return out
}
