package service_test

import (
	"encoding/json"
	"math"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	"github.com/treue/treue/services/reporting/internal/ports/events"
	"github.com/treue/treue/services/reporting/service"
)

func credited(points int64, reason ledgerv1.PointsReason, at time.Time) *ledgerv1.PointsCredited {
	return &ledgerv1.PointsCredited{TransactionId: "tx", MemberId: "m1", Points: points, Reason: reason, StoreId: "s1", OccurredAt: timestamppb.New(at)}
}

func debited(points, shortfall int64, reason ledgerv1.PointsReason, at time.Time) *ledgerv1.PointsDebited {
	return &ledgerv1.PointsDebited{TransactionId: "tx", MemberId: "m1", Points: points, Shortfall: shortfall, Reason: reason, OccurredAt: timestamppb.New(at)}
}

func TestGetPointsSummaryFromLedgerEvents(t *testing.T) {
	t.Parallel()
	h := start(t)
	now := time.Now()
	yesterday := now.AddDate(0, 0, -1)

	h.publish(subjectCredited, credited(100, ledgerv1.PointsReason_POINTS_REASON_PURCHASE, yesterday))
	h.publish(subjectCredited, credited(50, ledgerv1.PointsReason_POINTS_REASON_SURVEY_BONUS, now))
	h.publish(subjectCredited, credited(25, ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT, now))
	// A return of 40 points of which the member had spent 10: 30 came back.
	h.publish(subjectDebited, debited(40, 10, ledgerv1.PointsReason_POINTS_REASON_RETURN, now))
	h.publish(subjectDebited, debited(20, 0, ledgerv1.PointsReason_POINTS_REASON_EXPIRY, now))
	// An adjustment taking back 5 points corrects an earlier credit: 5 fewer issued.
	h.publish(subjectDebited, debited(5, 0, ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT, now))
	h.publish(subjectCaptured, &ledgerv1.HoldCaptured{HoldId: "h1", MemberId: "m1", Points: 60, CapturedAt: timestamppb.New(now)})
	// Broken events: they go to the dead letters and the consumer goes on past them.
	h.publishRaw(&ledgerv1.PointsCredited{}, "broken-payload", []byte{0x0a, 0xff})
	h.publish(subjectDebited, debited(10, 11, ledgerv1.PointsReason_POINTS_REASON_RETURN, now))
	h.publish(subjectCredited, credited(1000, ledgerv1.PointsReason_POINTS_REASON_PURCHASE, now))

	want := &reportingv1.GetPointsSummaryResponse{Issued: 1170, Returned: 30, Redeemed: 60, Expired: 20}
	var got *reportingv1.GetPointsSummaryResponse
	testkit.Eventually(t, 15*time.Second, "the ledger events counted", func() bool {
		var err error
		got, err = h.reporting.GetPointsSummary(testkit.Ctx(t), &reportingv1.GetPointsSummaryRequest{})
		if err != nil {
			t.Fatalf("GetPointsSummary: %v", err)
		}
		return got.GetIssued() == want.GetIssued() && got.GetReturned() == want.GetReturned() &&
			got.GetRedeemed() == want.GetRedeemed() && got.GetExpired() == want.GetExpired()
	})
	if want := int64(1170 - 30 - 60 - 20); got.GetOutstanding() != want {
		t.Errorf("outstanding = %d, want issued - returned - redeemed - expired = %d", got.GetOutstanding(), want)
	}
	if asOf := got.GetAsOf().AsTime(); asOf.Before(now.Add(-time.Second)) || asOf.After(time.Now().Add(time.Second)) {
		t.Errorf("as_of = %v, want about now", asOf)
	}

	dead := h.WaitDeadLetters(h.grpcAddr, events.ConsumerLedger, 2)
	errs := map[string]string{}
	for _, d := range dead {
		errs[d.GetSubject()] = d.GetError()
	}
	if e := errs[subjectCredited]; !strings.Contains(e, "decode") {
		t.Errorf("dead letter of the broken payload: error %q, want a decode error", e)
	}
	if e := errs[subjectDebited]; !strings.Contains(e, "shortfall") {
		t.Errorf("dead letter of the impossible debit: error %q, want it to name the shortfall", e)
	}
}

// TestAbsurdPointsCannotBreakTheSummary replays what once broke reporting for good. First
// the state it was left in: counter rows that each fit an int64 but whose sum does not
// (every read of the totals failed, even after a restart). Then the events that led there:
// a hundred credits of int64-max/100 points (what a purchase of int64-max minor units
// earned) and a few of int64 max. The counters keep the exact sum; GetPointsSummary and
// the dashboard keep answering, their figures clamped to what an int64 carries.
func TestAbsurdPointsCannotBreakTheSummary(t *testing.T) {
	t.Parallel()
	h := start(t)
	db, err := pg.Connect(testkit.Ctx(t), h.DatabaseURL(), service.Name, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	now := time.Now()
	if _, err := db.Exec(testkit.Ctx(t), `
		INSERT INTO points_daily (day, counter, shard, points, movements)
		SELECT $1::date, 'credited', s, $2, 1 FROM generate_series(0, 3) AS s`, now.AddDate(0, 0, -2), int64(math.MaxInt64)); err != nil {
		t.Fatal(err)
	}
	got, err := h.reporting.GetPointsSummary(testkit.Ctx(t), &reportingv1.GetPointsSummaryRequest{})
	if err != nil || got.GetIssued() != math.MaxInt64 {
		t.Fatalf("GetPointsSummary over counters beyond int64 = %v, %v; want issued clamped to int64 max", got, err)
	}

	const tenth = math.MaxInt64 / 100
	purchase := ledgerv1.PointsReason_POINTS_REASON_PURCHASE
	for range 101 {
		h.publish(subjectCredited, credited(tenth, purchase, now))
	}
	for range 3 {
		h.publish(subjectCredited, credited(math.MaxInt64, purchase, now))
	}
	h.publish(subjectDebited, debited(math.MaxInt64, 0, ledgerv1.PointsReason_POINTS_REASON_RETURN, now))
	h.publish(subjectCaptured, &ledgerv1.HoldCaptured{HoldId: "h1", MemberId: "m1", Points: math.MaxInt64, CapturedAt: timestamppb.New(now)})
	h.publish(subjectCredited, credited(1, purchase, now))

	// The seeded rows, then the events.
	want := new(big.Int).Mul(big.NewInt(math.MaxInt64), big.NewInt(4+3))
	want.Add(want, new(big.Int).Mul(big.NewInt(tenth), big.NewInt(101)))
	want.Add(want, big.NewInt(1))
	var exact string
	// The summary must answer at every moment, not only once all is counted.
	testkit.Eventually(t, 15*time.Second, "every credit counted", func() bool {
		if got, err = h.reporting.GetPointsSummary(testkit.Ctx(t), &reportingv1.GetPointsSummaryRequest{}); err != nil {
			t.Fatalf("GetPointsSummary: %v", err)
		}
		err := db.QueryRow(testkit.Ctx(t), `SELECT sum(points)::text FROM points_daily WHERE counter = 'credited'`).Scan(&exact)
		if err != nil {
			t.Fatal(err)
		}
		return exact == want.String()
	})
	if got, err = h.reporting.GetPointsSummary(testkit.Ctx(t), &reportingv1.GetPointsSummaryRequest{}); err != nil {
		t.Fatalf("GetPointsSummary: %v", err)
	}
	if got.GetIssued() != math.MaxInt64 || got.GetReturned() != math.MaxInt64 || got.GetRedeemed() != math.MaxInt64 ||
		got.GetOutstanding() != -math.MaxInt64 {
		t.Errorf("summary %v: want issued, returned and redeemed clamped to int64 max and outstanding to their difference", got)
	}
	code, body, _ := h.get(t, h.httpURL+"/api/summary.json")
	var s summary
	if code != http.StatusOK || json.Unmarshal([]byte(body), &s) != nil || s.Points.Issued != math.MaxInt64 {
		t.Errorf("GET /api/summary.json: %d %s", code, body)
	}
	if code, _, _ := h.get(t, h.httpURL+"/"); code != http.StatusOK {
		t.Errorf("GET /: %d", code)
	}
	if dead := h.DeadLetters(h.grpcAddr, events.ConsumerLedger); len(dead) != 0 {
		t.Errorf("dead letters %v: none of these events is invalid", dead)
	}
}
