// Package convert is the one place where the contract's generated types meet the
// survey's domain: events in and out, API requests and responses, the member export.
package convert

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/enum"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/domain"
)

// Produces lists one message of every event type the survey emits; the outbox refuses
// any other.
var Produces = []proto.Message{&surveyv1.InvitationCreated{}, &surveyv1.ResponseSubmitted{}}

// Touchpoints pairs the domain's touchpoints with the contract's.
var Touchpoints = enum.New(map[domain.Touchpoint]commonv1.Touchpoint{
	domain.TouchpointPurchase:        commonv1.Touchpoint_TOUCHPOINT_PURCHASE,
	domain.TouchpointServiceCall:     commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL,
	domain.TouchpointSalesCall:       commonv1.Touchpoint_TOUCHPOINT_SALES_CALL,
	domain.TouchpointWebVisit:        commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT,
	domain.TouchpointRewardDelivered: commonv1.Touchpoint_TOUCHPOINT_REWARD_DELIVERED,
	domain.TouchpointCaseResolved:    commonv1.Touchpoint_TOUCHPOINT_CASE_RESOLVED,
})

// NPSClasses pairs the NPS classes.
var NPSClasses = enum.New(map[domain.NPSClass]commonv1.NpsClass{
	domain.Detractor: commonv1.NpsClass_NPS_CLASS_DETRACTOR,
	domain.Passive:   commonv1.NpsClass_NPS_CLASS_PASSIVE,
	domain.Promoter:  commonv1.NpsClass_NPS_CLASS_PROMOTER,
})

// ScoreKinds pairs the kinds of score.
var ScoreKinds = enum.New(map[domain.ScoreKind]commonv1.ScoreKind{
	domain.ScoreNPS:  commonv1.ScoreKind_SCORE_KIND_NPS,
	domain.ScoreCSAT: commonv1.ScoreKind_SCORE_KIND_CSAT,
	domain.ScoreCES:  commonv1.ScoreKind_SCORE_KIND_CES,
})

// SalesChannels pairs where a touchpoint happened (invitations.sales_channel).
var SalesChannels = enum.New(map[string]commonv1.Channel{
	"STORE": commonv1.Channel_CHANNEL_STORE,
	"WEB":   commonv1.Channel_CHANNEL_WEB,
})

// Events converts domain events to the contract's messages.
func Events(events ...domain.Event) ([]proto.Message, error) {
	out := make([]proto.Message, len(events))
	for i, e := range events {
		switch e := e.(type) {
		case domain.InvitationCreated:
			out[i] = ToInvitationCreated(e.Invitation, e.URL)
		case domain.ResponseSubmitted:
			out[i] = ToResponseSubmitted(e.Response)
		default:
			return nil, fmt.Errorf("convert: no event message for %T", e)
		}
	}
	return out, nil
}

// ToInvitationCreated is the event of a new invitation.
func ToInvitationCreated(inv domain.Invitation, url string) *surveyv1.InvitationCreated {
	return &surveyv1.InvitationCreated{
		InvitationId:   inv.ID,
		SurveyId:       inv.SurveyID,
		MemberId:       inv.MemberID,
		Touchpoint:     Touchpoints.Proto(inv.Touchpoint),
		StoreId:        inv.StoreID,
		TriggerEventId: inv.TriggerEventID,
		Url:            url,
		ExpiresAt:      timestamppb.New(inv.ExpiresAt),
		CreatedAt:      timestamppb.New(inv.CreatedAt),
	}
}

// ToResponseSubmitted is the event of a new response.
func ToResponseSubmitted(r domain.Response) *surveyv1.ResponseSubmitted {
	return &surveyv1.ResponseSubmitted{
		ResponseId:    r.ID,
		InvitationId:  r.InvitationID,
		SurveyId:      r.SurveyID,
		MemberId:      r.MemberID,
		Touchpoint:    Touchpoints.Proto(r.Touchpoint),
		StoreId:       r.StoreID,
		Score:         int32(r.Score),
		Comment:       r.Comment,
		NpsClass:      NPSClasses.Proto(r.Class),
		SubmittedAt:   timestamppb.New(r.SubmittedAt),
		ScoreKind:     ScoreKinds.Proto(r.ScoreKind),
		CsatSatisfied: r.CSATSatisfied,
		CesLowEffort:  r.CESLowEffort,
		SurveyVersion: int32(r.SurveyVersion),
		EmployeeId:    r.EmployeeID,
		Channel:       SalesChannels.Proto(r.SalesChannel),
		TouchpointKey: r.TriggerKey,
		TriggerId:     r.TriggerID,
		Locale:        r.Locale,
		Answers:       ToProtoAnswers(r.Answers),
	}
}
