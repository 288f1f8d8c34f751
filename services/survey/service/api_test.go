package service_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/testkit"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/service"
)

// Every method: a caller without a key, a caller whose role may not call it, and
// malformed requests naming the field.
func TestMethodsAuthenticateAuthoriseAndValidate(t *testing.T) {
	t.Parallel()
	e := start(t)
	validToken := strings.Repeat("a", 40)
	type call func(c surveyv1.SurveyServiceClient) error
	submit := func(r *surveyv1.SubmitResponseRequest) call {
		return func(c surveyv1.SurveyServiceClient) error { _, err := c.SubmitResponse(testkit.Ctx(t), r); return err }
	}
	list := func(r *surveyv1.ListInvitationsRequest) call {
		return func(c surveyv1.SurveyServiceClient) error { _, err := c.ListInvitations(testkit.Ctx(t), r); return err }
	}
	methods := []struct {
		name      string
		ok        call
		forbidden surveyv1.SurveyServiceClient // a client whose role the method does not allow
		invalid   map[string]call              // field -> malformed request
	}{
		{
			name:      "SubmitResponse",
			ok:        submit(&surveyv1.SubmitResponseRequest{Token: validToken, Score: 5}),
			forbidden: e.marketing,
			invalid: map[string]call{
				"token":   submit(&surveyv1.SubmitResponseRequest{Token: "short", Score: 5}),
				"score":   submit(&surveyv1.SubmitResponseRequest{Token: validToken, Score: 11}),
				"comment": submit(&surveyv1.SubmitResponseRequest{Token: validToken, Score: 5, Comment: strings.Repeat("x", 4001)}),
			},
		},
		{
			name:      "ListInvitations",
			ok:        list(&surveyv1.ListInvitationsRequest{MemberId: uuid.NewString()}),
			forbidden: e.pos,
			invalid: map[string]call{
				"member_id":  list(&surveyv1.ListInvitationsRequest{MemberId: "not-a-uuid"}),
				"page_size":  list(&surveyv1.ListInvitationsRequest{MemberId: uuid.NewString(), PageSize: 501}),
				"page_token": list(&surveyv1.ListInvitationsRequest{MemberId: uuid.NewString(), PageToken: "%%%"}),
			},
		},
	}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			if err := m.ok(e.anonymous); status.Code(err) != codes.Unauthenticated {
				t.Errorf("no key: %v, want Unauthenticated", err)
			}
			if err := m.ok(m.forbidden); status.Code(err) != codes.PermissionDenied {
				t.Errorf("wrong role: %v, want PermissionDenied", err)
			}
			if err := m.ok(e.pos); status.Code(err) != codes.PermissionDenied {
				t.Errorf("pos role: %v, want PermissionDenied", err)
			}
			for field, c := range m.invalid {
				wantInvalidField(t, c(e.admin), field)
			}
		})
	}
}

func TestListInvitationsPages(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *service.Config) { c.ContactInterval = 0 })
	member := uuid.NewString()
	e.enroll(member, "en", true)
	for range 5 {
		e.buy(purchase("S1", member))
	}
	var ids []string
	token := ""
	for page := 0; ; page++ {
		resp, err := e.service.ListInvitations(testkit.Ctx(t), &surveyv1.ListInvitationsRequest{MemberId: member, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, inv := range resp.GetInvitations() {
			ids = append(ids, inv.GetInvitationId())
			if !strings.HasPrefix(inv.GetUrl(), publicURL+"/s/") || inv.GetMemberId() != member {
				t.Errorf("invitation %v", inv)
			}
			// Where it is in its life and what made it are listed too.
			if st := inv.GetStatus(); (st != surveyv1.InvitationStatus_INVITATION_STATUS_SCHEDULED &&
				st != surveyv1.InvitationStatus_INVITATION_STATUS_SENT) || inv.GetDueAt() == nil ||
				inv.GetSurveyVersion() != 1 || inv.GetTriggerId() == "" || inv.GetStoreId() != "S1" {
				t.Errorf("invitation without its lifecycle: %v", inv)
			}
		}
		token = resp.GetNextPageToken()
		if token == "" {
			break
		}
		if page > 5 {
			t.Fatal("too many pages")
		}
	}
	if len(ids) != 5 {
		t.Fatalf("listed %d invitations, want 5", len(ids))
	}
	// Newest first: invitation ids are UUIDv7, so they sort by creation.
	for i := 1; i < len(ids); i++ {
		if ids[i-1] < ids[i] {
			t.Errorf("not newest first: %v", ids)
			break
		}
	}
}

func listRequest(member string) *surveyv1.ListInvitationsRequest {
	return &surveyv1.ListInvitationsRequest{MemberId: member}
}
