package convert

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	"github.com/treue/treue/services/reporting/internal/domain"
)

// NpsReport is the answer of GetNps.
func NpsReport(r domain.NpsReport) *reportingv1.GetNpsResponse {
	return &reportingv1.GetNpsResponse{
		Overall:      npsFigure(domain.NpsGroup{NpsCounts: r.Overall}),
		ByTouchpoint: npsFigures(r.ByTouchpoint),
		ByStore:      npsFigures(r.ByStore),
		ByDay:        npsFigures(r.ByDay),
	}
}

func npsFigures(groups []domain.NpsGroup) []*reportingv1.NpsFigure {
	out := make([]*reportingv1.NpsFigure, len(groups))
	for i, g := range groups {
		out[i] = npsFigure(g)
	}
	return out
}

func npsFigure(g domain.NpsGroup) *reportingv1.NpsFigure {
	return &reportingv1.NpsFigure{
		Key:        g.Key,
		Promoters:  g.Promoters,
		Passives:   g.Passives,
		Detractors: g.Detractors,
		Responses:  g.Responses(),
		Score:      g.Score(),
	}
}

// PointsSummary is the answer of GetPointsSummary.
func PointsSummary(s domain.PointsSummary) *reportingv1.GetPointsSummaryResponse {
	return &reportingv1.GetPointsSummaryResponse{
		Issued:      s.Issued,
		Returned:    s.Returned,
		Redeemed:    s.Redeemed,
		Expired:     s.Expired,
		Outstanding: s.Outstanding(),
		AsOf:        timestamppb.New(s.AsOf),
	}
}

// ScoresReport is the answer of GetScores.
func ScoresReport(csat, ces domain.ScoreReport) *reportingv1.GetScoresResponse {
	return &reportingv1.GetScoresResponse{Csat: scoreReport(csat), Ces: scoreReport(ces)}
}

func scoreReport(r domain.ScoreReport) *reportingv1.ScoreReport {
	return &reportingv1.ScoreReport{
		Overall:      scoreFigure(domain.ScoreGroup{ScoreCounts: r.Overall}),
		ByTouchpoint: scoreFigures(r.ByTouchpoint),
		ByStore:      scoreFigures(r.ByStore),
		ByDay:        scoreFigures(r.ByDay),
	}
}

func scoreFigures(groups []domain.ScoreGroup) []*reportingv1.ScoreFigure {
	out := make([]*reportingv1.ScoreFigure, len(groups))
	for i, g := range groups {
		out[i] = scoreFigure(g)
	}
	return out
}

func scoreFigure(g domain.ScoreGroup) *reportingv1.ScoreFigure {
	return &reportingv1.ScoreFigure{
		Key:             g.Key,
		Responses:       g.Responses,
		Favourable:      g.Favourable,
		FavourableShare: g.FavourableShare(),
		AverageScore:    g.Average(),
	}
}

// SurveyFunnel is the answer of GetSurveyFunnel.
func SurveyFunnel(r domain.FunnelReport) *reportingv1.GetSurveyFunnelResponse {
	out := &reportingv1.GetSurveyFunnelResponse{
		Created: r.Created, Sent: r.Sent, Reminded: r.Reminded, Suppressed: r.Suppressed, Failed: r.Failed,
		SuppressedByReason: make([]*reportingv1.SuppressionCount, len(r.SuppressedByReason)),
	}
	for i, c := range r.SuppressedByReason {
		out.SuppressedByReason[i] = &reportingv1.SuppressionCount{Reason: c.Reason, Count: c.Count}
	}
	return out
}

// TopicReport is the answer of GetTopics.
func TopicReport(r domain.TopicReport) *reportingv1.GetTopicsResponse {
	out := &reportingv1.GetTopicsResponse{
		Topics:       make([]*reportingv1.TopicFigure, len(r.Topics)),
		PreviousFrom: timestamppb.New(r.Previous.From),
		PreviousTo:   timestamppb.New(r.Previous.To),
	}
	for i, t := range r.Topics {
		c := t.Current
		out.Topics[i] = &reportingv1.TopicFigure{
			Topic:                  t.Topic,
			Mentions:               c.Mentions,
			Promoters:              c.Promoters,
			Passives:               c.Passives,
			Detractors:             c.Detractors,
			DetractorShare:         c.DetractorShare(),
			AverageScore:           c.AverageNps(),
			Csat:                   scoreFigure(domain.ScoreGroup{ScoreCounts: c.CSAT}),
			Ces:                    scoreFigure(domain.ScoreGroup{ScoreCounts: c.CES}),
			PreviousMentions:       t.Previous.Mentions,
			MentionsChange:         t.MentionsChange(),
			PreviousDetractorShare: t.Previous.DetractorShare(),
		}
	}
	return out
}

// FollowUpReport is the answer of GetFollowUpStats.
func FollowUpReport(r domain.FollowUpReport) *reportingv1.GetFollowUpStatsResponse {
	out := &reportingv1.GetFollowUpStatsResponse{
		Overall: followUpFigure(domain.FollowUpGroup{FollowUpCounts: r.Overall}),
		ByTeam:  make([]*reportingv1.FollowUpFigure, len(r.ByTeam)),
		From:    timestamppb.New(r.Period.From),
		To:      timestamppb.New(r.Period.To),
	}
	for i, g := range r.ByTeam {
		out.ByTeam[i] = followUpFigure(g)
	}
	return out
}

func followUpFigure(g domain.FollowUpGroup) *reportingv1.FollowUpFigure {
	c := g.FollowUpCounts
	return &reportingv1.FollowUpFigure{
		Team:                       g.Team,
		Opened:                     c.Opened,
		Resolved:                   c.Resolved,
		StillOpen:                  c.Open,
		Overdue:                    c.Overdue,
		Merged:                     c.Merged,
		Contacted:                  c.Contacted,
		MedianFirstContactSeconds:  c.MedianFirstContact.Seconds(),
		P90FirstContactSeconds:     c.P90FirstContact.Seconds(),
		FirstContactWithinDueShare: c.FirstContactInTimeShare(),
		MedianResolutionSeconds:    c.MedianResolution.Seconds(),
		P90ResolutionSeconds:       c.P90Resolution.Seconds(),
		Escalated:                  c.Escalated(),
		EscalationsByLevel:         c.ReachedLevel[:],
		Reminded:                   c.Reminded,
		Reopened:                   c.Reopened,
		Reopenings:                 c.Reopens,
		FollowUpsAnswered:          c.FollowUps,
		SolvedShare:                c.SolvedShare(),
		SatisfiedShare:             c.SatisfiedShare(),
		FollowUpCsatAnswers:        c.FollowUpCSAT.Responses,
		FollowUpCsatAverage:        c.FollowUpCSAT.Average(),
		GoodwillPoints:             c.GoodwillPoints,
		GoodwillCoupons:            c.GoodwillCoupons,
	}
}
