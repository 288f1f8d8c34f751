// Package convert is the one place where the protobuf contract meets the domain:
// requests, responses and events, both ways. Enumerations are paired once, in tables.
package convert

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/enum"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// Produces is one message of every event type the service emits.
var Produces = append([]proto.Message{&feedbackv1.CaseOpened{}, &feedbackv1.CaseResolved{}, &feedbackv1.GoodwillGranted{}, &feedbackv1.GoodwillRewardIssued{}, &feedbackv1.CaseFollowUpReceived{}, &feedbackv1.ResponseTagged{}}, lifecycleProduces...)

var (
	kinds = enum.New(map[domain.CaseKind]feedbackv1.CaseKind{
		domain.KindCallback:        feedbackv1.CaseKind_CASE_KIND_CALLBACK,
		domain.KindReferralRequest: feedbackv1.CaseKind_CASE_KIND_REFERRAL_REQUEST,
	})
	statuses = enum.New(map[domain.Status]feedbackv1.CaseStatus{
		domain.StatusOpen:     feedbackv1.CaseStatus_CASE_STATUS_OPEN,
		domain.StatusResolved: feedbackv1.CaseStatus_CASE_STATUS_RESOLVED,
		// The lifecycle (migration 00006).
		domain.StatusAcknowledged: feedbackv1.CaseStatus_CASE_STATUS_ACKNOWLEDGED,
		domain.StatusContacted:    feedbackv1.CaseStatus_CASE_STATUS_CONTACTED,
		domain.StatusWaiting:      feedbackv1.CaseStatus_CASE_STATUS_WAITING,
		domain.StatusClosed:       feedbackv1.CaseStatus_CASE_STATUS_CLOSED,
	})
	outcomes = enum.New(map[domain.Outcome]feedbackv1.CaseOutcome{
		domain.OutcomeContactedResolved:   feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
		domain.OutcomeContactedUnresolved: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_UNRESOLVED,
		domain.OutcomeUnreachable:         feedbackv1.CaseOutcome_CASE_OUTCOME_UNREACHABLE,
		domain.OutcomeReferralGiven:       feedbackv1.CaseOutcome_CASE_OUTCOME_REFERRAL_GIVEN,
		domain.OutcomeReferralDeclined:    feedbackv1.CaseOutcome_CASE_OUTCOME_REFERRAL_DECLINED,
		domain.OutcomeNoActionNeeded:      feedbackv1.CaseOutcome_CASE_OUTCOME_NO_ACTION_NEEDED,
	})
	classes = enum.New(map[domain.NPSClass]commonv1.NpsClass{
		domain.NPSDetractor: commonv1.NpsClass_NPS_CLASS_DETRACTOR,
		domain.NPSPassive:   commonv1.NpsClass_NPS_CLASS_PASSIVE,
		domain.NPSPromoter:  commonv1.NpsClass_NPS_CLASS_PROMOTER,
	})
	scoreKinds = enum.New(map[domain.ScoreKind]commonv1.ScoreKind{
		domain.ScoreNPS:  commonv1.ScoreKind_SCORE_KIND_NPS,
		domain.ScoreCSAT: commonv1.ScoreKind_SCORE_KIND_CSAT,
		domain.ScoreCES:  commonv1.ScoreKind_SCORE_KIND_CES,
	})
	// Channels keep the contract's names too (response.channel == "WEB").
	channels = enum.New(map[string]commonv1.Channel{
		"STORE": commonv1.Channel_CHANNEL_STORE,
		"WEB":   commonv1.Channel_CHANNEL_WEB,
	})
	// Touchpoints keep the contract's names: routing rules are written with them
	// (response.touchpoint == "WEB_VISIT").
	touchpoints = enum.New(map[string]commonv1.Touchpoint{
		"PURCHASE":         commonv1.Touchpoint_TOUCHPOINT_PURCHASE,
		"SERVICE_CALL":     commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL,
		"SALES_CALL":       commonv1.Touchpoint_TOUCHPOINT_SALES_CALL,
		"WEB_VISIT":        commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT,
		"REWARD_DELIVERED": commonv1.Touchpoint_TOUCHPOINT_REWARD_DELIVERED,
		"CASE_RESOLVED":    commonv1.Touchpoint_TOUCHPOINT_CASE_RESOLVED,
	})
)

// domainOf is m.Domain without the ok: an unpaired value (UNSPECIFIED) is the zero value.
func domainOf[D comparable, P ~int32](m enum.Map[D, P], p P) D {
	d, _ := m.Domain(p)
	return d
}

// Response returns the response of a ResponseSubmitted event (not yet normalised: see
// domain.Response.Normalize).
func Response(m *surveyv1.ResponseSubmitted) domain.Response {
	return domain.Response{
		ResponseID:    m.GetResponseId(),
		SurveyID:      m.GetSurveyId(),
		MemberID:      m.GetMemberId(),
		Touchpoint:    domainOf(touchpoints, m.GetTouchpoint()),
		StoreID:       m.GetStoreId(),
		Score:         int(m.GetScore()),
		Comment:       m.GetComment(),
		NPSClass:      domainOf(classes, m.GetNpsClass()),
		SubmittedAt:   timeOrZero(m.GetSubmittedAt()),
		ScoreKind:     domainOf(scoreKinds, m.GetScoreKind()),
		CSATSatisfied: m.GetCsatSatisfied(),
		CESLowEffort:  m.GetCesLowEffort(),
		EmployeeID:    m.GetEmployeeId(),
		Channel:       domainOf(channels, m.GetChannel()),
		TouchpointKey: m.GetTouchpointKey(),
		Locale:        m.GetLocale(),
		Solved:        solvedAnswer(m),
	}
}

func timeOrZero(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// ErasedMember returns the member a MemberErased event erases.
func ErasedMember(m *ledgerv1.MemberErased) string { return m.GetMemberId() }

// Case returns the API's view of a case.
func Case(v app.CaseView) *feedbackv1.Case {
	c := v.Case
	out := &feedbackv1.Case{
		CaseId:         c.ID,
		Kind:           kinds.Proto(c.Kind),
		Team:           c.Team,
		Status:         statuses.Proto(c.Status),
		MemberId:       c.MemberID,
		ResponseId:     c.ResponseID,
		Score:          int32(c.Score),
		Comment:        c.Comment,
		NpsClass:       classes.Proto(c.NPSClass),
		Touchpoint:     touchpoints.Proto(c.Touchpoint),
		StoreId:        c.StoreID,
		OpenedAt:       timestamppb.New(c.OpenedAt),
		DueAt:          timestamppb.New(c.DueAt),
		Overdue:        v.Overdue,
		Outcome:        outcomes.Proto(c.Outcome),
		ResolutionNote: c.ResolutionNote,
		ResolvedBy:     c.ResolvedBy,
		ResolvedAt:     timestampOrNil(c.ResolvedAt),
		ScoreKind:      scoreKinds.Proto(c.ScoreKind),
		EmployeeId:     c.EmployeeID,
		ReferralCode:   v.ReferralCode,
		Topics:         c.Topics,
	}
	caseLifecycle(out, v)
	out.TouchpointKey = v.TouchpointKey
	if cu := v.Customer; cu != nil {
		out.Customer = &feedbackv1.CaseCustomer{
			DisplayName: cu.DisplayName, Email: cu.Email, Phone: cu.Phone, PreferredContact: cu.PreferredContact(),
			Tier: cu.Tier, Points: cu.Points, Locale: cu.Locale,
		}
	}
	if f := v.FollowUp; f != nil {
		out.FollowUpResponseId, out.FollowUpScore, out.FollowUpScoreKind = f.ResponseID, int32(f.Score), scoreKinds.Proto(f.ScoreKind)
		out.FollowUpReceivedAt, out.FollowUpSolved = timestamppb.New(f.ReceivedAt), f.Solved
	}
	if r := v.GoodwillReward; r != nil {
		out.GoodwillReward = &feedbackv1.CaseGoodwillReward{
			RewardId: r.RewardID, Status: string(r.Status), CouponId: r.CouponID, RewardName: r.RewardName,
			ValueMinor: r.ValueMinor, Currency: r.Currency, ExpiresAt: timestampOrNil(r.ExpiresAt), Error: r.Error,
			Attempts: int32(r.Attempts), UpdatedAt: timestampOrNil(r.UpdatedAt),
		}
	}
	return out
}

func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Events returns the messages of domain events.
func Events(events ...domain.Event) ([]proto.Message, error) {
	out := make([]proto.Message, len(events))
	for i, e := range events {
		switch e := e.(type) {
		case domain.CaseOpened:
			out[i] = caseOpened(e.Case)
			out[i].(*feedbackv1.CaseOpened).ReferralCode = e.ReferralCode
		case domain.CaseResolved:
			out[i] = caseResolved(e.Case)
		case domain.GoodwillGranted:
			out[i] = goodwillGranted(e.Goodwill)
		case domain.GoodwillRewardIssued:
			out[i] = goodwillRewardIssued(e.Reward)
		case domain.FollowUpReceived:
			out[i] = followUpReceived(e.FollowUp)
		case domain.ResponseTagged:
			out[i] = responseTagged(e)
		default:
			m, ok := lifecycleEvent(e)
			if !ok {
				return nil, fmt.Errorf("convert: no message for the event %T", e)
			}
			out[i] = m
		}
	}
	return out, nil
}

func caseOpened(c domain.Case) *feedbackv1.CaseOpened {
	return &feedbackv1.CaseOpened{
		CaseId:     c.ID,
		Kind:       kinds.Proto(c.Kind),
		Team:       c.Team,
		MemberId:   c.MemberID,
		ResponseId: c.ResponseID,
		Score:      int32(c.Score),
		NpsClass:   classes.Proto(c.NPSClass),
		Touchpoint: touchpoints.Proto(c.Touchpoint),
		StoreId:    c.StoreID,
		OpenedAt:   timestamppb.New(c.OpenedAt),
		DueAt:      timestamppb.New(c.DueAt),
		ScoreKind:  scoreKinds.Proto(c.ScoreKind),
		EmployeeId: c.EmployeeID,
		Topics:     c.Topics,
		// The lifecycle's fields.
		Assignee:          c.Assignee,
		FirstContactDueAt: timestampOrNil(c.FirstContactDueAt),
	}
}

func caseResolved(c domain.Case) *feedbackv1.CaseResolved {
	return &feedbackv1.CaseResolved{
		CaseId:     c.ID,
		Kind:       kinds.Proto(c.Kind),
		Team:       c.Team,
		Outcome:    outcomes.Proto(c.Outcome),
		ResolvedBy: c.ResolvedBy,
		OpenedAt:   timestamppb.New(c.OpenedAt),
		DueAt:      timestamppb.New(c.DueAt),
		ResolvedAt: timestamppb.New(c.ResolvedAt),
		MemberId:   c.MemberID,
		RootCause:  c.RootCause,
		Assignee:   c.Assignee,
	}
}

func goodwillGranted(g domain.Goodwill) *feedbackv1.GoodwillGranted {
	return &feedbackv1.GoodwillGranted{
		GrantId:   g.CaseID,
		CaseId:    g.CaseID,
		MemberId:  g.MemberID,
		Points:    g.Points,
		GrantedBy: g.GrantedBy,
		Role:      g.Role,
		Reason:    g.Reason,
		GrantedAt: timestamppb.New(g.GrantedAt),
		RewardId:  g.RewardID,
	}
}

func responseTagged(e domain.ResponseTagged) *feedbackv1.ResponseTagged {
	r := e.Response
	return &feedbackv1.ResponseTagged{
		ResponseId:  r.ResponseID,
		CaseId:      e.CaseID,
		Topics:      e.Topics,
		Score:       int32(r.Score),
		ScoreKind:   scoreKinds.Proto(r.ScoreKind),
		NpsClass:    classes.Proto(r.NPSClass),
		Touchpoint:  touchpoints.Proto(r.Touchpoint),
		StoreId:     r.StoreID,
		SubmittedAt: timestamppb.New(r.SubmittedAt),
	}
}

func goodwillRewardIssued(r domain.GoodwillReward) *feedbackv1.GoodwillRewardIssued {
	ev := &feedbackv1.GoodwillRewardIssued{
		CaseId: r.CaseID, MemberId: r.MemberID, RewardId: r.RewardID, CouponId: r.CouponID,
		ValueMinor: r.ValueMinor, Currency: r.Currency, ExpiresAt: timestamppb.New(r.ExpiresAt),
		Emailed: r.Status == domain.RewardEmailed, IssuedAt: timestamppb.New(r.UpdatedAt),
	}
	if !ev.Emailed {
		ev.Error = r.Error
	}
	return ev
}

func followUpReceived(f domain.FollowUp) *feedbackv1.CaseFollowUpReceived {
	return &feedbackv1.CaseFollowUpReceived{
		CaseId:     f.CaseID,
		ResponseId: f.ResponseID,
		MemberId:   f.MemberID,
		Score:      int32(f.Score),
		ScoreKind:  scoreKinds.Proto(f.ScoreKind),
		Satisfied:  f.Satisfied,
		Comment:    f.Comment,
		ReceivedAt: timestamppb.New(f.ReceivedAt),
		Solved:     f.Solved,
	}
}

// SolvedQuestion is the question id of the follow-up survey's "Is your problem solved?".
const SolvedQuestion = "solved"

// solvedAnswer is the choice ("yes", "no") answered to the question "solved", or "".
func solvedAnswer(m *surveyv1.ResponseSubmitted) string {
	for _, a := range m.GetAnswers() {
		if a.GetQuestionId() == SolvedQuestion && len(a.GetChoiceIds()) == 1 {
			return a.GetChoiceIds()[0]
		}
	}
	return ""
}

// EnrolledReferralCode is the referral code a MemberEnrolled event carries.
func EnrolledReferralCode(m *ledgerv1.MemberEnrolled) domain.ReferralCode {
	return domain.ReferralCode{MemberID: m.GetMemberId(), Code: m.GetReferralCode()}
}

// UpdatedReferralCode is the referral code a MemberUpdated event carries.
func UpdatedReferralCode(m *ledgerv1.MemberUpdated) domain.ReferralCode {
	return domain.ReferralCode{MemberID: m.GetMemberId(), Code: m.GetReferralCode()}
}
