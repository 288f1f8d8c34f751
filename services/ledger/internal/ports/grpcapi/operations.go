package grpcapi

import (
	"context"
	"errors"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/convert"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/ports/metrics"
)

// ReasonAdjustmentLimit is the ErrorInfo reason of an adjustment above the caller's
// limit; its metadata names the role and the limit.
const ReasonAdjustmentLimit = "ADJUSTMENT_LIMIT_EXCEEDED"

// Operations implements ledgerv1.OperationsServiceServer.
type Operations struct {
	ledgerv1.UnimplementedOperationsServiceServer
	app *app.Application
}

// NewOperations returns the operations server of a.
func NewOperations(a *app.Application) *Operations { return &Operations{app: a} }

func (s *Operations) AdjustPoints(ctx context.Context, req *ledgerv1.AdjustPointsRequest) (*ledgerv1.AdjustPointsResponse, error) {
	a, made, err := s.app.Commands.AdjustPoints.Handle(ctx, actor(ctx),
		convert.AdjustmentRequest(req, grpcx.IdempotencyScope(ctx, req.GetIdempotencyKey())))
	if err == nil && made {
		metrics.PointsAdjusted(ctx, string(a.Direction), a.Points)
	}
	return reply(a, err, convert.AdjustPointsResponse)
}

func (s *Operations) ListAuditLog(ctx context.Context, req *ledgerv1.ListAuditLogRequest) (*ledgerv1.ListAuditLogResponse, error) {
	entries, next, err := s.app.Queries.ListAuditLog.Handle(ctx, convert.AuditQuery(req), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, toStatus(err)
	}
	return convert.AuditLog(entries, next), nil
}

// opsStatus maps the errors of staff operations; nil for any other.
func opsStatus(err error) error {
	var (
		limit *domain.LimitError
		field *domain.FieldError
	)
	switch {
	case errors.As(err, &limit):
		st := status.New(codes.PermissionDenied, limit.Error())
		info := &errdetails.ErrorInfo{Reason: ReasonAdjustmentLimit, Domain: "treue", Metadata: map[string]string{
			"role": limit.Role, "limit": strconv.FormatInt(limit.Limit, 10), "points": strconv.FormatInt(limit.Points, 10),
		}}
		if d, derr := st.WithDetails(info); derr == nil {
			st = d
		}
		return st.Err()
	case errors.As(err, &field):
		return grpcx.InvalidField(field.Field, field.Err.Error())
	}
	return nil
}
