package convert

import (
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/enum"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/reporting/internal/domain"
)

// The events arrive valid by their contract (the bus has checked their rules); what the
// domain still refuses (a debit's shortfall above its points, say) comes back as an
// error wrapping domain.ErrInvalidEvent.

var npsClasses = enum.New(map[domain.NpsClass]commonv1.NpsClass{
	domain.Detractor: commonv1.NpsClass_NPS_CLASS_DETRACTOR,
	domain.Passive:   commonv1.NpsClass_NPS_CLASS_PASSIVE,
	domain.Promoter:  commonv1.NpsClass_NPS_CLASS_PROMOTER,
})

// Returns, expiries and adjustments have counters of their own; any other reason counts
// as an adjustment (domain.DebitOther).
var debitReasons = enum.New(map[domain.DebitReason]ledgerv1.PointsReason{
	domain.DebitReturn:     ledgerv1.PointsReason_POINTS_REASON_RETURN,
	domain.DebitExpiry:     ledgerv1.PointsReason_POINTS_REASON_EXPIRY,
	domain.DebitAdjustment: ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT,
})

var scoreKinds = enum.New(map[domain.ScoreKind]commonv1.ScoreKind{
	domain.KindNPS:  commonv1.ScoreKind_SCORE_KIND_NPS,
	domain.KindCSAT: commonv1.ScoreKind_SCORE_KIND_CSAT,
	domain.KindCES:  commonv1.ScoreKind_SCORE_KIND_CES,
})

// ResponseSubmitted is an answer: NPS when its kind is unspecified (events from before
// kinds were kept), CSAT or CES. An NPS answer's class, unspecified (or unknown to this
// build), is left to the score.
func ResponseSubmitted(e *surveyv1.ResponseSubmitted) (domain.Response, error) {
	class, _ := npsClasses.Domain(e.GetNpsClass())
	kind, _ := scoreKinds.Domain(e.GetScoreKind())
	return domain.NewScoredResponse(kind, int(e.GetScore()), class, touchpointName(e.GetTouchpoint()), e.GetStoreId(), timeOf(e.GetSubmittedAt()))
}

// InvitationCreated is an invitation created.
func InvitationCreated(e *surveyv1.InvitationCreated) (domain.FunnelEvent, error) {
	return domain.NewFunnelEvent(domain.StepCreated, "", timeOf(e.GetCreatedAt()))
}

// InvitationSent is an invitation, or its reminder, sent.
func InvitationSent(e *surveyv1.InvitationSent) (domain.FunnelEvent, error) {
	step := domain.StepSent
	if e.GetReminder() {
		step = domain.StepReminded
	}
	return domain.NewFunnelEvent(step, "", timeOf(e.GetSentAt()))
}

// InvitationSuppressed is an invitation the contact policy held back, with the reason's
// name (FREQUENCY_CAP, NO_CONSENT, ...).
func InvitationSuppressed(e *surveyv1.InvitationSuppressed) (domain.FunnelEvent, error) {
	return domain.NewFunnelEvent(domain.StepSuppressed, enumName(e.GetReason(), "SUPPRESSION_REASON_"), timeOf(e.GetSuppressedAt()))
}

// InvitationDeliveryFailed is an invitation every delivery attempt failed.
func InvitationDeliveryFailed(e *surveyv1.InvitationDeliveryFailed) (domain.FunnelEvent, error) {
	return domain.NewFunnelEvent(domain.StepFailed, "", timeOf(e.GetFailedAt()))
}

// touchpointName is the API's name of a touchpoint: "PURCHASE", "WEB_VISIT", ...
func touchpointName(t commonv1.Touchpoint) string {
	return strings.TrimPrefix(t.String(), "TOUCHPOINT_")
}

// PointsCredited is points credited to a member.
func PointsCredited(e *ledgerv1.PointsCredited) (domain.PointsMovement, error) {
	return domain.Credit(timeOf(e.GetOccurredAt()), e.GetPoints())
}

// PointsDebited is points taken back from a member.
func PointsDebited(e *ledgerv1.PointsDebited) (domain.PointsMovement, error) {
	reason, _ := debitReasons.Domain(e.GetReason())
	return domain.Debit(timeOf(e.GetOccurredAt()), reason, e.GetPoints(), e.GetShortfall())
}

// HoldCaptured is held points redeemed.
func HoldCaptured(e *ledgerv1.HoldCaptured) (domain.PointsMovement, error) {
	return domain.Capture(timeOf(e.GetCapturedAt()), e.GetPoints())
}

// CaseOpened is what an opened case tells; its member is not kept.
func CaseOpened(e *feedbackv1.CaseOpened) (domain.CaseChange, error) {
	return domain.CaseOpened(domain.CaseChange{
		ID:         e.GetCaseId(),
		Kind:       enumName(e.GetKind(), "CASE_KIND_"),
		Team:       e.GetTeam(),
		Touchpoint: enumName(e.GetTouchpoint(), "TOUCHPOINT_"),
		StoreID:    e.GetStoreId(),
		OpenedAt:   timeOf(e.GetOpenedAt()),
		DueAt:      timeOf(e.GetDueAt()),
		// Cases opened before it was kept have none: their first contact has no due time.
		FirstContactDueAt: timeOf(e.GetFirstContactDueAt()),
	})
}

// ResponseTagged is an answer whose comment named topics: counted as ResponseSubmitted
// counts it, once per topic; the case it may have opened does not matter here.
func ResponseTagged(e *feedbackv1.ResponseTagged) (domain.TopicMention, error) {
	class, _ := npsClasses.Domain(e.GetNpsClass())
	kind, _ := scoreKinds.Domain(e.GetScoreKind())
	r, err := domain.NewScoredResponse(kind, int(e.GetScore()), class, touchpointName(e.GetTouchpoint()), e.GetStoreId(), timeOf(e.GetSubmittedAt()))
	if err != nil {
		return domain.TopicMention{}, err
	}
	return domain.NewTopicMention(r, e.GetTopics())
}

// CaseResolved is what a resolved case tells.
func CaseResolved(e *feedbackv1.CaseResolved) (domain.CaseChange, error) {
	return domain.CaseResolved(domain.CaseChange{
		ID:         e.GetCaseId(),
		Kind:       enumName(e.GetKind(), "CASE_KIND_"),
		Team:       e.GetTeam(),
		Outcome:    enumName(e.GetOutcome(), "CASE_OUTCOME_"),
		OpenedAt:   timeOf(e.GetOpenedAt()),
		DueAt:      timeOf(e.GetDueAt()),
		ResolvedAt: timeOf(e.GetResolvedAt()),
	})
}

// transition is what every lifecycle event tells of its case: its team and due times.
func transition(t *feedbackv1.CaseTransition) domain.CaseChange {
	return domain.CaseChange{
		ID:                t.GetCaseId(),
		Team:              t.GetTeam(),
		DueAt:             timeOf(t.GetDueAt()),
		FirstContactDueAt: timeOf(t.GetFirstContactDueAt()),
	}
}

// CaseContacted is the customer contacted.
func CaseContacted(e *feedbackv1.CaseContacted) (domain.CaseChange, error) {
	c := transition(e.GetTransition())
	c.FirstContactAt = timeOf(e.GetTransition().GetAt())
	return domain.CaseContacted(c)
}

// CaseReopened is a case reopened (by staff, or by the customer's "not solved").
func CaseReopened(e *feedbackv1.CaseReopened) (domain.CaseChange, error) {
	c := transition(e.GetTransition())
	c.ReopenedAt = timeOf(e.GetTransition().GetAt())
	return domain.CaseReopened(c)
}

// CaseWaiting is the case waiting for the customer: its SLA clocks pause.
func CaseWaiting(e *feedbackv1.CaseWaiting) (domain.CaseChange, error) {
	c := transition(e.GetTransition())
	c.WaitingAt = timeOf(e.GetTransition().GetAt())
	return domain.CaseWaiting(c)
}

// CaseResumed is the wait over; the transition carries the due times moved by the pause.
func CaseResumed(e *feedbackv1.CaseResumed) (domain.CaseChange, error) {
	c := transition(e.GetTransition())
	c.ResumedAt = timeOf(e.GetTransition().GetAt())
	return domain.CaseResumed(c)
}

// CasesMerged is the duplicate closed into the primary; the primary goes on as it was.
func CasesMerged(e *feedbackv1.CasesMerged) (domain.CaseChange, error) {
	return domain.CaseMerged(domain.CaseChange{ID: e.GetDuplicateCaseId(), MergedAt: timeOf(e.GetAt())})
}

// CaseEscalated is a deadline passed, escalated to a level.
func CaseEscalated(e *feedbackv1.CaseEscalated) (domain.CaseChange, error) {
	return domain.CaseEscalated(domain.CaseChange{ID: e.GetCaseId(), Team: e.GetTeam(), EscalationLevel: int(e.GetLevel())}, timeOf(e.GetAt()))
}

// CaseReminder is the assignee reminded of a deadline.
func CaseReminder(e *feedbackv1.CaseReminder) (domain.CaseChange, error) {
	return domain.CaseReminded(domain.CaseChange{ID: e.GetCaseId(), Team: e.GetTeam()}, timeOf(e.GetAt()))
}

// CaseFollowUpReceived is the customer's answer to the follow-up survey; its kind is
// CSAT when unspecified (the seeded follow-up survey asks CSAT). The comment and the
// member are not kept.
func CaseFollowUpReceived(e *feedbackv1.CaseFollowUpReceived) (domain.CaseChange, error) {
	kind, ok := scoreKinds.Domain(e.GetScoreKind())
	if !ok {
		kind = domain.KindCSAT
	}
	return domain.CaseFollowUp(domain.CaseChange{ID: e.GetCaseId(), FollowUp: domain.FollowUpAnswer{
		At: timeOf(e.GetReceivedAt()), Kind: kind, Score: int(e.GetScore()), Satisfied: e.GetSatisfied(), Solved: e.GetSolved(),
	}})
}

// GoodwillGranted is goodwill points granted on a case (a grant of a coupon only has 0;
// the coupon counts when issued). The member is not kept.
func GoodwillGranted(e *feedbackv1.GoodwillGranted) (domain.CaseChange, error) {
	return domain.CaseGoodwill(domain.CaseChange{ID: e.GetCaseId(), GoodwillPoints: e.GetPoints()}, timeOf(e.GetGrantedAt()))
}

// GoodwillRewardIssued is the goodwill coupon of a case issued (emailed or not).
func GoodwillRewardIssued(e *feedbackv1.GoodwillRewardIssued) (domain.CaseChange, error) {
	return domain.CaseGoodwill(domain.CaseChange{ID: e.GetCaseId(), GoodwillCoupon: true}, timeOf(e.GetIssuedAt()))
}

// CouponIssued is a coupon issued by the event of id eventID. The event carries no time of its own: events
// published through an outbox have UUIDv7 ids, whose first 48 bits are the creation time
// in milliseconds. An event with any other id is undated (a zero Day), and counts on the
// day reporting sees it (domain.DateUndated).
func CouponIssued(eventID string) domain.CouponEvent {
	if id, err := uuid.Parse(eventID); err == nil && id.Version() == 7 {
		sec, nsec := id.Time().UnixTime()
		return domain.CouponEvent{Day: domain.DayOf(time.Unix(sec, nsec))}
	}
	return domain.CouponEvent{}
}

// CouponRedeemed is a coupon redeemed.
func CouponRedeemed(e *rewardsv1.CouponRedeemed) (domain.CouponEvent, error) {
	return domain.CouponRedeemed(timeOf(e.GetRedeemedAt()))
}

// MemberErased is the id of a member erased.
func MemberErased(e *ledgerv1.MemberErased) string { return e.GetMemberId() }
