package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/reporting/internal/ports/events"
	"github.com/treue/treue/services/reporting/service"
)

func TestExportMemberAuthorisation(t *testing.T) {
	t.Parallel()
	h := start(t)
	tests := []struct {
		key  string
		want codes.Code
	}{
		{"", codes.Unauthenticated},
		{"not-a-key", codes.Unauthenticated},
		{h.Key("admin"), codes.OK},
		{h.Key("privacy"), codes.OK},
		{h.Key("marketing"), codes.PermissionDenied},
		{h.Key("service_agent"), codes.PermissionDenied},
		{h.Key("auditor"), codes.PermissionDenied},
		{h.Key("pos"), codes.PermissionDenied},
		{h.Key("service"), codes.PermissionDenied},
	}
	for _, tt := range tests {
		client := privacyv1.NewPrivacyServiceClient(testkit.Dial(t, h.grpcAddr, tt.key))
		_, err := client.ExportMember(testkit.Ctx(t), &privacyv1.ExportMemberRequest{MemberId: "m1"})
		if got := status.Code(err); got != tt.want {
			t.Errorf("key %q: code = %v (%v), want %v", tt.key, got, err, tt.want)
		}
	}
	client := privacyv1.NewPrivacyServiceClient(h.Conn(h.grpcAddr, "privacy"))
	_, err := client.ExportMember(testkit.Ctx(t), &privacyv1.ExportMemberRequest{})
	testkit.WantCode(t, err, codes.InvalidArgument)
}

func TestExportOfAnUnknownMemberIsEmpty(t *testing.T) {
	t.Parallel()
	h := start(t)
	got := h.export(t, "nobody")
	if got.GetService() != service.Name || got.GetMemberId() != "nobody" {
		t.Errorf("export names service %q and member %q, want %q and nobody", got.GetService(), got.GetMemberId(), service.Name)
	}
	if at := got.GetExportedAt().AsTime(); time.Since(at) > time.Minute || time.Until(at) > time.Minute {
		t.Errorf("exported_at %v, want about now", at)
	}
	wantEmpty(t, got)
}

// TestErasureKeepsEveryFigure erases a member who answered a survey (with a comment),
// earned, lost and redeemed points, had a case and a coupon: afterwards every figure is
// as it was, no table of reporting holds anything of the member, and the member's export
// is empty.
func TestErasureKeepsEveryFigure(t *testing.T) {
	t.Parallel()
	h := start(t)
	now := time.Now()
	const member, comment = "m-erase-7f3a", "call me back on 0170 5550123"
	other := "m-other"

	// Ids of their own, as the producers make them: none derived from the member's.
	for i, m := range []string{member, other} {
		id := func(prefix string) string { return fmt.Sprintf("%s-%d", prefix, i) }
		r := response(commonv1.Touchpoint_TOUCHPOINT_PURCHASE, "store-berlin", 3, now.Add(-time.Hour))
		r.ResponseId, r.MemberId, r.Comment = id("r"), m, comment
		h.publish(subjectResponse, r)
		c := credited(300, ledgerv1.PointsReason_POINTS_REASON_PURCHASE, now)
		c.MemberId = m
		h.publish(subjectCredited, c)
		d := debited(20, 5, ledgerv1.PointsReason_POINTS_REASON_RETURN, now)
		d.MemberId = m
		h.publish(subjectDebited, d)
		h.publish(subjectCaptured, &ledgerv1.HoldCaptured{HoldId: id("h"), MemberId: m, Points: 50, CapturedAt: timestamppb.New(now)})
		h.publish(subjectCaseOpened, &feedbackv1.CaseOpened{CaseId: id("c"), MemberId: m, ResponseId: id("r"), Kind: feedbackv1.CaseKind_CASE_KIND_CALLBACK,
			Team: "care", OpenedAt: timestamppb.New(now.Add(-time.Hour)), DueAt: timestamppb.New(now.Add(time.Hour))})
		h.publish(subjectCouponIssued, &rewardsv1.CouponIssued{CouponId: id("k"), RedemptionId: id("d"), MemberId: m, RewardId: "r1", Currency: "EUR"})
		h.publish(subjectCouponRedeemed, &rewardsv1.CouponRedeemed{CouponId: id("k"), MemberId: m, RewardId: "r1", Currency: "EUR", RedeemedAt: timestamppb.New(now)})
	}
	h.publish(subjectCaseResolved, &feedbackv1.CaseResolved{CaseId: "c-1", Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
		OpenedAt: timestamppb.New(now.Add(-time.Hour)), ResolvedAt: timestamppb.New(now)})

	var before figures
	testkit.Eventually(t, 15*time.Second, "every event counted", func() bool {
		before = h.figures(t)
		return before.Nps.GetOverall().GetResponses() == 2 && before.Points.GetIssued() == 600 && before.Points.GetRedeemed() == 100 &&
			before.Points.GetReturned() == 30 && before.Summary.Cases.Open == 1 && before.Summary.Cases.Resolved == 1 &&
			before.Summary.Coupons.Issued == 2 && before.Summary.Coupons.Redeemed == 2
	})
	wantEmpty(t, h.export(t, member))

	first := h.Publish(subjectErased, "", &ledgerv1.MemberErased{MemberId: member, ErasedAt: timestamppb.New(now)})
	// Erasure is idempotent: the ledger may tell it again.
	again := h.Publish(subjectErased, "", &ledgerv1.MemberErased{MemberId: member, ErasedAt: timestamppb.New(now.Add(time.Second))})
	h.WaitHandled(events.ConsumerMembers, first, again)
	if dead := h.DeadLetters(h.grpcAddr, events.ConsumerMembers); len(dead) != 0 {
		t.Fatalf("erasures dead-lettered: %v", dead)
	}

	after := h.figures(t)
	if diff := cmp.Diff(before, after, protocmp.Transform(), protocmp.IgnoreFields(&reportingv1.GetPointsSummaryResponse{}, "as_of")); diff != "" {
		t.Errorf("figures changed by the erasure (-before +after):\n%s", diff)
	}
	wantEmpty(t, h.export(t, member))

	// No row of any table in reporting's schema holds the member's id or words.
	db := h.DB(service.Name)
	rows, err := db.Query(testkit.Ctx(t), `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, service.Name)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 4 {
		t.Fatalf("tables %v, %v", tables, err)
	}
	for _, table := range tables {
		q := `SELECT count(*) FROM ` + pgx.Identifier{service.Name, table}.Sanitize() + ` AS r WHERE r::text LIKE '%' || $1 || '%'`
		for _, trace := range []string{member, comment} {
			if n := db.Count(q, trace); n != 0 {
				t.Errorf("%d rows of %s hold %q after the erasure", n, table, trace)
			}
		}
	}
}

// figures are everything reporting shows: the gRPC answers and the dashboard's summary.
type figures struct {
	Nps     *reportingv1.GetNpsResponse
	Points  *reportingv1.GetPointsSummaryResponse
	Summary summary
}

func (h *harness) figures(t *testing.T) figures {
	t.Helper()
	var f figures
	var err error
	if f.Nps, err = h.reporting.GetNps(testkit.Ctx(t), &reportingv1.GetNpsRequest{}); err != nil {
		t.Fatal(err)
	}
	if f.Points, err = h.reporting.GetPointsSummary(testkit.Ctx(t), &reportingv1.GetPointsSummaryRequest{}); err != nil {
		t.Fatal(err)
	}
	code, body, _ := h.get(t, h.httpURL+"/api/summary.json")
	if code != http.StatusOK {
		t.Fatalf("GET /api/summary.json: %d %s", code, body)
	}
	if err := json.Unmarshal([]byte(body), &f.Summary); err != nil {
		t.Fatal(err)
	}
	return f
}

func (h *harness) export(t *testing.T, member string) *privacyv1.ExportMemberResponse {
	t.Helper()
	client := privacyv1.NewPrivacyServiceClient(h.Conn(h.grpcAddr, "privacy"))
	got, err := client.ExportMember(context.WithoutCancel(testkit.Ctx(t)), &privacyv1.ExportMemberRequest{MemberId: member})
	if err != nil {
		t.Fatalf("ExportMember(%s): %v", member, err)
	}
	return got
}

// wantEmpty fails unless the export holds nothing but the note that says so.
func wantEmpty(t *testing.T, got *privacyv1.ExportMemberResponse) {
	t.Helper()
	fields := got.GetData().GetFields()
	if len(fields) != 1 || !strings.Contains(fields["note"].GetStringValue(), "holds nothing") {
		t.Errorf("export data %v, want only a note that reporting holds nothing about the member", protojson.Format(got.GetData()))
	}
	if strings.Contains(protojson.Format(got.GetData()), got.GetMemberId()) {
		t.Errorf("export data names the member: %v", protojson.Format(got.GetData()))
	}
}
