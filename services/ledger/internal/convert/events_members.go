package convert

import (
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
)

func consentChanged(e domain.MemberConsentChanged) *ledgerv1.MemberConsentChanged {
	return &ledgerv1.MemberConsentChanged{
		MemberId: e.MemberID, Locale: e.Locale, SurveyConsent: e.SurveyConsent, MarketingConsent: e.MarketingConsent,
		ChangedAt: Timestamp(e.ChangedAt),
	}
}
