package service_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
)

// A touchpoint dated in the future (a till's clock far off, a typo in the year) is
// refused naming occurred_at: it would schedule an invitation that is never due and
// take the member's one contact of the interval.
func TestRecordTouchpointRefusesAFutureTime(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	e.enroll(member, "en", true)
	for _, at := range []time.Time{time.Now().Add(48 * time.Hour), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)} {
		_, err := e.service.RecordTouchpoint(testkit.Ctx(t), &surveyv1.RecordTouchpointRequest{
			EventId: uuid.NewString(), MemberId: member, OccurredAt: timestamppb.New(at),
			Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL,
		})
		wantInvalidField(t, err, "occurred_at")
	}
	if n := e.db.Count(`SELECT count(*) FROM invitations WHERE member_id = $1`, member); n != 0 {
		t.Errorf("%d invitations, want none", n)
	}
	// A clock a little ahead is fine.
	resp := e.record(&surveyv1.RecordTouchpointRequest{MemberId: member, OccurredAt: timestamppb.New(time.Now().Add(time.Minute))})
	if resp.GetOutcome() != "SCHEDULED" {
		t.Errorf("a minute ahead: %v", resp)
	}
}

// A touchpoint event dated years ahead (a producer's wrong clock) cannot be refused on
// the stream: its invitation counts from now instead of never coming due.
func TestTouchpointEventFromTheFutureIsDueNow(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	e.enroll(member, "en", true)
	e.contact(&touchpointv1.ContactRecorded{EventId: uuid.NewString(), MemberId: member,
		Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL, StoreId: "S1",
		OccurredAt: timestamppb.New(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))})
	inv := e.invitationFor(member)
	if due := inv.GetDueAt().AsTime(); due.After(time.Now().Add(time.Minute)) {
		t.Errorf("due at %v, want now (the seeded rule has no delay)", due)
	}
}
