package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// Export is a member's export as the JSON of ExportMemberResponse.data. It has a key
// only for what is held: "cases" (the member's cases, with their comments, outcomes and
// notes), "goodwill" (what their cases granted them: points, a coupon's outcome), "member" (the tier and locale routing keeps, the name, email, phone and points a case shows) and "erased_at"; nothing for a
// member the service does not know.
func Export(e domain.MemberData) (*structpb.Struct, error) {
	data := map[string]any{}
	if len(e.Cases) > 0 {
		cases := make([]any, len(e.Cases))
		for i, c := range e.Cases {
			cases[i] = exportedCase(c)
		}
		data["cases"] = cases
	}
	if e.Copy != nil {
		data["member"] = map[string]any{"tier": e.Copy.Tier, "locale": e.Copy.Locale, "updated_at": exportedTime(e.Copy.UpdatedAt),
			"display_name": e.Copy.DisplayName, "email": e.Copy.Email, "phone": e.Copy.Phone, "points": e.Copy.Points}
	}
	if len(e.Goodwill) > 0 {
		grants := make([]any, len(e.Goodwill))
		for i, g := range e.Goodwill {
			m := map[string]any{"case_id": g.CaseID, "points": g.Points, "reason": g.Reason, "granted_at": exportedTime(g.GrantedAt)}
			if r := g.Reward; r.RewardID != "" {
				reward := map[string]any{"reward_id": r.RewardID, "status": string(r.Status), "coupon_id": r.CouponID,
					"reward_name": r.RewardName, "value_minor": r.ValueMinor, "currency": r.Currency}
				if !r.ExpiresAt.IsZero() {
					reward["expires_at"] = exportedTime(r.ExpiresAt)
				}
				m["reward"] = reward
			}
			grants[i] = m
		}
		data["goodwill"] = grants
	}
	if !e.ErasedAt.IsZero() {
		data["erased_at"] = exportedTime(e.ErasedAt)
	}
	return structpb.NewStruct(data)
}

// exportedCase is a case as its member reads it. Who resolved it is left out: the agent's
// name is the agent's data, not the member's.
func exportedCase(c domain.Case) map[string]any {
	m := map[string]any{
		"case_id":      c.ID,
		"response_id":  c.ResponseID,
		"survey_id":    c.SurveyID,
		"kind":         string(c.Kind),
		"team":         c.Team,
		"status":       string(c.Status),
		"score":        c.Score,
		"nps_class":    string(c.NPSClass),
		"comment":      c.Comment,
		"touchpoint":   c.Touchpoint,
		"store_id":     c.StoreID,
		"submitted_at": exportedTime(c.SubmittedAt),
		"opened_at":    exportedTime(c.OpenedAt),
		"due_at":       exportedTime(c.DueAt),
	}
	if c.Status == domain.StatusResolved {
		m["outcome"] = string(c.Outcome)
		m["resolution_note"] = c.ResolutionNote
		m["resolved_at"] = exportedTime(c.ResolvedAt)
	}
	return m
}

func exportedTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
