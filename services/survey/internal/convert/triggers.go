package convert

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/enum"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// suppressionReasons pairs the suppression reasons.
var suppressionReasons = enum.New(map[domain.SuppressionReason]surveyv1.SuppressionReason{
	domain.SuppressedFrequencyCap:  surveyv1.SuppressionReason_SUPPRESSION_REASON_FREQUENCY_CAP,
	domain.SuppressedNoConsent:     surveyv1.SuppressionReason_SUPPRESSION_REASON_NO_CONSENT,
	domain.SuppressedOpenCase:      surveyv1.SuppressionReason_SUPPRESSION_REASON_OPEN_CASE,
	domain.SuppressedReturned:      surveyv1.SuppressionReason_SUPPRESSION_REASON_RETURNED,
	domain.SuppressedErased:        surveyv1.SuppressionReason_SUPPRESSION_REASON_ERASED,
	domain.SuppressedNoChannel:     surveyv1.SuppressionReason_SUPPRESSION_REASON_NO_CHANNEL,
	domain.SuppressedSurveyRetired: surveyv1.SuppressionReason_SUPPRESSION_REASON_SURVEY_RETIRED,
})

// invitationStatuses pairs the invitation statuses.
var invitationStatuses = enum.New(map[domain.InvitationStatus]surveyv1.InvitationStatus{
	domain.StatusScheduled:  surveyv1.InvitationStatus_INVITATION_STATUS_SCHEDULED,
	domain.StatusSent:       surveyv1.InvitationStatus_INVITATION_STATUS_SENT,
	domain.StatusAnswered:   surveyv1.InvitationStatus_INVITATION_STATUS_ANSWERED,
	domain.StatusSuppressed: surveyv1.InvitationStatus_INVITATION_STATUS_SUPPRESSED,
	domain.StatusFailed:     surveyv1.InvitationStatus_INVITATION_STATUS_FAILED,
	domain.StatusExpired:    surveyv1.InvitationStatus_INVITATION_STATUS_EXPIRED,
})

// salesChannel is where a touchpoint happened, as invitations keep it.
func salesChannel(c commonv1.Channel) string {
	switch c {
	case commonv1.Channel_CHANNEL_STORE:
		return "STORE"
	case commonv1.Channel_CHANNEL_WEB:
		return "WEB"
	}
	return ""
}

// salesChannelProto is the contract's channel of an invitation's sales channel.
func salesChannelProto(s string) commonv1.Channel {
	switch s {
	case "STORE":
		return commonv1.Channel_CHANNEL_STORE
	case "WEB":
		return commonv1.Channel_CHANNEL_WEB
	}
	return commonv1.Channel_CHANNEL_UNSPECIFIED
}

// IsMemberID reports whether a POS purchase's member id names a member (a UUID) rather
// than a card or another identifier the ledger resolves (its ledger.purchase.matched
// brings the purchase with the member then).
func IsMemberID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// PurchaseTrigger is the trigger of a POS purchase by a member; a purchase without a
// member id, or with one the ledger has to resolve, is no trigger here (ok false).
func PurchaseTrigger(e *posv1.PurchaseRecorded) (domain.Trigger, bool) {
	if !IsMemberID(e.GetMemberId()) {
		return domain.Trigger{}, false
	}
	t := domain.PurchaseTrigger(e.GetEventId(), e.GetStoreId(), e.GetTransactionId(), e.GetMemberId(), e.GetOccurredAt().AsTime())
	t.EmployeeID, t.SalesChannel = e.GetEmployeeId(), salesChannel(e.GetChannel())
	t.AmountMinor, t.Currency = e.GetTotalMinor(), e.GetCurrency()
	return t, true
}

// MatchedPurchaseTrigger is the trigger of a purchase the ledger matched to a member.
// Its key is the purchase's (store and transaction), so that the POS event and the
// match of one purchase earn one invitation.
func MatchedPurchaseTrigger(eventID string, e *ledgerv1.PurchaseMatched) domain.Trigger {
	id := e.GetPosEventId()
	if id == "" {
		id = eventID
	}
	t := domain.PurchaseTrigger(id, e.GetStoreId(), e.GetTransactionId(), e.GetMemberId(), e.GetOccurredAt().AsTime())
	t.EmployeeID, t.SalesChannel = e.GetEmployeeId(), salesChannel(e.GetChannel())
	t.AmountMinor, t.Currency = e.GetTotalMinor(), e.GetCurrency()
	return t
}

// ReturnKey is the touchpoint key of the purchase a return takes back.
func ReturnKey(e *posv1.ReturnRecorded) string {
	return domain.PurchaseTrigger("", e.GetStoreId(), e.GetOriginalTransactionId(), "", time.Time{}).Key
}

// ContactTrigger is the trigger of a service call, sales call, web visit, reward
// delivered or case resolved; a touchpoint the survey does not know is an error.
func ContactTrigger(e *touchpointv1.ContactRecorded) (domain.Trigger, error) {
	tp, ok := Touchpoints.Domain(e.GetTouchpoint())
	if !ok {
		return domain.Trigger{}, fmt.Errorf("touchpoint %v is not one the survey knows", e.GetTouchpoint())
	}
	t := domain.ContactTrigger(e.GetEventId(), e.GetMemberId(), tp, e.GetStoreId(), e.GetOccurredAt().AsTime())
	t.EmployeeID, t.SalesChannel = e.GetEmployeeId(), salesChannel(e.GetChannel())
	t.AmountMinor, t.Currency = e.GetAmountMinor(), e.GetCurrency()
	return t, nil
}

// RecordTouchpointTrigger is the trigger of a touchpoint reported through the API.
func RecordTouchpointTrigger(r *surveyv1.RecordTouchpointRequest) (domain.Trigger, error) {
	tp, ok := Touchpoints.Domain(r.GetTouchpoint())
	if !ok {
		return domain.Trigger{}, errors.New("not a touchpoint the survey knows")
	}
	var at time.Time
	if r.GetOccurredAt() != nil {
		at = r.GetOccurredAt().AsTime()
	}
	t := domain.ContactTrigger(r.GetEventId(), r.GetMemberId(), tp, r.GetStoreId(), at)
	t.EmployeeID, t.SalesChannel = r.GetEmployeeId(), salesChannel(r.GetChannel())
	t.AmountMinor, t.Currency = r.GetAmountMinor(), r.GetCurrency()
	return t, nil
}

// CaseResolvedTrigger is the touchpoint of a case resolved for a member ("" member: no
// trigger, which the application drops), keyed case:<case id>.
func CaseResolvedTrigger(eventID string, e *feedbackv1.CaseResolved) domain.Trigger {
	return domain.CaseResolvedTrigger(eventID, e.GetCaseId(), e.GetMemberId(), e.GetResolvedAt().AsTime())
}

// OpenedCase is a case opened.
func OpenedCase(e *feedbackv1.CaseOpened) app.Case {
	return app.Case{ID: e.GetCaseId(), MemberID: e.GetMemberId(), OpenedAt: e.GetOpenedAt().AsTime()}
}

// EnrolledProfile is the rest of the member copy an enrolment brings.
func EnrolledProfile(e *ledgerv1.MemberEnrolled) *domain.MemberProfile {
	return &domain.MemberProfile{Email: e.GetEmail(), Phone: e.GetPhone(), Locale: e.GetLocale(), TimeZone: e.GetTimeZone(),
		Tier: e.GetTier(), Tags: e.GetTags()}
}

// MemberUpdate is a member's profile update.
func MemberUpdate(e *ledgerv1.MemberUpdated) app.MemberUpdate {
	return app.MemberUpdate{Kind: app.UpdateProfile, MemberID: e.GetMemberId(), AsOf: e.GetUpdatedAt().AsTime(),
		Profile: domain.MemberProfile{Email: e.GetEmail(), Phone: e.GetPhone(), Locale: e.GetLocale(), TimeZone: e.GetTimeZone(),
			Tier: e.GetTier(), Tags: e.GetTags()}}
}

// TierChange is a member's change of tier.
func TierChange(e *ledgerv1.MemberTierChanged) app.MemberUpdate {
	return app.MemberUpdate{Kind: app.UpdateTier, MemberID: e.GetMemberId(), AsOf: e.GetEffectiveAt().AsTime(),
		Profile: domain.MemberProfile{Tier: e.GetToTier()}}
}

// ToInvitationSuppressed is the event of a suppression.
func ToInvitationSuppressed(s domain.Suppression) *surveyv1.InvitationSuppressed {
	return &surveyv1.InvitationSuppressed{
		InvitationId: s.InvitationID, MemberId: s.MemberID, TriggerId: s.TriggerID,
		Touchpoint: Touchpoints.Proto(s.Touchpoint), Reason: suppressionReasons.Proto(s.Reason),
		SuppressedAt: timestamppb.New(s.At),
	}
}

// TriggerRuleSpec is the domain's rule of a request's spec.
func TriggerRuleSpec(s *surveyv1.TriggerRuleSpec) (domain.TriggerRule, error) {
	r := domain.TriggerRule{
		Name: s.GetName(), Condition: s.GetCondition(), SurveyID: s.GetSurveyId(),
		Delay: s.GetDelay().AsDuration(), SamplingRate: s.GetSamplingRate(), Priority: int(s.GetPriority()),
		ExemptFromFrequencyCap: s.GetExemptFromFrequencyCap(),
	}
	for _, tp := range s.GetTouchpoints() {
		d, ok := Touchpoints.Domain(tp)
		if !ok {
			return domain.TriggerRule{}, &domain.FieldError{Field: "spec.touchpoints", Reason: "not a touchpoint the survey knows"}
		}
		r.Touchpoints = append(r.Touchpoints, d)
	}
	for _, c := range s.GetChannels() {
		d, ok := DeliveryChannels.Domain(c)
		if !ok {
			return domain.TriggerRule{}, &domain.FieldError{Field: "spec.channels", Reason: "not a channel a rule may use"}
		}
		r.Channels = append(r.Channels, d)
	}
	return r, nil
}

// ToTriggerRule is the API's view of a rule.
func ToTriggerRule(r domain.TriggerRule) *surveyv1.TriggerRule {
	spec := &surveyv1.TriggerRuleSpec{
		Name: r.Name, Condition: r.Condition, SurveyId: r.SurveyID, Delay: durationpb.New(r.Delay),
		SamplingRate: r.SamplingRate, Priority: int32(r.Priority), ExemptFromFrequencyCap: r.ExemptFromFrequencyCap,
	}
	for _, tp := range r.Touchpoints {
		spec.Touchpoints = append(spec.Touchpoints, Touchpoints.Proto(tp))
	}
	for _, c := range r.Channels {
		spec.Channels = append(spec.Channels, DeliveryChannels.Proto(c))
	}
	return &surveyv1.TriggerRule{
		TriggerId: r.ID, Version: int32(r.Version), Active: r.Active, Spec: spec,
		CreatedAt: timestamppb.New(r.CreatedAt), UpdatedAt: timestamppb.New(r.UpdatedAt),
	}
}

// SuppressionReason is the domain's reason of the API's (UNSPECIFIED: "").
func SuppressionReason(r surveyv1.SuppressionReason) domain.SuppressionReason {
	d, _ := suppressionReasons.Domain(r)
	return d
}

// ToSuppression is the API's view of a suppression.
func ToSuppression(s domain.Suppression) *surveyv1.Suppression {
	return &surveyv1.Suppression{
		SuppressionId: s.ID, InvitationId: s.InvitationID, MemberId: s.MemberID, TriggerId: s.TriggerID,
		Touchpoint: Touchpoints.Proto(s.Touchpoint), TouchpointKey: s.Key, Reason: suppressionReasons.Proto(s.Reason),
		SuppressedAt: timestamppb.New(s.At),
	}
}

// EncodeSuppressionsToken is the page token of a suppressions cursor.
func EncodeSuppressionsToken(c *app.Cursor) string {
	if c == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID))
}

// DecodeSuppressionsToken reads a page token ("" is the first page).
func DecodeSuppressionsToken(token string) (*app.Cursor, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, err
	}
	at, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return nil, errors.New("malformed")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, err
	}
	return &app.Cursor{CreatedAt: t, ID: id}, nil
}

// ToScheduledInvitation is the API's view of an invitation (a touchpoint's, or one listed).
func ToScheduledInvitation(inv domain.Invitation, url string) *surveyv1.Invitation {
	out := &surveyv1.Invitation{
		InvitationId: inv.ID, SurveyId: inv.SurveyID, MemberId: inv.MemberID, Touchpoint: Touchpoints.Proto(inv.Touchpoint),
		StoreId: inv.StoreID, Url: url, ExpiresAt: timestamppb.New(inv.ExpiresAt), CreatedAt: timestamppb.New(inv.CreatedAt),
		Status: invitationStatuses.Proto(inv.Status), Channel: DeliveryChannels.Proto(inv.Channel),
		SurveyVersion: int32(inv.SurveyVersion), TriggerId: inv.TriggerID, EmployeeId: inv.EmployeeID,
	}
	if !inv.DueAt.IsZero() {
		out.DueAt = timestamppb.New(inv.DueAt)
	}
	if !inv.SentAt.IsZero() {
		out.SentAt = timestamppb.New(inv.SentAt)
	}
	return out
}
