// Package rewardsclient calls the rewards service over gRPC for goodwill coupons: it
// asks for a case's coupon (GrantGoodwillCoupon) and lists the catalogue's active
// rewards for the inbox.
package rewardsclient

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// Client is the rewards service as the feedback service sees it.
type Client struct {
	conn    *grpc.ClientConn
	rewards rewardsv1.RewardsServiceClient
	timeout time.Duration
}

var _ app.Rewards = (*Client)(nil)

// New prepares a connection to the rewards service at addr (it connects on first use),
// sending apiKey, a key with role goodwill, with every call; each call gets timeout as
// deadline. tp makes the client spans (nil: the global provider).
func New(addr, apiKey string, timeout time.Duration, tp trace.TracerProvider) (*Client, error) {
	conn, err := grpcx.NewClient(addr, apiKey, tp)
	if err != nil {
		return nil, fmt.Errorf("rewards client %s: %w", addr, err)
	}
	return &Client{conn: conn, rewards: rewardsv1.NewRewardsServiceClient(conn), timeout: timeout}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// GrantGoodwillCoupon implements app.Rewards. The reward's name and value come from the
// catalogue (the answer names the reward only).
func (c *Client) GrantGoodwillCoupon(ctx context.Context, r domain.GoodwillReward) (app.IssuedCoupon, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.rewards.GrantGoodwillCoupon(ctx, &rewardsv1.GrantGoodwillCouponRequest{
		IdempotencyKey: r.IdempotencyKey(), MemberId: r.MemberID, RewardId: r.RewardID, Reason: r.Reason, CaseId: r.CaseID,
	})
	if err != nil {
		return app.IssuedCoupon{}, classify(err)
	}
	out := app.IssuedCoupon{CouponID: resp.GetRedemption().GetCouponId(), ExpiresAt: resp.GetCouponExpiresAt().AsTime()}
	if resp.GetCouponCodeStatus() == rewardsv1.CouponCodeStatus_COUPON_CODE_STATUS_SHOWN {
		out.Code = resp.GetCouponCode()
	}
	list, err := c.rewards.ListRewards(ctx, &rewardsv1.ListRewardsRequest{IncludeInactive: true})
	if err != nil {
		// The coupon exists: whatever the catalogue answered, this is no refusal. The
		// worker asks again (the same key gets the same coupon and code).
		return app.IssuedCoupon{}, fmt.Errorf("rewards service: the catalogue, after the coupon was issued: %s", status.Convert(err).Message())
	}
	for _, w := range list.GetRewards() {
		if w.GetRewardId() == r.RewardID {
			out.RewardName, out.ValueMinor, out.Currency = w.GetName(), w.GetValueMinor(), w.GetCurrency()
		}
	}
	return out, nil
}

// ActiveRewards implements app.Rewards.
func (c *Client) ActiveRewards(ctx context.Context) ([]app.Reward, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	list, err := c.rewards.ListRewards(ctx, &rewardsv1.ListRewardsRequest{})
	if err != nil {
		return nil, classify(err)
	}
	out := make([]app.Reward, 0, len(list.GetRewards()))
	for _, w := range list.GetRewards() {
		if w.GetActive() && w.GetKind() == rewardsv1.RewardKind_REWARD_KIND_COUPON {
			out = append(out, app.Reward{ID: w.GetRewardId(), Name: w.GetName(), ValueMinor: w.GetValueMinor(), Currency: w.GetCurrency()})
		}
	}
	return out, nil
}

// classify tells the rewards service's decisions (app.ErrRewardRefused: no retry helps)
// from what left the outcome unknown.
func classify(err error) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.FailedPrecondition, codes.NotFound, codes.InvalidArgument:
		reason := grpcx.Reason(err)
		if reason == "" {
			reason = st.Code().String()
		}
		return fmt.Errorf("%w: %s: %s", app.ErrRewardRefused, reason, st.Message())
	}
	return fmt.Errorf("rewards service: %s: %s", st.Code(), st.Message())
}
