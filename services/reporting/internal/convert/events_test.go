package convert

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/reporting/internal/domain"
)

// A coupon issued is dated by its event's UUIDv7 id; an event with another id is undated.
func TestCouponIssuedIsDatedByItsEventID(t *testing.T) {
	at := time.Date(2026, 3, 9, 23, 59, 0, 0, time.UTC)
	if got := CouponIssued(uuidV7(at)); got != (domain.CouponEvent{Day: domain.DayOf(at)}) {
		t.Errorf("CouponIssued(a UUIDv7 of %v) = %+v, want that day", at, got)
	}
	for _, other := range []string{"k1", uuid.NewString(), ""} {
		if got := CouponIssued(other); got != (domain.CouponEvent{}) {
			t.Errorf("CouponIssued(%q) = %+v, want undated", other, got)
		}
	}
}

// uuidV7 is a version 7 UUID of at: its milliseconds in the first 48 bits.
func uuidV7(at time.Time) string {
	var id uuid.UUID
	ms := uint64(at.UnixMilli())
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	id[6], id[8] = 0x70, 0x80 // version 7, RFC 4122 variant
	return id.String()
}

func TestEnumsAndNames(t *testing.T) {
	at := timestamppb.Now()
	r, err := ResponseSubmitted(&surveyv1.ResponseSubmitted{Score: 4, NpsClass: commonv1.NpsClass_NPS_CLASS_PROMOTER, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT, SubmittedAt: at})
	if err != nil || r.Class != domain.Promoter || r.Touchpoint != "WEB_VISIT" {
		t.Errorf("ResponseSubmitted = %+v, %v; want a promoter (the survey's class wins) at WEB_VISIT", r, err)
	}
	// Unspecified: the score decides.
	if r, err := ResponseSubmitted(&surveyv1.ResponseSubmitted{Score: 4, SubmittedAt: at}); err != nil || r.Class != domain.Detractor {
		t.Errorf("ResponseSubmitted without a class = %+v, %v; want a detractor", r, err)
	}
	for reason, want := range map[ledgerv1.PointsReason]domain.PointsCounter{
		ledgerv1.PointsReason_POINTS_REASON_RETURN:       domain.CounterReturned,
		ledgerv1.PointsReason_POINTS_REASON_EXPIRY:       domain.CounterExpired,
		ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT:   domain.CounterAdjustedOut,
		ledgerv1.PointsReason_POINTS_REASON_PURCHASE:     domain.CounterAdjustedOut,
		ledgerv1.PointsReason_POINTS_REASON_SURVEY_BONUS: domain.CounterAdjustedOut,
	} {
		if m, err := PointsDebited(&ledgerv1.PointsDebited{Points: 3, Reason: reason, OccurredAt: at}); err != nil || m.Counter != want {
			t.Errorf("debit for %v = %+v, %v; want counter %s", reason, m, err, want)
		}
	}
	// An unspecified enum says nothing, so that it does not overwrite what another event said.
	c, err := CaseResolved(&feedbackv1.CaseResolved{CaseId: "c1", ResolvedAt: at})
	if err != nil || c.Kind != "" || c.Outcome != "" {
		t.Errorf("CaseResolved = %+v, %v; want no kind and no outcome", c, err)
	}
	c, err = CaseOpened(&feedbackv1.CaseOpened{CaseId: "c1", Kind: feedbackv1.CaseKind_CASE_KIND_REFERRAL_REQUEST, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_PURCHASE, OpenedAt: at})
	if err != nil || c.Kind != "REFERRAL_REQUEST" || c.Touchpoint != "PURCHASE" {
		t.Errorf("CaseOpened = %+v, %v", c, err)
	}
}

// A tagged response is counted as its answer is: a CSAT answer by its score, an NPS answer
// by its class; one with a class a CSAT answer cannot have, or no topic, is refused.
func TestResponseTagged(t *testing.T) {
	at := timestamppb.New(time.Date(2026, 3, 9, 23, 30, 0, 0, time.UTC))
	m, err := ResponseTagged(&feedbackv1.ResponseTagged{ResponseId: "r1", Topics: []string{"queue", "staff"}, Score: 2,
		ScoreKind: commonv1.ScoreKind_SCORE_KIND_CSAT, StoreId: "s1", Touchpoint: commonv1.Touchpoint_TOUCHPOINT_PURCHASE, SubmittedAt: at})
	if err != nil || m.Kind != domain.KindCSAT || m.Score != 2 || m.StoreID != "s1" || len(m.Topics) != 2 ||
		!m.Day.Equal(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("CSAT = %+v, %v", m, err)
	}
	if m, err := ResponseTagged(&feedbackv1.ResponseTagged{ResponseId: "r2", Topics: []string{"queue"}, Score: 4,
		NpsClass: commonv1.NpsClass_NPS_CLASS_PASSIVE, SubmittedAt: at}); err != nil || m.Kind != domain.KindNPS || m.Class != domain.Passive {
		t.Errorf("NPS = %+v, %v; want a passive (the survey's class wins)", m, err)
	}
	for name, e := range map[string]*feedbackv1.ResponseTagged{
		"CSAT with a class": {ResponseId: "r3", Topics: []string{"queue"}, Score: 4, ScoreKind: commonv1.ScoreKind_SCORE_KIND_CSAT,
			NpsClass: commonv1.NpsClass_NPS_CLASS_PROMOTER, SubmittedAt: at},
		"no topic": {ResponseId: "r4", Score: 4, SubmittedAt: at},
		"undated":  {ResponseId: "r5", Topics: []string{"queue"}, Score: 4},
	} {
		if _, err := ResponseTagged(e); !errors.Is(err, domain.ErrInvalidEvent) {
			t.Errorf("%s: %v; want ErrInvalidEvent", name, err)
		}
	}
}

// The loop's events: a merge names its duplicate, not the primary; a follow-up answer of
// unspecified kind is CSAT (the seeded follow-up survey's); a lifecycle event brings its
// due times; no member is kept.
func TestCaseLoopEvents(t *testing.T) {
	at := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	ts := timestamppb.New(at)
	merged, err := CasesMerged(&feedbackv1.CasesMerged{PrimaryCaseId: "p", DuplicateCaseId: "d", MemberId: "m1", At: ts})
	if err != nil || merged != (domain.CaseChange{ID: "d", MergedAt: at}) {
		t.Errorf("merged = %+v, %v; want the duplicate merged", merged, err)
	}
	answer, err := CaseFollowUpReceived(&feedbackv1.CaseFollowUpReceived{CaseId: "c", ResponseId: "r", MemberId: "m1", Score: 4, Satisfied: true, Solved: "yes", ReceivedAt: ts})
	if want := (domain.FollowUpAnswer{At: at, Kind: domain.KindCSAT, Score: 4, Satisfied: true, Solved: "yes"}); err != nil || answer.FollowUp != want {
		t.Errorf("follow-up = %+v, %v; want %+v", answer.FollowUp, err, want)
	}
	due := timestamppb.New(at.Add(time.Hour))
	contacted, err := CaseContacted(&feedbackv1.CaseContacted{Transition: &feedbackv1.CaseTransition{CaseId: "c", Team: "care", At: ts, FirstContactDueAt: due, DueAt: due, MemberId: "m1"}})
	if want := (domain.CaseChange{ID: "c", Team: "care", FirstContactAt: at, FirstContactDueAt: due.AsTime(), DueAt: due.AsTime()}); err != nil || contacted != want {
		t.Errorf("contacted = %+v, %v; want %+v", contacted, err, want)
	}
	reopened, err := CaseReopened(&feedbackv1.CaseReopened{Transition: &feedbackv1.CaseTransition{CaseId: "c", At: ts}})
	if err != nil || reopened.ReopenedAt != at || reopened.Reopens != 1 {
		t.Errorf("reopened = %+v, %v", reopened, err)
	}
	coupon, err := GoodwillRewardIssued(&feedbackv1.GoodwillRewardIssued{CaseId: "c", MemberId: "m1", RewardId: "r", CouponId: "k", IssuedAt: ts})
	if err != nil || coupon != (domain.CaseChange{ID: "c", GoodwillCoupon: true}) {
		t.Errorf("coupon = %+v, %v", coupon, err)
	}
	if _, err := CaseEscalated(&feedbackv1.CaseEscalated{CaseId: "c", Level: 4, At: ts}); !errors.Is(err, domain.ErrInvalidEvent) {
		t.Errorf("level 4: %v; want ErrInvalidEvent", err)
	}
}
