package service_test

import (
	"slices"
	"testing"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/service"
)

func TestContract(t *testing.T) {
	t.Parallel()
	c, err := service.Contract()
	if err != nil {
		t.Fatal(err)
	}
	wantProduces := testkit.TypeNames(&rewardsv1.CouponGuessingSuspected{}, &rewardsv1.CouponIssued{}, &rewardsv1.CouponRedeemed{},
		&rewardsv1.RedemptionCancelled{}, &rewardsv1.RedemptionCompleted{})
	if got := testkit.EventTypes(c.Produces); !slices.Equal(got, wantProduces) {
		t.Fatalf("produces %v, want %v", got, wantProduces)
	}
	if got, want := testkit.EventTypes(c.Consumes), testkit.TypeNames(&ledgerv1.MemberErased{}); !slices.Equal(got, want) {
		t.Fatalf("consumes %v, want %v", got, want)
	}
}
