package service_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/reporting/service"
)

// scoredResponse is a CSAT or CES answer.
func scoredResponse(kind commonv1.ScoreKind, tp commonv1.Touchpoint, store string, score int32, at time.Time) *surveyv1.ResponseSubmitted {
	r := response(tp, store, score, at)
	r.ScoreKind = kind
	r.CsatSatisfied = kind == commonv1.ScoreKind_SCORE_KIND_CSAT && score >= 4
	r.CesLowEffort = kind == commonv1.ScoreKind_SCORE_KIND_CES && score >= 5
	return r
}

func scoreFigure(key string, scores ...int32) *reportingv1.ScoreFigure {
	return scoreFigureOf(key, 4, scores...)
}

// scoreFigureOf is the figure of scores, favourable from fav up.
func scoreFigureOf(key string, fav int32, scores ...int32) *reportingv1.ScoreFigure {
	f := &reportingv1.ScoreFigure{Key: key, Responses: int64(len(scores))}
	var sum int32
	for _, s := range scores {
		sum += s
		if s >= fav {
			f.Favourable++
		}
	}
	if len(scores) > 0 {
		f.FavourableShare = float64(f.Favourable) / float64(len(scores))
		f.AverageScore = float64(sum) / float64(len(scores))
	}
	return f
}

// TestGetScoresCountsCSATAndCES: CSAT and CES answers are counted apart from NPS (which
// counts only NPS answers, or answers of no kind), by touchpoint, store and day; the
// satisfied share is the 4s and 5s over all CSAT answers, the low-effort share the 5s to
// 7s over all CES answers; an answer off its scale is a dead letter.
func TestGetScoresCountsCSATAndCES(t *testing.T) {
	t.Parallel()
	h := start(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	d1 := today.AddDate(0, 0, -3).Add(9 * time.Hour)
	d2 := today.AddDate(0, 0, -1).Add(15 * time.Hour)
	csat, ces := commonv1.ScoreKind_SCORE_KIND_CSAT, commonv1.ScoreKind_SCORE_KIND_CES
	call, reward := commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL, commonv1.Touchpoint_TOUCHPOINT_REWARD_DELIVERED
	purchase := commonv1.Touchpoint_TOUCHPOINT_PURCHASE

	nps := response(purchase, "s1", 10, d1)
	nps.ScoreKind = commonv1.ScoreKind_SCORE_KIND_NPS
	events := []*surveyv1.ResponseSubmitted{
		scoredResponse(csat, call, "", 5, d1),
		scoredResponse(csat, call, "", 2, d1.Add(time.Minute)),
		scoredResponse(csat, purchase, "s1", 4, d1.Add(2*time.Minute)),
		scoredResponse(csat, reward, "", 3, d2),
		scoredResponse(ces, call, "", 6, d1.Add(3*time.Minute)),
		scoredResponse(ces, call, "", 2, d2.Add(time.Minute)),
		scoredResponse(ces, purchase, "s1", 7, d2.Add(2*time.Minute)),
		nps,
		response(purchase, "s1", 3, d2.Add(3*time.Minute)), // no kind: NPS
	}
	for _, e := range events {
		h.publish(subjectResponse, e)
	}
	off := scoredResponse(csat, call, "", 7, d2.Add(4*time.Minute))
	h.publish(subjectResponse, off)
	marker := scoredResponse(ces, call, "", 1, d2.Add(5*time.Minute))
	h.publish(subjectResponse, marker)

	var got *reportingv1.GetScoresResponse
	testkit.Eventually(t, 15*time.Second, "the answers counted", func() bool {
		var err error
		if got, err = h.reporting.GetScores(testkit.Ctx(t), &reportingv1.GetScoresRequest{}); err != nil {
			t.Fatalf("GetScores: %v", err)
		}
		return got.GetCes().GetOverall().GetResponses() == 4
	})
	day1, day2 := d1.Format("2006-01-02"), d2.Format("2006-01-02")
	want := &reportingv1.GetScoresResponse{
		Csat: &reportingv1.ScoreReport{
			Overall: scoreFigure("", 5, 2, 4, 3),
			ByTouchpoint: []*reportingv1.ScoreFigure{
				scoreFigure("PURCHASE", 4), scoreFigure("REWARD_DELIVERED", 3), scoreFigure("SERVICE_CALL", 5, 2),
			},
			ByStore: []*reportingv1.ScoreFigure{scoreFigure("s1", 4)},
			ByDay:   []*reportingv1.ScoreFigure{scoreFigure(day1, 5, 2, 4), scoreFigure(day2, 3)},
		},
		Ces: &reportingv1.ScoreReport{
			Overall:      scoreFigureOf("", 5, 6, 2, 7, 1),
			ByTouchpoint: []*reportingv1.ScoreFigure{scoreFigureOf("PURCHASE", 5, 7), scoreFigureOf("SERVICE_CALL", 5, 6, 2, 1)},
			ByStore:      []*reportingv1.ScoreFigure{scoreFigureOf("s1", 5, 7)},
			ByDay:        []*reportingv1.ScoreFigure{scoreFigureOf(day1, 5, 6), scoreFigureOf(day2, 5, 2, 7, 1)},
		},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("GetScores (-want +got):\n%s", diff)
	}
	if s := got.GetCsat().GetOverall().GetFavourableShare(); s != 0.5 {
		t.Errorf("CSAT satisfied share %v, want 0.5", s)
	}
	// NPS counts the two NPS answers only.
	n, err := h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(figure("", 1, 0, 1), n.GetOverall(), protocmp.Transform()); diff != "" {
		t.Errorf("NPS overall (-want +got):\n%s", diff)
	}
	// The CSAT 7 is refused.
	db := h.DB(service.Name)
	testkit.Eventually(t, 10*time.Second, "the CSAT 7 dead-lettered", func() bool {
		return db.Count(`SELECT count(*) FROM dead_letters WHERE error LIKE '%CSAT score 7 is outside 1-5%'`) == 1
	})

	_, err = h.reporting.GetScores(testkit.Ctx(t), &reportingv1.GetScoresRequest{From: timestamppb.New(d2), To: timestamppb.New(d1)})
	testkit.WantCode(t, err, codes.InvalidArgument)
}
