package grpcapi

import (
	"context"
	"errors"

	"github.com/treue/treue/pkg/grpcx"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/convert"
	"github.com/treue/treue/services/survey/internal/domain"
)

// IssueReceiptLink implements surveyv1.SurveyServiceServer.
func (s *Survey) IssueReceiptLink(ctx context.Context, req *surveyv1.IssueReceiptLinkRequest) (*surveyv1.IssueReceiptLinkResponse, error) {
	link, err := s.app.Commands.IssueReceiptLink.Handle(ctx, convert.ToIssueReceiptLinkCommand(req))
	switch {
	case errors.Is(err, domain.ErrNoPublishedVersion):
		return nil, grpcx.FailedPrecondition("NO_PUBLISHED_VERSION", "the survey has no published version")
	case err != nil:
		return nil, toStatus(err)
	}
	return convert.ToIssueReceiptLinkResponse(link), nil
}
