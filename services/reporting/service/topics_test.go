package service_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	"github.com/treue/treue/services/reporting/internal/ports/events"
)

var subjectTagged = testkit.Subject(&feedbackv1.ResponseTagged{})

// tagged is an NPS answer (or, with kind, a CSAT or CES one) whose comment named topics.
func tagged(store string, score int32, at time.Time, topics ...string) *feedbackv1.ResponseTagged {
	return &feedbackv1.ResponseTagged{
		ResponseId: "r-" + at.Format(time.RFC3339Nano), Topics: topics, Score: score,
		Touchpoint: commonv1.Touchpoint_TOUCHPOINT_PURCHASE, StoreId: store, SubmittedAt: timestamppb.New(at),
	}
}

// TestGetTopicsCountsTaggedResponses: each tagged response counts once per topic, on the
// day it was submitted, by NPS class (CSAT and CES apart); a redelivered event counts
// once; a case's topics (CaseOpened) are not counted again; the trend compares with the
// week before; the store filter and the limit apply.
func TestGetTopicsCountsTaggedResponses(t *testing.T) {
	t.Parallel()
	h := start(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	day := func(n int) time.Time { return today.AddDate(0, 0, -n).Add(10 * time.Hour) }
	csat := tagged("s1", 2, day(3), "queue")
	csat.ScoreKind = commonv1.ScoreKind_SCORE_KIND_CSAT
	passive := tagged("s2", 7, day(1).Add(time.Minute), "queue")
	passive.NpsClass = commonv1.NpsClass_NPS_CLASS_PASSIVE
	// This week: days 0-6.
	rude := tagged("s1", 2, day(1), "queue", "staff")
	thisWeek := []*feedbackv1.ResponseTagged{
		rude,
		tagged("s1", 9, day(2), "staff"),
		passive,
		csat,
		tagged("", 0, day(0), "queue", "queue"), // named twice, counted once
	}
	// The week before: days 7-13.
	weekBefore := []*feedbackv1.ResponseTagged{
		tagged("s1", 3, day(8), "queue"),
		tagged("s1", 10, day(9), "staff"),
		tagged("s2", 10, day(10), "staff"),
		tagged("s1", 1, day(8).Add(time.Minute), "price"),
	}
	ids := map[*feedbackv1.ResponseTagged]string{}
	for _, e := range append(thisWeek, weekBefore...) {
		ids[e] = h.publish(subjectTagged, e)
	}
	// The rude answer opened a case, whose event names its topics too: not counted again.
	opened := h.Publish(subjectCaseOpened, "", &feedbackv1.CaseOpened{
		CaseId: "c-1", Kind: feedbackv1.CaseKind_CASE_KIND_CALLBACK, ResponseId: rude.GetResponseId(), Score: 2,
		NpsClass: commonv1.NpsClass_NPS_CLASS_DETRACTOR, StoreId: "s1", OpenedAt: timestamppb.New(day(1)),
		DueAt: timestamppb.New(day(0)), Topics: []string{"queue", "staff"},
	})
	// The rude answer's event again, past JetStream's duplicate window: only the inbox
	// stands between it and a second count.
	h.shrinkDuplicateWindow(t, bus.MustSpec(&feedbackv1.ResponseTagged{}).Stream.Name)
	testkit.Eventually(t, 10*time.Second, "JetStream to accept the re-published event", func() bool {
		return !h.Publish(subjectTagged, ids[rude], rude).Duplicate
	})
	marker := h.Publish(subjectTagged, "", tagged("s1", 5, day(40), "marker"))
	h.WaitHandled(events.ConsumerTopics, marker)
	h.WaitHandled(events.ConsumerFeedback, opened)

	week := func(store string, limit int32) *reportingv1.GetTopicsResponse {
		t.Helper()
		resp, err := h.reporting.GetTopics(testkit.Ctx(t), &reportingv1.GetTopicsRequest{
			From: timestamppb.New(day(6)), To: timestamppb.New(day(0)), StoreId: store, Limit: limit})
		if err != nil {
			t.Fatalf("GetTopics: %v", err)
		}
		return resp
	}
	got := week("", 0)
	want := &reportingv1.GetTopicsResponse{
		Topics: []*reportingv1.TopicFigure{
			{
				// The detractors 2 and 0, the passive 7 and the CSAT 2.
				Topic: "queue", Mentions: 4, Passives: 1, Detractors: 2, DetractorShare: 2.0 / 3, AverageScore: 3,
				Csat: scoreFigure("", 2), Ces: scoreFigure(""),
				PreviousMentions: 1, MentionsChange: 3, PreviousDetractorShare: 1,
			},
			{
				Topic: "staff", Mentions: 2, Promoters: 1, Detractors: 1, DetractorShare: 0.5, AverageScore: 5.5,
				Csat: scoreFigure(""), Ces: scoreFigure(""),
				PreviousMentions: 2, MentionsChange: 0, PreviousDetractorShare: 0,
			},
			// price was talked about the week before only: left out.
		},
		PreviousFrom: timestamppb.New(today.AddDate(0, 0, -13)),
		PreviousTo:   timestamppb.New(today.AddDate(0, 0, -7)),
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("GetTopics (-want +got):\n%s", diff)
	}

	// Store s1: queue 2 (the rude answer, the CSAT), staff 2; a tie goes by topic.
	s1 := week("s1", 0)
	if len(s1.GetTopics()) != 2 || s1.GetTopics()[0].GetTopic() != "queue" || s1.GetTopics()[0].GetMentions() != 2 ||
		s1.GetTopics()[1].GetTopic() != "staff" || s1.GetTopics()[1].GetMentions() != 2 || s1.GetTopics()[1].GetPreviousMentions() != 1 {
		t.Errorf("store s1 = %v", s1.GetTopics())
	}
	if top := week("", 1).GetTopics(); len(top) != 1 || top[0].GetTopic() != "queue" {
		t.Errorf("limit 1 = %v", top)
	}
	// The default period (the last 30 days and today) holds both weeks.
	all, err := h.reporting.GetTopics(testkit.Ctx(t), &reportingv1.GetTopicsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"queue:5", "staff:4", "price:1"}, topicCounts(all)); diff != "" {
		t.Errorf("default period (-want +got):\n%s", diff)
	}
}

func topicCounts(r *reportingv1.GetTopicsResponse) []string {
	var out []string
	for _, f := range r.GetTopics() {
		out = append(out, f.GetTopic()+":"+strconv.FormatInt(f.GetMentions(), 10))
	}
	return out
}

// wantFieldViolation fails unless err is InvalidArgument naming field.
func wantFieldViolation(t *testing.T, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code = %v (%v), want InvalidArgument", st.Code(), err)
	}
	var named bool
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				named = named || v.GetField() == field
			}
		}
	}
	if !named {
		t.Errorf("details %v do not name %q", st.Details(), field)
	}
}
