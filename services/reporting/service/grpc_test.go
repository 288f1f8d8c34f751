package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
)

// call runs one ReportingService method with a caller's key ("" for none).
type call func(ctx context.Context, c reportingv1.ReportingServiceClient) error

var (
	getNps = func(ctx context.Context, c reportingv1.ReportingServiceClient) error {
		_, err := c.GetNps(ctx, &reportingv1.GetNpsRequest{})
		return err
	}
	getTopics = func(ctx context.Context, c reportingv1.ReportingServiceClient) error {
		_, err := c.GetTopics(ctx, &reportingv1.GetTopicsRequest{})
		return err
	}
	getFollowUpStats = func(ctx context.Context, c reportingv1.ReportingServiceClient) error {
		_, err := c.GetFollowUpStats(ctx, &reportingv1.GetFollowUpStatsRequest{})
		return err
	}
	getPointsSummary = func(ctx context.Context, c reportingv1.ReportingServiceClient) error {
		_, err := c.GetPointsSummary(ctx, &reportingv1.GetPointsSummaryRequest{})
		return err
	}
)

func TestReportingServiceAuthorisation(t *testing.T) {
	t.Parallel()
	h := start(t)
	tests := []struct {
		name   string
		method call
		key    string
		want   codes.Code
	}{
		{"GetNps without a key", getNps, "", codes.Unauthenticated},
		{"GetNps with an unknown key", getNps, "not-a-key", codes.Unauthenticated},
		{"GetNps as pos", getNps, h.Key("pos"), codes.PermissionDenied},
		{"GetNps as service agent", getNps, h.Key("service_agent"), codes.OK},
		{"GetNps as marketing", getNps, h.Key("marketing"), codes.OK},
		{"GetNps as admin", getNps, h.Key("admin"), codes.OK},
		{"GetTopics without a key", getTopics, "", codes.Unauthenticated},
		{"GetTopics as pos", getTopics, h.Key("pos"), codes.PermissionDenied},
		{"GetTopics as service agent", getTopics, h.Key("service_agent"), codes.OK},
		{"GetTopics as auditor", getTopics, h.Key("auditor"), codes.OK},
		{"GetFollowUpStats without a key", getFollowUpStats, "", codes.Unauthenticated},
		{"GetFollowUpStats as pos", getFollowUpStats, h.Key("pos"), codes.PermissionDenied},
		{"GetFollowUpStats as service agent", getFollowUpStats, h.Key("service_agent"), codes.OK},
		{"GetFollowUpStats as marketing", getFollowUpStats, h.Key("marketing"), codes.OK},
		{"GetFollowUpStats as auditor", getFollowUpStats, h.Key("auditor"), codes.OK},
		{"GetPointsSummary without a key", getPointsSummary, "", codes.Unauthenticated},
		{"GetPointsSummary with an unknown key", getPointsSummary, "not-a-key", codes.Unauthenticated},
		{"GetPointsSummary as pos", getPointsSummary, h.Key("pos"), codes.PermissionDenied},
		{"GetPointsSummary as service agent", getPointsSummary, h.Key("service_agent"), codes.PermissionDenied},
		{"GetPointsSummary as marketing", getPointsSummary, h.Key("marketing"), codes.OK},
		{"GetPointsSummary as admin", getPointsSummary, h.Key("admin"), codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := reportingv1.NewReportingServiceClient(testkit.Dial(t, h.grpcAddr, tt.key))
			if got := status.Code(tt.method(testkit.Ctx(t), client)); got != tt.want {
				t.Errorf("code = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGetNpsRejectsMalformedRequests(t *testing.T) {
	t.Parallel()
	h := start(t)
	day := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		req       *reportingv1.GetNpsRequest
		wantField string
		wantText  string
	}{
		{
			name:      "from after to",
			req:       &reportingv1.GetNpsRequest{From: timestamppb.New(day), To: timestamppb.New(day.Add(-24 * time.Hour))},
			wantField: "from",
			wantText:  "from must not be after to",
		},
		{
			name:      "from not a time",
			req:       &reportingv1.GetNpsRequest{From: &timestamppb.Timestamp{Seconds: 1 << 62}},
			wantField: "from",
			wantText:  "from",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.reporting.GetNps(testkit.Ctx(t), tt.req)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("code = %v (%v), want InvalidArgument", st.Code(), err)
			}
			if !strings.Contains(st.Message(), tt.wantText) || !strings.Contains(st.Message(), tt.wantField+": ") {
				t.Errorf("message %q does not say %q", st.Message(), tt.wantText)
			}
			var named bool
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						named = named || v.GetField() == tt.wantField
					}
				}
			}
			if !named {
				t.Errorf("details %v do not name %q", st.Details(), tt.wantField)
			}
		})
	}
	// Same day is a valid one-day period.
	if _, err := h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{From: timestamppb.New(day), To: timestamppb.New(day)}); err != nil {
		t.Errorf("from == to: %v", err)
	}
}

// TestTopicsAndFollowUpsRejectMalformedRequests: the requests' rules and the period's
// order name the field at fault.
func TestTopicsAndFollowUpsRejectMalformedRequests(t *testing.T) {
	t.Parallel()
	h := start(t)
	day := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	from, before := timestamppb.New(day), timestamppb.New(day.AddDate(0, 0, -1))
	topics := func(req *reportingv1.GetTopicsRequest) call {
		return func(ctx context.Context, c reportingv1.ReportingServiceClient) error {
			_, err := c.GetTopics(ctx, req)
			return err
		}
	}
	followUps := func(req *reportingv1.GetFollowUpStatsRequest) call {
		return func(ctx context.Context, c reportingv1.ReportingServiceClient) error {
			_, err := c.GetFollowUpStats(ctx, req)
			return err
		}
	}
	for _, tt := range []struct {
		name   string
		method call
		field  string
	}{
		{"topics from after to", topics(&reportingv1.GetTopicsRequest{From: from, To: before}), "from"},
		{"topics negative limit", topics(&reportingv1.GetTopicsRequest{Limit: -1}), "limit"},
		{"topics limit too high", topics(&reportingv1.GetTopicsRequest{Limit: 1001}), "limit"},
		{"topics store too long", topics(&reportingv1.GetTopicsRequest{StoreId: strings.Repeat("s", 257)}), "store_id"},
		{"follow-ups from after to", followUps(&reportingv1.GetFollowUpStatsRequest{From: from, To: before}), "from"},
		{"follow-ups team too long", followUps(&reportingv1.GetFollowUpStatsRequest{Team: strings.Repeat("t", 257)}), "team"},
		{"follow-ups store too long", followUps(&reportingv1.GetFollowUpStatsRequest{StoreId: strings.Repeat("s", 257)}), "store_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantFieldViolation(t, tt.method(testkit.Ctx(t), h.reporting), tt.field)
		})
	}
	if _, err := h.reporting.GetTopics(testkit.Ctx(t), &reportingv1.GetTopicsRequest{Limit: 1000, StoreId: "s1"}); err != nil {
		t.Errorf("limit 1000 of a store: %v", err)
	}
	// The longest team name is taken; a team without cases has nothing opened.
	got, err := h.reporting.GetFollowUpStats(testkit.Ctx(t), &reportingv1.GetFollowUpStatsRequest{Team: strings.Repeat("t", 256)})
	if err != nil || got.GetOverall().GetOpened() != 0 || len(got.GetByTeam()) != 0 {
		t.Errorf("an unknown team = %v, %v; want nothing opened", got, err)
	}
}
