package service_test

import (
	"slices"
	"testing"

	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/ledger/service"
)

// TestContract: the ledger declares the events it produces and the typed routes of every
// consumer, without a running application.
func TestContract(t *testing.T) {
	c, err := service.Contract()
	if err != nil {
		t.Fatal(err)
	}
	if c.Service != service.Name {
		t.Errorf("service %q, want %q", c.Service, service.Name)
	}
	produces := testkit.TypeNames(&ledgerv1.MemberEnrolled{}, &ledgerv1.MemberErased{}, &ledgerv1.PointsCredited{}, &ledgerv1.PointsDebited{},
		&ledgerv1.HoldPlaced{}, &ledgerv1.HoldCaptured{}, &ledgerv1.HoldVoided{}, &ledgerv1.UnmatchedPurchaseRecorded{},
		&ledgerv1.MemberConsentChanged{}, &ledgerv1.PointsExpiringSoon{}, &ledgerv1.MemberTierChanged{},
		&ledgerv1.CampaignBudgetExhausted{}, &ledgerv1.MemberUpdated{}, &ledgerv1.PurchaseMatched{}, &ledgerv1.GoodwillRefused{})
	if g := testkit.EventTypes(c.Produces); !slices.Equal(g, produces) {
		t.Errorf("produces %v, want %v", g, produces)
	}
	consumes := testkit.TypeNames(&posv1.PurchaseRecorded{}, &posv1.ReturnRecorded{}, &posv1.CustomEventRecorded{}, &surveyv1.ResponseSubmitted{},
		&surveyv1.MemberUnsubscribed{}, &rewardsv1.RedemptionCompleted{}, &rewardsv1.RedemptionCancelled{}, &feedbackv1.GoodwillGranted{})
	if g := testkit.EventTypes(c.Consumes); !slices.Equal(g, consumes) {
		t.Errorf("consumes %v, want %v", g, consumes)
	}
}
