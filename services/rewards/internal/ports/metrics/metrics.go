// Package metrics is rewards' business counters: redemptions completed and cancelled,
// coupons issued, redeemed and refused. The ports count what a use case returned it did,
// once its transaction committed (telemetry.Counter), and a retry that only answers with
// an earlier outcome counts nothing.
package metrics

import (
	"context"

	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/telemetry"
	"github.com/treue/treue/services/rewards/internal/app"
)

var (
	completed = telemetry.NewCounter("treue.rewards.redemptions.completed",
		"Redemptions completed: points held and the coupon issued.", "{redemption}")
	cancelled = telemetry.NewCounter("treue.rewards.redemptions.cancelled",
		"Redemptions cancelled, by reason (insufficient_points, member_not_found, ledger_rejected, hold_not_placed, issue_failed).", "{redemption}")
	issued = telemetry.NewCounter("treue.rewards.coupons.issued",
		"Coupons issued (one per completed redemption).", "{coupon}")
	redeemed = telemetry.NewCounter("treue.rewards.coupons.redeemed",
		"Coupons used at a till.", "{coupon}")
	refused = telemetry.NewCounter("treue.rewards.coupons.refused",
		"Coupon uses refused, by reason (not_found, already_redeemed, expired, too_many_attempts).", "{coupon}")
)

// Reasons a coupon use is refused.
const (
	RefusedNotFound        = "not_found"
	RefusedAlreadyRedeemed = "already_redeemed"
	RefusedExpired         = "expired"
	RefusedTooManyAttempts = "too_many_attempts"
)

// Redemption counts what one call or settling pass did to a redemption.
func Redemption(ctx context.Context, r app.Redeemed) {
	switch r.Settled {
	case app.SettledCompleted:
		completed.Add(ctx, 1)
		issued.Add(ctx, 1)
	case app.SettledCancelled:
		cancelled.Add(ctx, 1, attribute.String("reason", r.CancelReason))
	}
}

// CouponRedeemed counts a coupon used.
func CouponRedeemed(ctx context.Context) { redeemed.Add(ctx, 1) }

// CouponRefused counts a coupon use refused for reason.
func CouponRefused(ctx context.Context, reason string) {
	refused.Add(ctx, 1, attribute.String("reason", reason))
}
