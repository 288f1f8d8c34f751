package service_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/survey/service"
)

// consent publishes a member's change of consent dated at and waits until it is applied.
func (e *env) consent(member string, survey bool, at time.Time) {
	e.t.Helper()
	e.WaitHandled(service.ConsumerMembers, e.publish(uuid.NewString(), &ledgerv1.MemberConsentChanged{
		MemberId: member, Locale: "de-DE", SurveyConsent: survey, ChangedAt: timestamppb.New(at),
	}))
}

// TestWithdrawnConsentIsNeverInvited: a member who withdrew their survey consent earns
// no invitation, and an older event (the enrolment redelivered after the withdrawal)
// does not bring the consent back; giving it anew does.
func TestWithdrawnConsentIsNeverInvited(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *service.Config) { c.ContactInterval = time.Millisecond })
	member := uuid.NewString()
	enrolled := time.Now().Add(-time.Hour)
	enrol := &ledgerv1.MemberEnrolled{MemberId: member, Locale: "de-DE", SurveyConsent: true, EnrolledAt: timestamppb.New(enrolled)}
	e.WaitHandled(service.ConsumerMembers, e.publish(uuid.NewString(), enrol))

	e.consent(member, false, enrolled.Add(time.Minute))
	e.buy(purchase("S1", member))
	// The enrolment again, delivered late: older than the withdrawal, it changes nothing.
	e.WaitHandled(service.ConsumerMembers, e.publish(uuid.NewString(), enrol))
	e.buy(purchase("S2", member))
	if n := e.invitationsOf(member); n != 0 {
		t.Fatalf("a member who withdrew their consent has %d invitations", n)
	}
	var consent bool
	if err := e.db.QueryRow(t.Context(), `SELECT survey_consent FROM members WHERE member_id = $1`, member).Scan(&consent); err != nil || consent {
		t.Fatalf("the survey's copy has consent %v (%v), want withdrawn", consent, err)
	}

	// A withdrawal that arrives before the enrolment it follows still wins.
	late := uuid.NewString()
	e.consent(late, false, time.Now())
	e.WaitHandled(service.ConsumerMembers, e.publish(uuid.NewString(), &ledgerv1.MemberEnrolled{
		MemberId: late, Locale: "en", SurveyConsent: true, EnrolledAt: timestamppb.New(time.Now().Add(-time.Minute)),
	}))
	e.buy(purchase("S1", late))
	if n := e.invitationsOf(late); n != 0 {
		t.Errorf("a member whose withdrawal came before the enrolment has %d invitations", n)
	}

	// Given anew: invited again.
	e.consent(member, true, time.Now())
	e.buy(purchase("S3", member))
	e.invitationFor(member)
}
