package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/telemetry"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/convert"
	"github.com/treue/treue/services/survey/internal/domain"
)

// IssueReceiptLink implements surveyv1.SurveyServiceServer.
// A till's key acts only for its own stores: the receipt's invitation takes over the
// purchase's (trigger key pos:<store>:<transaction>) and its link answers as the member,
// so a key of one store must not ask for another store's receipts.
func (s *Survey) IssueReceiptLink(ctx context.Context, req *surveyv1.IssueReceiptLinkRequest) (*surveyv1.IssueReceiptLinkResponse, error) {
	if c, _ := grpcx.CallerFrom(ctx); !c.MayActFor(req.GetStoreId()) {
		telemetry.Refused(ctx, "store_scope")
		return nil, status.Errorf(codes.PermissionDenied, "store_id: key %s may not act for store %q", c.Name, req.GetStoreId())
	}
	link, err := s.app.Commands.IssueReceiptLink.Handle(ctx, convert.ToIssueReceiptLinkCommand(req))
	switch {
	case errors.Is(err, domain.ErrNoPublishedVersion):
		return nil, grpcx.FailedPrecondition("NO_PUBLISHED_VERSION", "the survey has no published version")
	case err != nil:
		return nil, toStatus(err)
	}
	return convert.ToIssueReceiptLinkResponse(link), nil
}
