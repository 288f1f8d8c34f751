package service_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/service"
)

func TestErasureRemovesPersonalData(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *service.Config) { c.ContactInterval = 0 })
	bystander, parkedOnly := uuid.NewString(), uuid.NewString()

	// The member answered one invitation with a comment and has another open.
	answered := e.invite("de")
	member := answered.GetMemberId()
	if _, err := e.service.SubmitResponse(testkit.Ctx(t), &surveyv1.SubmitResponseRequest{
		Token: tokenOf(t, answered.GetUrl()), Score: 2, Comment: "Frau Müller an Kasse 3 war unfreundlich",
	}); err != nil {
		t.Fatal(err)
	}
	e.buy(purchase("S2", member))
	testkit.Eventually(t, 10*time.Second, "second invitation", func() bool { return e.invitationEvents(member) == 2 })
	var open *surveyv1.InvitationCreated
	for _, ev := range testkit.Events[*surveyv1.InvitationCreated](e.Env, subject[*surveyv1.InvitationCreated]()) {
		if ev.GetMemberId() == member && ev.GetInvitationId() != answered.GetInvitationId() {
			open = ev
		}
	}

	// Another member, untouched by the erasure.
	e.enroll(bystander, "en", true)
	e.buy(purchase("S1", bystander))
	e.invitationFor(bystander)
	// A member known only by a parked purchase.
	e.buy(purchase("S1", parkedOnly))

	if got := e.holders("Frau Müller"); !slices.Equal(got, []string{"responses.answers", "responses.comment"}) {
		t.Fatalf("before the erasure the comment is in %v, want responses.answers and responses.comment", got)
	}

	invitationsBefore := e.db.Count(`SELECT count(*) FROM invitations`)
	responsesBefore := e.db.Count(`SELECT count(*) FROM responses`)

	e.erase(member)
	e.erase(parkedOnly)

	checks := []struct {
		what string
		sql  string
		arg  string
		want int64
	}{
		{"member row", `SELECT count(*) FROM members WHERE member_id = $1`, member, 0},
		{"invitations linked to the member", `SELECT count(*) FROM invitations WHERE member_id = $1`, member, 0},
		{"parked triggers", `SELECT count(*) FROM pending_triggers WHERE member_id = $1`, parkedOnly, 0},
		{"comments of the member", `SELECT count(*) FROM responses r JOIN invitations i ON i.id = r.invitation_id
			WHERE i.id = $1::uuid AND r.comment <> ''`, answered.GetInvitationId(), 0},
		{"anonymised invitations kept", `SELECT count(*) FROM invitations WHERE member_id IS NULL AND locale IS NULL
			AND anonymised_at IS NOT NULL AND id = ANY(string_to_array($1, ',')::uuid[])`,
			answered.GetInvitationId() + "," + open.GetInvitationId(), 2},
		{"score kept", `SELECT count(*) FROM responses WHERE invitation_id = $1::uuid AND score = 2`, answered.GetInvitationId(), 1},
		{"bystander untouched", `SELECT count(*) FROM invitations WHERE member_id = $1`, bystander, 1},
	}
	for _, c := range checks {
		if n := e.db.Count(c.sql, c.arg); n != c.want {
			t.Errorf("%s: %d, want %d", c.what, n, c.want)
		}
	}
	if n := e.db.Count(`SELECT count(*) FROM invitations`); n != invitationsBefore {
		t.Errorf("invitations: %d, want the %d there were", n, invitationsBefore)
	}
	if n := e.db.Count(`SELECT count(*) FROM responses`); n != responsesBefore {
		t.Errorf("responses: %d, want the %d there were", n, responsesBefore)
	}
	var text string
	if err := e.db.QueryRow(context.Background(), `SELECT string_agg(coalesce(member_id, '') || coalesce(locale, ''), '') FROM invitations
		WHERE id IN ($1, $2)`, answered.GetInvitationId(), open.GetInvitationId()).Scan(&text); err != nil {
		t.Fatal(err)
	}
	if text != "" {
		t.Errorf("invitations still hold %q", text)
	}

	list, err := e.service.ListInvitations(testkit.Ctx(t), listRequest(member))
	if err != nil || len(list.GetInvitations()) != 0 {
		t.Errorf("ListInvitations after erasure = %v, %v; want none", list.GetInvitations(), err)
	}
	// The open link no longer works.
	_, err = e.service.SubmitResponse(testkit.Ctx(t), &surveyv1.SubmitResponseRequest{Token: tokenOf(t, open.GetUrl()), Score: 9})
	wantPrecondition(t, err, "LINK_EXPIRED")
	if p := e.get(pathOf(t, open.GetUrl())); p.code != http.StatusGone || strings.Contains(p.body, "Wie wahrscheinlich") {
		t.Errorf("open link after erasure: %d\n%s", p.code, p.body)
	}

	// Late events do not bring the member back.
	late := e.publish(uuid.NewString(), &ledgerv1.MemberEnrolled{MemberId: member, Locale: "de", SurveyConsent: true, EnrolledAt: timestamppb.Now()})
	e.WaitHandled(service.ConsumerMembers, late)
	e.buy(purchase("S3", member))
	if n := e.db.Count(`SELECT count(*) FROM members WHERE member_id = $1`, member); n != 0 {
		t.Error("a late enrolment brought the erased member back")
	}
	if n := e.db.Count(`SELECT count(*) FROM pending_triggers WHERE member_id = $1`, member); n != 0 {
		t.Error("a purchase of an erased member was parked")
	}
	if n := e.db.Count(`SELECT count(*) FROM invitations`); n != invitationsBefore {
		t.Errorf("invitations: %d, want %d", n, invitationsBefore)
	}

	// Nothing personal is left in any table: the comment, and the name and email the
	// enrolment carried, nowhere (events the outbox still holds included); the member id
	// only as the record of the erasure.
	testkit.Eventually(t, 10*time.Second, "no personal data in any table", func() bool {
		return len(e.holders("Frau Müller")) == 0 && len(e.holders("Erika Mustermann")) == 0 &&
			len(e.holders("erika@example.test")) == 0 && slices.Equal(e.holders(member), []string{"erased_members.member_id"})
	})
}
