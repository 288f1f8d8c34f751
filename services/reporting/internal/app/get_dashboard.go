package app

import (
	"context"
	"fmt"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// Dashboard is every figure the dashboard shows.
type Dashboard struct {
	Nps domain.NpsReport
	// CSAT and CES over the same period as Nps.
	CSAT, CES domain.ScoreReport
	// The survey funnel over the same period.
	Funnel domain.FunnelReport
	Points domain.PointsSummary
	Cases  domain.CaseStats
	// The loop of the cases opened over the same period.
	FollowUps domain.FollowUpReport
	Coupons   domain.CouponStats
	// The most mentioned topics over the same period.
	Topics domain.TopicReport
}

// GetDashboard gathers the dashboard's figures through the same queries the gRPC API
// uses, so both always agree.
type GetDashboard struct {
	nps       GetNps
	scores    GetScores
	funnel    GetSurveyFunnel
	points    GetPointsSummary
	cases     GetCaseStats
	followUps GetFollowUpStats
	coupons   GetCouponStats
	topics    GetTopics
}

// Handle reports NPS over the default period of GetNps.
func (q GetDashboard) Handle(ctx context.Context) (Dashboard, error) {
	var (
		d   Dashboard
		err error
	)
	if d.Nps, err = q.nps.Handle(ctx, nil, nil); err != nil {
		return Dashboard{}, fmt.Errorf("nps: %w", err)
	}
	if d.CSAT, d.CES, err = q.scores.Handle(ctx, nil, nil); err != nil {
		return Dashboard{}, fmt.Errorf("scores: %w", err)
	}
	if d.Funnel, err = q.funnel.Handle(ctx, nil, nil); err != nil {
		return Dashboard{}, fmt.Errorf("survey funnel: %w", err)
	}
	if d.Points, err = q.points.Handle(ctx); err != nil {
		return Dashboard{}, fmt.Errorf("points: %w", err)
	}
	if d.Cases, err = q.cases.Handle(ctx); err != nil {
		return Dashboard{}, fmt.Errorf("cases: %w", err)
	}
	if d.FollowUps, err = q.followUps.Handle(ctx, nil, nil, "", ""); err != nil {
		return Dashboard{}, fmt.Errorf("follow-ups: %w", err)
	}
	if d.Coupons, err = q.coupons.Handle(ctx); err != nil {
		return Dashboard{}, fmt.Errorf("coupons: %w", err)
	}
	if d.Topics, err = q.topics.Handle(ctx, nil, nil, "", DashboardTopics); err != nil {
		return Dashboard{}, fmt.Errorf("topics: %w", err)
	}
	return d, nil
}

// DashboardTopics is how many topics the dashboard lists.
const DashboardTopics = 5
