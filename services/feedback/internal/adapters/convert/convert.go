// Package convert translates between the domain and the protobuf contract: enums by name,
// cases into messages and events.
package convert

import (
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	survey "github.com/treue/treue/proto/gen/treue/survey/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// Enum values map by name: the domain's "CALLBACK" is CASE_KIND_CALLBACK. A value the
// other side does not know becomes the zero value ("" or UNSPECIFIED).

func fromEnum(name, prefix string, number int32) string {
	if number == 0 {
		return ""
	}
	s, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return ""
	}
	return s
}

func toEnum(values map[string]int32, prefix, s string) int32 {
	if s == "" {
		return 0
	}
	return values[prefix+s]
}

func KindToProto(k domain.CaseKind) feedbackv1.CaseKind {
	return feedbackv1.CaseKind(toEnum(feedbackv1.CaseKind_value, "CASE_KIND_", string(k)))
}

func OutcomeToProto(o domain.Outcome) feedbackv1.CaseOutcome {
	return feedbackv1.CaseOutcome(toEnum(feedbackv1.CaseOutcome_value, "CASE_OUTCOME_", string(o)))
}

func OutcomeFromProto(o feedbackv1.CaseOutcome) domain.Outcome {
	return domain.Outcome(fromEnum(o.String(), "CASE_OUTCOME_", int32(o)))
}

func StatusToProto(s domain.Status) feedbackv1.CaseStatus {
	switch s {
	case domain.StatusOpen:
		return feedbackv1.CaseStatus_CASE_STATUS_OPEN
	case domain.StatusResolved:
		return feedbackv1.CaseStatus_CASE_STATUS_RESOLVED
	}
	return feedbackv1.CaseStatus_CASE_STATUS_UNSPECIFIED
}

func StatusFromProto(s feedbackv1.CaseStatus) domain.Status {
	switch s {
	case feedbackv1.CaseStatus_CASE_STATUS_OPEN:
		return domain.StatusOpen
	case feedbackv1.CaseStatus_CASE_STATUS_RESOLVED:
		return domain.StatusResolved
	}
	return ""
}

func NPSClassToProto(c domain.NPSClass) commonv1.NpsClass {
	return commonv1.NpsClass(toEnum(commonv1.NpsClass_value, "NPS_CLASS_", string(c)))
}

func TouchpointToProto(t string) commonv1.Touchpoint {
	return commonv1.Touchpoint(toEnum(commonv1.Touchpoint_value, "TOUCHPOINT_", t))
}

// ResponseFromProto returns the response of a ResponseSubmitted event (not yet checked:
// see domain.Response.Normalize).
func ResponseFromProto(m *survey.ResponseSubmitted) domain.Response {
	r := domain.Response{
		ResponseID: m.GetResponseId(),
		SurveyID:   m.GetSurveyId(),
		MemberID:   m.GetMemberId(),
		Touchpoint: fromEnum(m.GetTouchpoint().String(), "TOUCHPOINT_", int32(m.GetTouchpoint())),
		StoreID:    m.GetStoreId(),
		Score:      int(m.GetScore()),
		Comment:    m.GetComment(),
		NPSClass:   domain.NPSClass(fromEnum(m.GetNpsClass().String(), "NPS_CLASS_", int32(m.GetNpsClass()))),
	}
	if m.GetSubmittedAt() != nil {
		r.SubmittedAt = m.GetSubmittedAt().AsTime()
	}
	return r
}

// CaseToProto returns the API's view of a case.
func CaseToProto(v app.CaseView) *feedbackv1.Case {
	c := v.Case
	out := &feedbackv1.Case{
		CaseId:         c.ID,
		Kind:           KindToProto(c.Kind),
		Team:           c.Team,
		Status:         StatusToProto(c.Status),
		MemberId:       c.MemberID,
		ResponseId:     c.ResponseID,
		Score:          int32(c.Score),
		Comment:        c.Comment,
		NpsClass:       NPSClassToProto(c.NPSClass),
		Touchpoint:     TouchpointToProto(c.Touchpoint),
		StoreId:        c.StoreID,
		OpenedAt:       timestamppb.New(c.OpenedAt),
		DueAt:          timestamppb.New(c.DueAt),
		Overdue:        v.Overdue,
		Outcome:        OutcomeToProto(c.Outcome),
		ResolutionNote: c.ResolutionNote,
		ResolvedBy:     c.ResolvedBy,
	}
	if !c.ResolvedAt.IsZero() {
		out.ResolvedAt = timestamppb.New(c.ResolvedAt)
	}
	return out
}

// CaseOpened is the event of a case opened.
func CaseOpened(c domain.Case) *feedbackv1.CaseOpened {
	return &feedbackv1.CaseOpened{
		CaseId:     c.ID,
		Kind:       KindToProto(c.Kind),
		Team:       c.Team,
		MemberId:   c.MemberID,
		ResponseId: c.ResponseID,
		Score:      int32(c.Score),
		NpsClass:   NPSClassToProto(c.NPSClass),
		Touchpoint: TouchpointToProto(c.Touchpoint),
		StoreId:    c.StoreID,
		OpenedAt:   timestamppb.New(c.OpenedAt),
		DueAt:      timestamppb.New(c.DueAt),
	}
}

// CaseResolved is the event of a case resolved.
func CaseResolved(c domain.Case) *feedbackv1.CaseResolved {
	return &feedbackv1.CaseResolved{
		CaseId:     c.ID,
		Kind:       KindToProto(c.Kind),
		Team:       c.Team,
		Outcome:    OutcomeToProto(c.Outcome),
		ResolvedBy: c.ResolvedBy,
		OpenedAt:   timestamppb.New(c.OpenedAt),
		DueAt:      timestamppb.New(c.DueAt),
		ResolvedAt: timestamppb.New(c.ResolvedAt),
	}
}
