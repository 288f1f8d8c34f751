package convert

import (
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// ToProtoResponse is a response as the API returns it.
func ToProtoResponse(r domain.Response) *surveyv1.Response {
	return &surveyv1.Response{
		ResponseId:    r.ID,
		InvitationId:  r.InvitationID,
		MemberId:      r.MemberID,
		Score:         int32(r.Score),
		Comment:       r.Comment,
		NpsClass:      NPSClasses.Proto(r.Class),
		SubmittedAt:   timestamppb.New(r.SubmittedAt),
		ScoreKind:     ScoreKinds.Proto(r.ScoreKind),
		SurveyVersion: int32(r.SurveyVersion),
		Answers:       ToProtoAnswers(r.Answers),
	}
}

// ToProtoInvitation is an invitation as the API lists it.
// with where it is in its life (status, due and sent times, channel) and its
// attribution.
func ToProtoInvitation(v app.InvitationView) *surveyv1.Invitation {
	out := ToScheduledInvitation(v.Invitation, v.URL)
	out.Answered = v.Answered
	return out
}

// ToListInvitationsResponse is one page of invitations and the token of the next.
func ToListInvitationsResponse(list []app.InvitationView, next *app.Cursor) *surveyv1.ListInvitationsResponse {
	out := &surveyv1.ListInvitationsResponse{
		Invitations:   make([]*surveyv1.Invitation, len(list)),
		NextPageToken: EncodePageToken(next),
	}
	for i, v := range list {
		out.Invitations[i] = ToProtoInvitation(v)
	}
	return out
}

// Page tokens are opaque to callers: base64url of "<created_at RFC 3339>|<invitation id>",
// the position of the last invitation of the page.

// EncodePageToken returns the token of a cursor; "" for none (the last page).
func EncodePageToken(c *app.Cursor) string {
	if c == nil {
		return ""
	}
	raw := c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodePageToken reads a token EncodePageToken made; "" is the first page (nil).
func DecodePageToken(token string) (*app.Cursor, error) {
	if token == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, err
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return nil, errors.New("malformed page token")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return nil, err
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, err
	}
	return &app.Cursor{CreatedAt: t, ID: u.String()}, nil
}
