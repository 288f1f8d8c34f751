package service_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/treue/treue/pkg/bus"
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
	types := func(specs []bus.EventSpec) []string {
		var out []string
		for _, s := range specs {
			out = append(out, string(s.Type))
		}
		slices.Sort(out)
		return out
	}
	name := func(m interface{ ProtoReflect() protoreflect.Message }) string {
		return string(m.ProtoReflect().Descriptor().FullName())
	}
	wantProduces := []string{
		name(&rewardsv1.CouponIssued{}), name(&rewardsv1.CouponRedeemed{}),
		name(&rewardsv1.RedemptionCancelled{}), name(&rewardsv1.RedemptionCompleted{}),
	}
	if got := types(c.Produces); !slices.Equal(got, wantProduces) {
		t.Fatalf("produces %v, want %v", got, wantProduces)
	}
	if got, want := types(c.Consumes), []string{name(&ledgerv1.MemberErased{})}; !slices.Equal(got, want) {
		t.Fatalf("consumes %v, want %v", got, want)
	}
}
