package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/domain"
)

// invite enrols a consenting member, makes them buy, and returns their invitation.
func (e *env) invite(locale string) *surveyv1.InvitationCreated {
	e.t.Helper()
	member := uuid.NewString()
	e.enroll(member, locale, true)
	e.buy(purchase("S1", member))
	return e.invitationFor(member)
}

func TestSubmitResponse(t *testing.T) {
	t.Parallel()
	e := start(t)
	tests := []struct {
		score int32
		class commonv1.NpsClass
	}{
		{0, commonv1.NpsClass_NPS_CLASS_DETRACTOR},
		{6, commonv1.NpsClass_NPS_CLASS_DETRACTOR},
		{7, commonv1.NpsClass_NPS_CLASS_PASSIVE},
		{8, commonv1.NpsClass_NPS_CLASS_PASSIVE},
		{9, commonv1.NpsClass_NPS_CLASS_PROMOTER},
		{10, commonv1.NpsClass_NPS_CLASS_PROMOTER},
	}
	invs := make([]*surveyv1.InvitationCreated, len(tests))
	for i := range tests {
		invs[i] = e.invite("en")
	}
	for i, tt := range tests {
		inv := invs[i]
		comment := "score " + string(rune('0'+i))
		got, err := e.service.SubmitResponse(testkit.Ctx(t), &surveyv1.SubmitResponseRequest{
			Token: tokenOf(t, inv.GetUrl()), Score: tt.score, Comment: comment,
		})
		if err != nil {
			t.Fatalf("score %d: %v", tt.score, err)
		}
		r := got.GetResponse()
		if r.GetNpsClass() != tt.class || r.GetScore() != tt.score || r.GetInvitationId() != inv.GetInvitationId() ||
			r.GetMemberId() != inv.GetMemberId() || r.GetComment() != comment || r.GetResponseId() == "" {
			t.Errorf("score %d: response %v, want class %v", tt.score, r, tt.class)
		}
		ev := e.responseFor(inv.GetInvitationId())
		if ev.GetNpsClass() != tt.class || ev.GetScore() != tt.score || ev.GetMemberId() != inv.GetMemberId() ||
			ev.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_PURCHASE || ev.GetStoreId() != "S1" ||
			ev.GetComment() != comment || ev.GetSurveyId() != inv.GetSurveyId() || ev.GetResponseId() != r.GetResponseId() {
			t.Errorf("score %d: event %v", tt.score, ev)
		}
	}

	// One response per invitation.
	_, err := e.admin.SubmitResponse(testkit.Ctx(t), &surveyv1.SubmitResponseRequest{Token: tokenOf(t, invs[0].GetUrl()), Score: 10})
	wantPrecondition(t, err, "ALREADY_ANSWERED")
	if n := e.db.Count(`SELECT count(*) FROM responses WHERE invitation_id = $1`, invs[0].GetInvitationId()); n != 1 {
		t.Errorf("%d responses to the invitation, want 1", n)
	}

	list, err := e.service.ListInvitations(testkit.Ctx(t), &surveyv1.ListInvitationsRequest{MemberId: invs[0].GetMemberId()})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetInvitations()) != 1 || !list.GetInvitations()[0].GetAnswered() ||
		list.GetInvitations()[0].GetStatus() != surveyv1.InvitationStatus_INVITATION_STATUS_ANSWERED {
		t.Errorf("listed %v, want one answered invitation", list.GetInvitations())
	}
}

func TestSubmitResponseRejectsBadLinks(t *testing.T) {
	t.Parallel()
	e := start(t)
	inv := e.invite("en")
	token := tokenOf(t, inv.GetUrl())
	signer, err := domain.NewLinkSigner([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.MustParse(inv.GetInvitationId())

	head, sig, _ := strings.Cut(token, ".")
	// Another first character, whatever the signature is (upper-casing it changed nothing
	// when it held no lower-case letter).
	changed := "A" + sig[1:]
	if sig[0] == 'A' {
		changed = "B" + sig[1:]
	}
	other := uuid.New()
	otherHead, _, _ := strings.Cut(signer.Sign(other, time.Now().Add(time.Hour)), ".")
	for name, bad := range map[string]string{
		"signature changed": head + "." + changed,
		"payload changed":   otherHead + "." + sig,
		"signed elsewhere":  mustSigner(t, strings.Repeat("z", 32)).Sign(id, time.Now().Add(time.Hour)),
	} {
		_, err := e.service.SubmitResponse(testkit.Ctx(t), &surveyv1.SubmitResponseRequest{Token: bad, Score: 5})
		wantInvalidField(t, err, "token")
		if t.Failed() {
			t.Logf("case %q", name)
		}
	}

	expired := signer.Sign(id, time.Now().Add(-time.Minute))
	_, err = e.service.SubmitResponse(testkit.Ctx(t), &surveyv1.SubmitResponseRequest{Token: expired, Score: 5})
	wantPrecondition(t, err, "LINK_EXPIRED")

	// A genuine link to an invitation that does not exist.
	_, err = e.service.SubmitResponse(testkit.Ctx(t), &surveyv1.SubmitResponseRequest{Token: signer.Sign(uuid.New(), time.Now().Add(time.Hour)), Score: 5})
	if status.Code(err) != codes.NotFound {
		t.Errorf("unknown invitation: %v, want NotFound", err)
	}

	if n := e.db.Count(`SELECT count(*) FROM responses`); n != 0 {
		t.Errorf("%d responses stored, want 0", n)
	}
	// The genuine token still works.
	if _, err := e.service.SubmitResponse(testkit.Ctx(t), &surveyv1.SubmitResponseRequest{Token: token, Score: 5}); err != nil {
		t.Errorf("genuine token: %v", err)
	}
}

func mustSigner(t *testing.T, secret string) *domain.LinkSigner {
	t.Helper()
	s, err := domain.NewLinkSigner([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantPrecondition(t *testing.T, err error, reason string) {
	t.Helper()
	if status.Code(err) != codes.FailedPrecondition || grpcx.Reason(err) != reason {
		t.Errorf("got %v (reason %q), want FailedPrecondition %s", err, grpcx.Reason(err), reason)
	}
}

// wantInvalidField checks for InvalidArgument naming field in the message and in the
// BadRequest details.
func wantInvalidField(t *testing.T, err error, field string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), field) {
		t.Errorf("got %v, want InvalidArgument naming %s", err, field)
		return
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
		}
	}
	t.Errorf("got %v, want a BadRequest field violation for %s", err, field)
}
