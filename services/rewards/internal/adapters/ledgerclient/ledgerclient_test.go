package ledgerclient

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/domain"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"insufficient points", grpcx.FailedPrecondition("INSUFFICIENT_POINTS", "member has 3"), domain.ErrInsufficientPoints},
		{"other rule", grpcx.FailedPrecondition("IDEMPOTENCY_KEY_REUSED", "x"), app.ErrLedgerRejected},
		{"unknown member", status.Error(codes.NotFound, "member"), domain.ErrMemberNotFound},
		{"bad key", status.Error(codes.Unauthenticated, "unknown API key"), app.ErrLedgerRejected},
		{"no role", status.Error(codes.PermissionDenied, "no"), app.ErrLedgerRejected},
		{"invalid", status.Error(codes.InvalidArgument, "points"), app.ErrLedgerRejected},
		{"down", status.Error(codes.Unavailable, "connection refused"), app.ErrLedgerUnavailable},
		{"slow", status.Error(codes.DeadlineExceeded, "deadline"), app.ErrLedgerUnavailable},
		{"broken", status.Error(codes.Internal, "internal error"), app.ErrLedgerUnavailable},
		{"not a status", errors.New("boom"), app.ErrLedgerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify("place hold", tt.err); !errors.Is(got, tt.want) {
				t.Fatalf("classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
