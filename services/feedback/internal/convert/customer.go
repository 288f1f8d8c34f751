package convert

import (
	"strconv"
	"strings"

	"encoding/base64"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// PointsCredited is the loyalty event of a ledger.points.credited event.
func PointsCredited(e *ledgerv1.PointsCredited) app.MemberEvent {
	return app.MemberEvent{
		Key: "credited:" + e.GetTransactionId(), MemberID: e.GetMemberId(), Kind: app.LoyaltyPointsCredited, Points: e.GetPoints(),
		Reason: reasonName(e.GetReason()), Reference: e.GetReference(), At: timeOrZero(e.GetOccurredAt()),
	}
}

// PointsDebited is the loyalty event of a ledger.points.debited event. A debit without
// a transaction id is named by its member, time and reference.
func PointsDebited(e *ledgerv1.PointsDebited) app.MemberEvent {
	key := "debited:" + e.GetTransactionId()
	if e.GetTransactionId() == "" {
		key = "debited:" + e.GetMemberId() + ":" + strconv.FormatInt(e.GetOccurredAt().AsTime().UnixNano(), 10) + ":" + e.GetReference()
	}
	return app.MemberEvent{
		Key: key, MemberID: e.GetMemberId(), Kind: app.LoyaltyPointsDebited, Points: e.GetPoints(),
		Reason: reasonName(e.GetReason()), Reference: e.GetReference(), At: timeOrZero(e.GetOccurredAt()),
	}
}

// TierChangedEvent is the loyalty event of a ledger.member.tier_changed event.
func TierChangedEvent(e *ledgerv1.MemberTierChanged) app.MemberEvent {
	at := e.GetEffectiveAt().AsTime()
	return app.MemberEvent{
		Key:      "tier:" + e.GetMemberId() + ":" + strconv.FormatInt(at.UnixNano(), 10) + ":" + e.GetToTier(),
		MemberID: e.GetMemberId(), Kind: app.LoyaltyTierChanged, FromTier: e.GetFromTier(), ToTier: e.GetToTier(),
		Reason: strings.TrimPrefix(e.GetReason().String(), "TIER_CHANGE_REASON_"), At: timeOrZero(e.GetEffectiveAt()),
	}
}

func reasonName(r ledgerv1.PointsReason) string {
	return strings.TrimPrefix(r.String(), "POINTS_REASON_")
}

// ResponseEvent is the member's event of a survey response (for the timeline).
func ResponseEvent(m *surveyv1.ResponseSubmitted) app.MemberEvent {
	r := Response(m)
	kind := string(r.ScoreKind)
	if kind == "" {
		kind = string(domain.ScoreNPS)
	}
	return app.MemberEvent{
		Key: "response:" + r.ResponseID, MemberID: r.MemberID, Kind: app.MemberResponse, At: r.SubmittedAt,
		Response: &app.ResponseFacts{
			ResponseID: r.ResponseID, ScoreKind: kind, Comment: r.Comment, Touchpoint: r.Touchpoint,
			StoreID: r.StoreID, TouchpointKey: r.TouchpointKey, Score: r.Score,
		},
	}
}

// TimelineQuery returns the query of a request, or ErrPageToken.
func TimelineQuery(req *feedbackv1.GetCustomerTimelineRequest) (app.TimelineQuery, error) {
	q := app.TimelineQuery{MemberID: req.GetMemberId(), PageSize: int(req.GetPageSize())}
	if t := req.GetPageToken(); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return q, ErrPageToken
		}
		at, key, ok := strings.Cut(string(b), "|")
		when, err := time.Parse(time.RFC3339Nano, at)
		if !ok || err != nil || key == "" {
			return q, ErrPageToken
		}
		q.After = &app.TimelineCursor{At: when, Key: key}
	}
	return q, nil
}

// TimelineResponse is a page of the timeline.
func TimelineResponse(p app.TimelinePage) *feedbackv1.GetCustomerTimelineResponse {
	out := &feedbackv1.GetCustomerTimelineResponse{Entries: make([]*feedbackv1.TimelineEntry, len(p.Entries))}
	for i, e := range p.Entries {
		t := &feedbackv1.TimelineEntry{
			At: timestamppb.New(e.At), Kind: e.Kind, CaseId: e.CaseID, Team: e.Team, Action: e.Action,
			Note: e.Note, By: e.By, Points: e.Points, Reason: e.Reason, Reference: e.Reference,
			FromTier: e.FromTier, ToTier: e.ToTier,
		}
		if e.Kind == app.TimelineCase {
			t.FromStatus, t.ToStatus = statuses.Proto(domain.Status(e.FromStatus)), statuses.Proto(domain.Status(e.ToStatus))
		}
		if r := e.Response; r != nil {
			t.ResponseId, t.Score, t.ScoreKind, t.Comment = r.ResponseID, int32(r.Score), scoreKinds.Proto(domain.ScoreKind(r.ScoreKind)), r.Comment
			t.Touchpoint, t.StoreId, t.TouchpointKey = touchpoints.Proto(r.Touchpoint), r.StoreID, r.TouchpointKey
		}
		out.Entries[i] = t
	}
	if n := p.Next; n != nil {
		out.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(n.At.UTC().Format(time.RFC3339Nano) + "|" + n.Key))
	}
	return out
}
