package convert

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"

	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/app"
)

// ErrPageToken: a page token this API did not return.
var ErrPageToken = errors.New("not a token this API returned")

// ListCasesQuery returns the query of a request, or ErrPageToken.
func ListCasesQuery(req *feedbackv1.ListCasesRequest) (app.ListCasesQuery, error) {
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return app.ListCasesQuery{}, ErrPageToken
	}
	return app.ListCasesQuery{
		Team:        req.GetTeam(),
		Status:      domainOf(statuses, req.GetStatus()),
		OnlyOverdue: req.GetOverdue(),
		PageSize:    int(req.GetPageSize()),
		After:       after,
		Assignee:    req.GetAssignee(),
		ByDue:       req.GetByDue(),
	}, nil
}

// ListCasesResponse returns a page of cases.
func ListCasesResponse(page app.CasePage) *feedbackv1.ListCasesResponse {
	out := &feedbackv1.ListCasesResponse{Cases: make([]*feedbackv1.Case, len(page.Cases))}
	for i, c := range page.Cases {
		out.Cases[i] = Case(c)
	}
	if page.Next != nil {
		out.NextPageToken = encodePageToken(*page.Next)
	}
	return out
}

// GetCaseResponse returns one case.
func GetCaseResponse(c app.CaseView) *feedbackv1.GetCaseResponse {
	return &feedbackv1.GetCaseResponse{Case: Case(c)}
}

// ResolveCaseCommand returns the command of a request by the caller named by, with roles.
func ResolveCaseCommand(req *feedbackv1.ResolveCaseRequest, by string, roles []string) app.ResolveCaseCommand {
	return app.ResolveCaseCommand{
		CaseID:           req.GetCaseId(),
		Outcome:          domainOf(outcomes, req.GetOutcome()),
		Note:             req.GetNote(),
		ResolvedBy:       by,
		Roles:            roles,
		GoodwillPoints:   req.GetGoodwillPoints(),
		GoodwillReason:   req.GetGoodwillReason(),
		GoodwillRewardID: req.GetGoodwillRewardId(),
		RootCause:        req.GetRootCause(),
	}
}

// ResolveCaseResponse returns the resolved case.
func ResolveCaseResponse(c app.CaseView) *feedbackv1.ResolveCaseResponse {
	return &feedbackv1.ResolveCaseResponse{Case: Case(c)}
}

// A page token is base64url of: version byte, opened_at in Unix microseconds, case id.
const tokenVersion = 1

func encodePageToken(c app.Cursor) string {
	id := uuid.MustParse(c.CaseID)
	b := make([]byte, 0, 1+8+16)
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.OpenedAt.UnixMicro()))
	b = append(b, id[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(token string) (*app.Cursor, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return nil, err
	}
	if len(b) != 1+8+16 || b[0] != tokenVersion {
		return nil, errors.New("malformed page token")
	}
	id, err := uuid.FromBytes(b[9:])
	if err != nil {
		return nil, err
	}
	return &app.Cursor{
		OpenedAt: time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9]))).UTC(),
		CaseID:   id.String(),
	}, nil
}
