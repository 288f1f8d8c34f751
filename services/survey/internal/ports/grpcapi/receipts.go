package grpcapi

import (
	"context"

	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/convert"
)

// IssueReceiptLink implements surveyv1.SurveyServiceServer.
func (s *Survey) IssueReceiptLink(ctx context.Context, req *surveyv1.IssueReceiptLinkRequest) (*surveyv1.IssueReceiptLinkResponse, error) {
	link, err := s.app.Commands.IssueReceiptLink.Handle(ctx, convert.ToIssueReceiptLinkCommand(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return convert.ToIssueReceiptLinkResponse(link), nil
}
