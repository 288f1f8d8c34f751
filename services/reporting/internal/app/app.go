// Package app holds reporting's use cases: commands that fold a batch of events into the
// read models, and queries that read the figures back for gRPC and the dashboard.
package app

import (
	"context"
	"errors"
	"time"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// Application gathers the use cases.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands change the read models; each applies one batch of events.
type Commands struct {
	RecordResponses      RecordResponses
	RecordPointMovements RecordPointMovements
	RecordCaseChanges    RecordCaseChanges
	RecordCouponEvents   RecordCouponEvents
}

// Queries read the figures.
type Queries struct {
	GetNps           GetNps
	GetPointsSummary GetPointsSummary
	GetCaseStats     GetCaseStats
	GetCouponStats   GetCouponStats
	GetDashboard     GetDashboard
}

// Reader is everything the queries read.
type Reader interface {
	NpsReader
	PointsReader
	CaseReader
	CouponReader
}

// New wires the use cases over r. now is the clock (time.Now in production).
func New(r Reader, now func() time.Time) (Application, error) {
	if r == nil || now == nil {
		return Application{}, errors.New("app: New needs a reader and a clock")
	}
	q := Queries{
		GetNps:           NewGetNps(r, now),
		GetPointsSummary: NewGetPointsSummary(r, now),
		GetCaseStats:     NewGetCaseStats(r, now),
		GetCouponStats:   NewGetCouponStats(r, now),
	}
	q.GetDashboard = NewGetDashboard(q.GetNps, q.GetPointsSummary, q.GetCaseStats, q.GetCouponStats)
	return Application{Commands: Commands{}, Queries: q}, nil
}

// The writers below change read models inside the transaction that applies a batch of
// events (the transaction also records the batch in the inbox), so each event counts
// exactly once.

// NpsWriter adds to the daily NPS roll-up.
type NpsWriter interface {
	AddNps(ctx context.Context, cells []domain.NpsCell) error
}

// PointsWriter adds to the points counters.
type PointsWriter interface {
	AddPoints(ctx context.Context, cells []domain.PointsCell) error
}

// CaseWriter records what is known of follow-up cases.
type CaseWriter interface {
	UpsertCases(ctx context.Context, changes []domain.CaseChange) error
}

// CouponWriter adds to the daily coupon counts.
type CouponWriter interface {
	AddCoupons(ctx context.Context, cells []domain.CouponCell) error
}
