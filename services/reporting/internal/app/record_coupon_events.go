package app

import (
	"context"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// RecordCouponEvents adds a batch of coupon events to the daily counts.
type RecordCouponEvents struct{}

func (RecordCouponEvents) Handle(ctx context.Context, w CouponWriter, events []domain.CouponEvent) error {
	if len(events) == 0 {
		return nil
	}
	return w.AddCoupons(ctx, domain.TallyCoupons(events))
}
