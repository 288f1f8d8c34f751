package convert

import (
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/survey/internal/domain"
)

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
