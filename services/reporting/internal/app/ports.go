package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// Store is reporting's database: the read models, written in transactions and read back.
// Every method returns the database's error as it is; none has a domain error to report.
type Store interface {
	// InTx runs fn in a transaction: the one ctx carries (an event consumer's batch,
	// which also holds the batch's inbox rows, so each event counts exactly once) or
	// else a new one, committed when fn returns nil.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	NpsReader
	ScoreReader
	FunnelReader
	PointsReader
	CaseReader
	CouponReader
	TopicReader
}

// Tx writes the read models inside one transaction. Each method is one set-based
// statement, whatever the batch size. Reporting emits no events, so Tx has no Emit.
type Tx interface {
	// AddNps adds to the daily NPS roll-up.
	AddNps(ctx context.Context, cells []domain.NpsCell) error
	// AddScores adds to the daily CSAT and CES roll-up.
	AddScores(ctx context.Context, cells []domain.ScoreCell) error
	// AddFunnel adds to the daily survey funnel.
	AddFunnel(ctx context.Context, cells []domain.FunnelCell) error
	// AddPoints adds to the points counters; cells of one key may come more than once
	// (domain.TallyPoints) and are added up.
	AddPoints(ctx context.Context, cells []domain.PointsCell) error
	// UpsertCases records what is known of follow-up cases: what a change does not know
	// keeps what an earlier one said.
	UpsertCases(ctx context.Context, changes []domain.CaseChange) error
	// AddTopics adds to the daily topic mentions.
	AddTopics(ctx context.Context, cells []domain.TopicCell) error
	// AddCoupons adds to the daily coupon counts.
	AddCoupons(ctx context.Context, cells []domain.CouponCell) error
	// EraseMembers removes what the read models hold about the members, or its link to
	// them, leaving every figure as it was.
	EraseMembers(ctx context.Context, memberIDs []string) error
}

// NpsTotals are the roll-up's sums over a period, overall and by group; groups come in
// any order.
type NpsTotals struct {
	Overall      domain.NpsCounts
	ByTouchpoint []domain.NpsGroup
	// ByStore includes the responses that named no store under the key "".
	ByStore []domain.NpsGroup
	ByDay   []domain.NpsGroup
}

// NpsReader sums the daily NPS roll-up.
type NpsReader interface {
	NpsTotals(ctx context.Context, p domain.Period) (NpsTotals, error)
}

// ScoreTotals are the CSAT or CES roll-up's sums over a period, overall and by group;
// groups come in any order.
type ScoreTotals struct {
	Overall      domain.ScoreCounts
	ByTouchpoint []domain.ScoreGroup
	// ByStore includes the responses that named no store under the key "".
	ByStore []domain.ScoreGroup
	ByDay   []domain.ScoreGroup
}

// ScoreReader sums the daily CSAT and CES roll-up of one kind.
type ScoreReader interface {
	ScoreTotals(ctx context.Context, kind domain.ScoreKind, p domain.Period) (ScoreTotals, error)
}

// FunnelReader reads the survey funnel's cells of the days of p, in any order.
type FunnelReader interface {
	FunnelCells(ctx context.Context, p domain.Period) ([]domain.FunnelCell, error)
}

// PointsReader sums the points counters over all time.
type PointsReader interface {
	PointsTotals(ctx context.Context) (domain.PointsTotals, error)
}

// CaseReader computes the follow-up figures; a case is overdue when open past its due
// time at now.
type CaseReader interface {
	CaseStats(ctx context.Context, now time.Time) (domain.CaseStats, error)
	// FollowUpStats sums the cases opened on the days of p, of one team and one store
	// ("" for all), overall and by team (in any order).
	FollowUpStats(ctx context.Context, p domain.Period, team, storeID string, now time.Time) (domain.FollowUpCounts, []domain.FollowUpGroup, error)
}

// CouponReader reads the coupon counts: all-time totals and the days of p.
type CouponReader interface {
	CouponStats(ctx context.Context, p domain.Period) (domain.CouponStats, error)
}

// TopicReader sums each topic's mentions over a period and the period before it
// (domain.Period.Before), of one store's responses or (storeID "") of all; topics come in
// any order.
type TopicReader interface {
	TopicTotals(ctx context.Context, p domain.Period, storeID string) ([]domain.TopicTotals, error)
}
