package service_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
)

// TestSurveyFunnel: the survey's invitation events are counted once each into the
// funnel (created, sent, reminded, suppressed by reason, failed), read through
// GetSurveyFunnel and shown on the dashboard; a period without them is empty.
func TestSurveyFunnel(t *testing.T) {
	t.Parallel()
	h := start(t)
	now := time.Now()
	ts := timestamppb.New(now.Add(-time.Hour))
	created := func() *surveyv1.InvitationCreated {
		return &surveyv1.InvitationCreated{InvitationId: uuid.NewString(), SurveyId: "nps", MemberId: "m1",
			Url: "https://example.com/s/t", CreatedAt: ts}
	}
	sent := func(reminder bool) *surveyv1.InvitationSent {
		return &surveyv1.InvitationSent{InvitationId: uuid.NewString(), MemberId: "m1",
			Channel: surveyv1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL, Reminder: reminder, SentAt: ts}
	}
	suppressed := func(reason surveyv1.SuppressionReason) *surveyv1.InvitationSuppressed {
		return &surveyv1.InvitationSuppressed{MemberId: "m1", Touchpoint: commonv1.Touchpoint_TOUCHPOINT_PURCHASE,
			Reason: reason, SuppressedAt: ts}
	}
	events := []proto.Message{
		created(), created(), created(), sent(false), sent(false), sent(true),
		suppressed(surveyv1.SuppressionReason_SUPPRESSION_REASON_FREQUENCY_CAP),
		suppressed(surveyv1.SuppressionReason_SUPPRESSION_REASON_FREQUENCY_CAP),
		suppressed(surveyv1.SuppressionReason_SUPPRESSION_REASON_NO_CONSENT),
		&surveyv1.InvitationDeliveryFailed{InvitationId: uuid.NewString(), Channel: surveyv1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK,
			Attempts: 5, Error: "503", FailedAt: ts},
	}
	var again string
	for i, e := range events {
		id := h.PublishEvent("", e).ID
		if i == 0 {
			again = id
		}
	}
	h.PublishEvent(again, events[0]) // the same event again counts once

	want := &reportingv1.GetSurveyFunnelResponse{
		Created: 3, Sent: 2, Reminded: 1, Suppressed: 3, Failed: 1,
		SuppressedByReason: []*reportingv1.SuppressionCount{{Reason: "FREQUENCY_CAP", Count: 2}, {Reason: "NO_CONSENT", Count: 1}},
	}
	var got *reportingv1.GetSurveyFunnelResponse
	testkit.Eventually(t, 15*time.Second, "the funnel counted", func() bool {
		var err error
		if got, err = h.reporting.GetSurveyFunnel(testkit.Ctx(t), &reportingv1.GetSurveyFunnelRequest{}); err != nil {
			t.Fatalf("GetSurveyFunnel: %v", err)
		}
		return got.GetFailed() == 1 && got.GetSuppressed() == 3 && got.GetCreated() >= 3
	})
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("GetSurveyFunnel (-want +got):\n%s", diff)
	}
	old := timestamppb.New(now.AddDate(0, 0, -90))
	empty, err := h.reporting.GetSurveyFunnel(testkit.Ctx(t), &reportingv1.GetSurveyFunnelRequest{From: old, To: old})
	if err != nil || empty.GetCreated() != 0 || len(empty.GetSuppressedByReason()) != 0 {
		t.Errorf("funnel of a quiet day %v, %v", empty, err)
	}
	_, err = h.reporting.GetSurveyFunnel(testkit.Ctx(t), &reportingv1.GetSurveyFunnelRequest{From: timestamppb.New(now), To: old})
	testkit.WantCode(t, err, codes.InvalidArgument)

	code, body, _ := h.get(t, h.httpURL+"/")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d", code)
	}
	for _, w := range []string{
		`id="invitations-created">3<`, `id="invitations-sent">2<`, `id="invitations-reminded">1<`,
		`id="invitations-failed" class="bad">1<`, `id="invitations-suppressed">3<`,
		`<dt>FREQUENCY_CAP</dt><dd id="invitations-suppressed-FREQUENCY_CAP">2<`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("GET / lacks %s", w)
		}
	}
}
