package convert

import (
	"fmt"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/services/survey/internal/domain"
)

// PurchaseTrigger is the trigger of a purchase (anonymous ones too: the application
// decides what they earn). It never fails; it returns an error to share ContactTrigger's
// shape.
func PurchaseTrigger(e *posv1.PurchaseRecorded) (domain.Trigger, error) {
	return domain.PurchaseTrigger(e.GetEventId(), e.GetStoreId(), e.GetTransactionId(), e.GetMemberId(), e.GetOccurredAt().AsTime()), nil
}

// ContactTrigger is the trigger of a service call, sales call or web visit; a
// touchpoint the survey does not know is an error.
func ContactTrigger(e *touchpointv1.ContactRecorded) (domain.Trigger, error) {
	tp, ok := Touchpoints.Domain(e.GetTouchpoint())
	if !ok {
		return domain.Trigger{}, fmt.Errorf("touchpoint %v is not one the survey knows", e.GetTouchpoint())
	}
	return domain.ContactTrigger(e.GetEventId(), e.GetMemberId(), tp, e.GetStoreId(), e.GetOccurredAt().AsTime()), nil
}

// Member is the survey's copy of an enrolled member: only what it needs (no name, no
// email).
func Member(e *ledgerv1.MemberEnrolled) domain.Member {
	return domain.Member{ID: e.GetMemberId(), Locale: e.GetLocale(), SurveyConsent: e.GetSurveyConsent(), AsOf: e.GetEnrolledAt().AsTime()}
}

// ConsentChange is the survey's copy of a member after a change of their consents: a
// member who withdrew their survey consent is never invited again (until they give it
// anew).
func ConsentChange(e *ledgerv1.MemberConsentChanged) domain.Member {
	return domain.Member{ID: e.GetMemberId(), Locale: e.GetLocale(), SurveyConsent: e.GetSurveyConsent(), AsOf: e.GetChangedAt().AsTime()}
}
