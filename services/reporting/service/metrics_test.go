package service_test

import (
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
)

// TestBusinessCounters: reporting counts the events it recorded and the NPS answers by
// class and touchpoint once their batch committed, an event re-published past
// JetStream's duplicate window (which only the inbox stops) once; the points liability
// gauge reads the summary. Not parallel: the counters are process-wide.
func TestBusinessCounters(t *testing.T) {
	m := testkit.CaptureMetrics()
	const answers, recorded = "treue.reporting.nps.responses", "treue.reporting.events.recorded"
	purchase := attribute.String("touchpoint", "purchase")
	class := func(c string) attribute.KeyValue { return attribute.String("class", c) }
	kind := func(k string) attribute.KeyValue { return attribute.String("kind", k) }
	before := map[string]int64{
		"promoter":  m.Sum(t, answers, class("promoter"), purchase),
		"passive":   m.Sum(t, answers, class("passive"), purchase),
		"detractor": m.Sum(t, answers, class("detractor"), purchase),
		"responses": m.Sum(t, recorded, kind("response")),
		"points":    m.Sum(t, recorded, kind("points")),
		"cases":     m.Sum(t, recorded, kind("case")),
	}
	h := start(t)

	now := time.Now().UTC()
	scores := []int32{10, 9, 7, 3, 0}
	var last *surveyv1.ResponseSubmitted
	var lastID string
	for i, s := range scores {
		last = response(commonv1.Touchpoint_TOUCHPOINT_PURCHASE, "s1", s, now.Add(time.Duration(i)*time.Second))
		lastID = h.publish(subjectResponse, last)
	}
	h.shrinkDuplicateWindow(t, bus.MustSpec(&surveyv1.ResponseSubmitted{}).Stream.Name)
	testkit.Eventually(t, 10*time.Second, "JetStream to accept the re-published event", func() bool {
		return !h.Publish(subjectResponse, lastID, last).Duplicate
	})
	h.publish(subjectCredited, credited(100, ledgerv1.PointsReason_POINTS_REASON_PURCHASE, now))
	h.publish(subjectCaptured, &ledgerv1.HoldCaptured{HoldId: "h1", MemberId: "m1", Points: 30, CapturedAt: timestamppb.New(now)})
	h.publish(subjectCaseOpened, &feedbackv1.CaseOpened{CaseId: "c1", MemberId: "m1", Kind: feedbackv1.CaseKind_CASE_KIND_CALLBACK, Team: "care", OpenedAt: timestamppb.New(now), DueAt: timestamppb.New(now.Add(time.Hour))})
	testkit.Eventually(t, 15*time.Second, "the events recorded", func() bool {
		nps, err := h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		pts, err := h.reporting.GetPointsSummary(testkit.Ctx(t), &reportingv1.GetPointsSummaryRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return nps.GetOverall().GetResponses() == 5 && pts.GetRedeemed() == 30 &&
			m.Sum(t, recorded, kind("case"))-before["cases"] == 1
	})
	// A marker behind the re-published copy: once it is recorded, so is (or is not) the copy.
	h.WaitHandled("reporting-survey", h.Publish(subjectResponse, "", response(commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT, "", 10, now.Add(time.Minute))))

	want := map[string]int64{"promoter": 2, "passive": 1, "detractor": 2, "responses": 6, "points": 2, "cases": 1}
	got := map[string]int64{
		"promoter":  m.Sum(t, answers, class("promoter"), purchase),
		"passive":   m.Sum(t, answers, class("passive"), purchase),
		"detractor": m.Sum(t, answers, class("detractor"), purchase),
		"responses": m.Sum(t, recorded, kind("response")),
		"points":    m.Sum(t, recorded, kind("points")),
		"cases":     m.Sum(t, recorded, kind("case")),
	}
	for k, w := range want {
		if d := got[k] - before[k]; d != w {
			t.Errorf("%s counted %d, want %d", k, d, w)
		}
	}
	if n := m.Sum(t, "treue.reporting.points.outstanding"); n != 70 {
		t.Errorf("points outstanding %d, want 70", n)
	}
}
