package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// GetCouponStats reports coupons issued and redeemed.
type GetCouponStats struct {
	r   CouponReader
	now func() time.Time
}

// Handle reports the totals and the days of the default period (see domain.NewPeriod).
func (q GetCouponStats) Handle(ctx context.Context) (domain.CouponStats, error) {
	p, err := domain.NewPeriod(nil, nil, q.now())
	if err != nil {
		return domain.CouponStats{}, err
	}
	return q.r.CouponStats(ctx, p)
}
