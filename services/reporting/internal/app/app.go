// Package app holds reporting's use cases: commands that fold a batch of events into the
// read models, and queries that read the figures back for gRPC and the dashboard.
package app

import (
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
	RecordResponses      Record[domain.Response, domain.NpsCell]
	RecordScores         Record[domain.Response, domain.ScoreCell]
	RecordFunnel         Record[domain.FunnelEvent, domain.FunnelCell]
	RecordPointMovements Record[domain.PointsMovement, domain.PointsCell]
	RecordCaseChanges    Record[domain.CaseChange, domain.CaseChange]
	RecordCouponEvents   Record[domain.CouponEvent, domain.CouponCell]
	RecordTopics         Record[domain.TopicMention, domain.TopicCell]
	EraseMembers         EraseMembers
}

// Queries read the figures.
type Queries struct {
	GetNps           GetNps
	GetScores        GetScores
	GetSurveyFunnel  GetSurveyFunnel
	GetPointsSummary GetPointsSummary
	GetCaseStats     GetCaseStats
	GetFollowUpStats GetFollowUpStats
	GetCouponStats   GetCouponStats
	GetTopics        GetTopics
	GetDashboard     GetDashboard
	ExportMember     ExportMember
}

// Deps are what the use cases need from outside.
type Deps struct {
	Store Store
	// Clock is the time now (time.Now in production).
	Clock func() time.Time
}

// New wires the use cases; it refuses a missing dependency.
func New(d Deps) (*Application, error) {
	if d.Store == nil || d.Clock == nil {
		return nil, errors.New("app: New needs a store and a clock")
	}
	s, now := d.Store, d.Clock
	q := Queries{
		GetNps:           NewGetNps(s, now),
		GetScores:        GetScores{r: s, now: now},
		GetSurveyFunnel:  GetSurveyFunnel{r: s, now: now},
		GetPointsSummary: GetPointsSummary{r: s, now: now},
		GetCaseStats:     GetCaseStats{r: s, now: now},
		GetFollowUpStats: GetFollowUpStats{r: s, now: now},
		GetCouponStats:   GetCouponStats{r: s, now: now},
		GetTopics:        GetTopics{r: s, now: now},
		ExportMember:     ExportMember{},
	}
	q.GetDashboard = GetDashboard{nps: q.GetNps, scores: q.GetScores, funnel: q.GetSurveyFunnel, points: q.GetPointsSummary, cases: q.GetCaseStats, followUps: q.GetFollowUpStats, coupons: q.GetCouponStats, topics: q.GetTopics}
	c := Commands{
		// One increment per (day, touchpoint, store), written in one statement.
		RecordResponses: Record[domain.Response, domain.NpsCell]{store: s, fold: domain.TallyResponses, write: Tx.AddNps},
		// CSAT and CES answers: one increment per (day, touchpoint, store, kind).
		RecordScores: Record[domain.Response, domain.ScoreCell]{store: s, fold: domain.TallyScores, write: Tx.AddScores},
		// Invitations' steps: one increment per (day, step, reason).
		RecordFunnel: Record[domain.FunnelEvent, domain.FunnelCell]{store: s, fold: domain.TallyFunnel, write: Tx.AddFunnel},
		// One increment per (day, counter), however many events the batch holds.
		RecordPointMovements: Record[domain.PointsMovement, domain.PointsCell]{store: s, fold: domain.TallyPoints, write: Tx.AddPoints},
		// One row per case, its events merged whatever their order.
		RecordCaseChanges: Record[domain.CaseChange, domain.CaseChange]{store: s, fold: domain.MergeCaseChanges, write: Tx.UpsertCases},
		RecordCouponEvents: Record[domain.CouponEvent, domain.CouponCell]{store: s, write: Tx.AddCoupons,
			fold: func(events []domain.CouponEvent) []domain.CouponCell {
				domain.DateUndated(events, now())
				return domain.TallyCoupons(events)
			}},
		// Tagged answers: one increment per (day, store, topic).
		RecordTopics: Record[domain.TopicMention, domain.TopicCell]{store: s, fold: domain.TallyTopics, write: Tx.AddTopics},
		EraseMembers: EraseMembers{store: s},
	}
	return &Application{Commands: c, Queries: q}, nil
}
