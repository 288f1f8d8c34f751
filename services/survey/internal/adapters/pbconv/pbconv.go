// Package pbconv converts between the survey's domain types and the generated protobuf
// types of the contract, in one place for every adapter.
package pbconv

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/domain"
)

// ToProtoTouchpoint converts a touchpoint to the contract's enum.
func ToProtoTouchpoint(t domain.Touchpoint) commonv1.Touchpoint {
	switch t {
	case domain.TouchpointPurchase:
		return commonv1.Touchpoint_TOUCHPOINT_PURCHASE
	case domain.TouchpointServiceCall:
		return commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL
	case domain.TouchpointSalesCall:
		return commonv1.Touchpoint_TOUCHPOINT_SALES_CALL
	case domain.TouchpointWebVisit:
		return commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT
	}
	return commonv1.Touchpoint_TOUCHPOINT_UNSPECIFIED
}

// ToDomainTouchpoint converts the contract's enum; ok is false for an unspecified or
// unknown value.
func ToDomainTouchpoint(t commonv1.Touchpoint) (domain.Touchpoint, bool) {
	switch t {
	case commonv1.Touchpoint_TOUCHPOINT_PURCHASE:
		return domain.TouchpointPurchase, true
	case commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL:
		return domain.TouchpointServiceCall, true
	case commonv1.Touchpoint_TOUCHPOINT_SALES_CALL:
		return domain.TouchpointSalesCall, true
	case commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT:
		return domain.TouchpointWebVisit, true
	}
	return "", false
}

// ToProtoNPSClass converts an NPS class.
func ToProtoNPSClass(c domain.NPSClass) commonv1.NpsClass {
	switch c {
	case domain.Detractor:
		return commonv1.NpsClass_NPS_CLASS_DETRACTOR
	case domain.Passive:
		return commonv1.NpsClass_NPS_CLASS_PASSIVE
	case domain.Promoter:
		return commonv1.NpsClass_NPS_CLASS_PROMOTER
	}
	return commonv1.NpsClass_NPS_CLASS_UNSPECIFIED
}

// ToInvitationCreated is the event of a new invitation.
func ToInvitationCreated(inv domain.Invitation, url string) *surveyv1.InvitationCreated {
	return &surveyv1.InvitationCreated{
		InvitationId:   inv.ID,
		SurveyId:       inv.SurveyID,
		MemberId:       inv.MemberID,
		Touchpoint:     ToProtoTouchpoint(inv.Touchpoint),
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
		ResponseId:   r.ID,
		InvitationId: r.InvitationID,
		SurveyId:     r.SurveyID,
		MemberId:     r.MemberID,
		Touchpoint:   ToProtoTouchpoint(r.Touchpoint),
		StoreId:      r.StoreID,
		Score:        int32(r.Score),
		Comment:      r.Comment,
		NpsClass:     ToProtoNPSClass(r.Class),
		SubmittedAt:  timestamppb.New(r.SubmittedAt),
	}
}

// ToProtoResponse is a response as the API returns it.
func ToProtoResponse(r domain.Response) *surveyv1.Response {
	return &surveyv1.Response{
		ResponseId:   r.ID,
		InvitationId: r.InvitationID,
		MemberId:     r.MemberID,
		Score:        int32(r.Score),
		Comment:      r.Comment,
		NpsClass:     ToProtoNPSClass(r.Class),
		SubmittedAt:  timestamppb.New(r.SubmittedAt),
	}
}

// ToProtoInvitation is an invitation as the API lists it.
func ToProtoInvitation(inv domain.Invitation, url string, answered bool) *surveyv1.Invitation {
	return &surveyv1.Invitation{
		InvitationId: inv.ID,
		SurveyId:     inv.SurveyID,
		MemberId:     inv.MemberID,
		Touchpoint:   ToProtoTouchpoint(inv.Touchpoint),
		StoreId:      inv.StoreID,
		Url:          url,
		ExpiresAt:    timestamppb.New(inv.ExpiresAt),
		CreatedAt:    timestamppb.New(inv.CreatedAt),
		Answered:     answered,
	}
}
