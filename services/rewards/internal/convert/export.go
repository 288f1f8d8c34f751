package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// Export is the rewards service's part of a member's data export, as the JSON of
// ExportMemberResponse.data: their redemptions and coupons (never a code: the export says
// whether a sealed one is still kept for a retry; a coupon's status is as of r.At), and
// when they were erased, if they were.
func Export(r domain.MemberRecords) (*structpb.Struct, error) {
	redemptions := make([]any, len(r.Redemptions))
	for i, x := range r.Redemptions {
		redemptions[i] = map[string]any{
			"redemption_id":    x.ID,
			"idempotency_key":  x.IdempotencyKey,
			"reward_id":        x.RewardID,
			"points":           x.Points,
			"value_minor":      x.ValueMinor,
			"currency":         x.Currency,
			"status":           string(x.Status),
			"hold_id":          x.HoldID,
			"coupon_id":        x.CouponID,
			"cancel_reason":    x.CancelReason,
			"requested_at":     jsonTime(x.CreatedAt),
			"updated_at":       jsonTime(x.UpdatedAt),
			"sealed_code_kept": len(x.SealedCode) > 0,
		}
	}
	coupons := make([]any, len(r.Coupons))
	for i, c := range r.Coupons {
		m := map[string]any{
			"coupon_id":     c.ID,
			"redemption_id": c.RedemptionID,
			"reward_id":     c.RewardID,
			"reward_name":   c.RewardName,
			"value_minor":   c.ValueMinor,
			"currency":      c.Currency,
			"issued_at":     jsonTime(c.IssuedAt),
			"expires_at":    jsonTime(c.ExpiresAt),
			"status":        string(c.StatusAt(r.At)),
		}
		if !c.RedeemedAt.IsZero() {
			m["redeemed_at"] = jsonTime(c.RedeemedAt)
			m["redeemed_store_id"] = c.StoreID
			m["redeemed_terminal_id"] = c.TerminalID
		}
		coupons[i] = m
	}
	data := map[string]any{"redemptions": redemptions, "coupons": coupons}
	if !r.ErasedAt.IsZero() {
		data["erased_at"] = jsonTime(r.ErasedAt)
	}
	return structpb.NewStruct(data)
}

func jsonTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
