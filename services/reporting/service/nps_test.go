package service_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
)

func response(tp commonv1.Touchpoint, store string, score int32, at time.Time) *surveyv1.ResponseSubmitted {
	return &surveyv1.ResponseSubmitted{
		ResponseId: "r-" + at.Format(time.RFC3339Nano), InvitationId: "i-" + at.Format(time.RFC3339Nano), SurveyId: "nps", MemberId: "m1",
		Touchpoint: tp, StoreId: store, Score: score, SubmittedAt: timestamppb.New(at),
	}
}

func figure(key string, promoters, passives, detractors int64) *reportingv1.NpsFigure {
	n := promoters + passives + detractors
	f := &reportingv1.NpsFigure{Key: key, Promoters: promoters, Passives: passives, Detractors: detractors, Responses: n}
	if n > 0 {
		f.Score = float64(promoters-detractors) * 100 / float64(n)
	}
	return f
}

func TestGetNpsCountsSurveyResponses(t *testing.T) {
	t.Parallel()
	h := start(t)

	today := time.Now().UTC().Truncate(24 * time.Hour)
	d1 := today.AddDate(0, 0, -2).Add(10 * time.Hour)
	// 23:30 UTC, which in UTC+2 is already the next day: the roll-up keys on UTC days.
	d2 := today.AddDate(0, 0, -1).Add(23*time.Hour + 30*time.Minute).In(time.FixedZone("UTC+2", 2*3600))
	old := today.AddDate(0, 0, -60).Add(12 * time.Hour)
	purchase, call := commonv1.Touchpoint_TOUCHPOINT_PURCHASE, commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL

	events := []*surveyv1.ResponseSubmitted{
		response(purchase, "s1", 10, d1),
		response(purchase, "s1", 9, d1.Add(time.Minute)),
		response(purchase, "s1", 7, d1.Add(2*time.Minute)),
		response(purchase, "s1", 3, d1.Add(3*time.Minute)),
		response(purchase, "s2", 10, d1.Add(4*time.Minute)),
		response(purchase, "s2", 8, d1.Add(5*time.Minute)),
		response(call, "", 8, d2),
		response(call, "", 6, d2.Add(time.Second)),
		response(call, "", 9, d2.Add(2*time.Second)),
		// The survey's class wins over the score (4 would be a detractor).
		response(purchase, "s1", 4, d2.Add(3*time.Second)),
		// Outside the default period.
		response(call, "", 0, old),
	}
	events[9].NpsClass = commonv1.NpsClass_NPS_CLASS_PROMOTER
	var lastID string
	for _, e := range events {
		lastID = h.publish(subjectResponse, e)
	}
	// The same event again, past JetStream's duplicate window: only the inbox stands
	// between it and a second count.
	h.shrinkDuplicateWindow(t, bus.MustSpec(&surveyv1.ResponseSubmitted{}).Stream.Name)
	testkit.Eventually(t, 10*time.Second, "JetStream to accept the re-published event", func() bool {
		return !h.Publish(subjectResponse, lastID, events[len(events)-1]).Duplicate
	})
	// A marker behind the re-publish: once it is counted, so is (or is not) the copy.
	h.publish(subjectResponse, response(purchase, "s1", 10, old.Add(time.Minute)))
	testkit.Eventually(t, 15*time.Second, "the marker counted", func() bool {
		resp, err := h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{From: timestamppb.New(old), To: timestamppb.New(old)})
		if err != nil {
			t.Fatalf("GetNps: %v", err)
		}
		return resp.GetOverall().GetResponses() == 2
	})

	t.Run("default period: the last 30 days", func(t *testing.T) {
		got, err := h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		want := &reportingv1.GetNpsResponse{
			// 5 promoters, 3 passives, 2 detractors: NPS 30. The re-published event
			// counts once.
			Overall: figure("", 5, 3, 2),
			ByTouchpoint: []*reportingv1.NpsFigure{
				figure("PURCHASE", 4, 2, 1),
				figure("SERVICE_CALL", 1, 1, 1),
			},
			// Service calls name no store: they are in no store's figure.
			ByStore: []*reportingv1.NpsFigure{
				figure("s1", 3, 1, 1),
				figure("s2", 1, 1, 0),
			},
			ByDay: []*reportingv1.NpsFigure{
				figure(d1.Format("2006-01-02"), 3, 2, 1),
				figure(d2.UTC().Format("2006-01-02"), 2, 1, 1),
			},
		}
		if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
			t.Errorf("GetNps (-want +got):\n%s", diff)
		}
		if got.GetOverall().GetScore() != 30 {
			t.Errorf("overall score = %v, want 30", got.GetOverall().GetScore())
		}
	})

	t.Run("one day", func(t *testing.T) {
		got, err := h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{From: timestamppb.New(d2), To: timestamppb.New(d2)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(figure("", 2, 1, 1), got.GetOverall(), protocmp.Transform()); diff != "" {
			t.Errorf("overall (-want +got):\n%s", diff)
		}
		if len(got.GetByDay()) != 1 || got.GetByDay()[0].GetKey() != d2.UTC().Format("2006-01-02") {
			t.Errorf("by_day = %v, want only %s", got.GetByDay(), d2.UTC().Format("2006-01-02"))
		}
	})

	t.Run("a period reaching back includes old answers", func(t *testing.T) {
		got, err := h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{
			From: timestamppb.New(old), To: timestamppb.New(old.Add(time.Hour)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(figure("", 1, 0, 1), got.GetOverall(), protocmp.Transform()); diff != "" {
			t.Errorf("overall (-want +got):\n%s", diff)
		}
	})

	t.Run("an empty period scores 0", func(t *testing.T) {
		from := today.AddDate(0, 0, -20)
		got, err := h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{From: timestamppb.New(from), To: timestamppb.New(from)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&reportingv1.GetNpsResponse{Overall: figure("", 0, 0, 0)}, got, protocmp.Transform()); diff != "" {
			t.Errorf("GetNps (-want +got):\n%s", diff)
		}
	})
}

// shrinkDuplicateWindow makes JetStream forget message ids after 100ms, the least it
// allows, so a test can re-publish an event id the way a producer would after the window.
func (h *harness) shrinkDuplicateWindow(t *testing.T, stream string) {
	t.Helper()
	ctx := testkit.Ctx(t)
	s, err := h.JS().Stream(ctx, h.NS().Stream(stream))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.Duplicates = 100 * time.Millisecond
	if _, err := h.JS().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}
