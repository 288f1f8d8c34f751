package convert_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/validate"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
)

// A goodwill grant has points or a reward: the event's own rule (a CEL message rule)
// refuses one with neither, so that a consumer never books an empty grant.
func TestGoodwillGrantedNeedsPointsOrReward(t *testing.T) {
	v, err := validate.New()
	if err != nil {
		t.Fatal(err)
	}
	ev := func(points int64, reward string) *feedbackv1.GoodwillGranted {
		return &feedbackv1.GoodwillGranted{GrantId: "c1", CaseId: "c1", MemberId: "m1", Points: points, RewardId: reward,
			GrantedAt: timestamppb.Now()}
	}
	for _, ok := range []*feedbackv1.GoodwillGranted{ev(300, ""), ev(0, "0193a1b2-0000-7000-8000-000000000001"), ev(5, "0193a1b2-0000-7000-8000-000000000001")} {
		if err := v.Validate(ok); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	for _, bad := range []*feedbackv1.GoodwillGranted{ev(0, ""), ev(-1, "0193a1b2-0000-7000-8000-000000000001")} {
		if err := v.Validate(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
