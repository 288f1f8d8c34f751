// Package ledgerclient calls the ledger service's holds over gRPC for the redemptions.
package ledgerclient

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/convert"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// retryPolicy lets gRPC retry the hold calls when the ledger is unreachable for a
// moment. Both are idempotent (PlaceHold by its key, VoidHold by nature), so a retry of
// a call that did reach the ledger is harmless.
const retryPolicy = `{"methodConfig": [{
	"name": [
		{"service": "treue.ledger.v1.LedgerService", "method": "PlaceHold"},
		{"service": "treue.ledger.v1.LedgerService", "method": "VoidHold"}
	],
	"retryPolicy": {
		"maxAttempts": 3,
		"initialBackoff": "0.05s",
		"maxBackoff": "0.5s",
		"backoffMultiplier": 2,
		"retryableStatusCodes": ["UNAVAILABLE"]
	}
}]}`

// Client is the ledger as the redemptions see it.
type Client struct {
	conn    *grpc.ClientConn
	ledger  ledgerv1.LedgerServiceClient
	timeout time.Duration
}

var _ app.Ledger = (*Client)(nil)

// New prepares a connection to the ledger at addr (it connects on first use), sending
// apiKey, a key with role service, with every call; each call gets timeout as deadline.
// Each call is a client span made with tp (nil: the global provider), whose trace
// context the ledger's server span continues.
func New(addr, apiKey string, timeout time.Duration, tp trace.TracerProvider) (*Client, error) {
	conn, err := grpcx.NewClient(addr, apiKey, tp, grpc.WithDefaultServiceConfig(retryPolicy))
	if err != nil {
		return nil, fmt.Errorf("ledger client %s: %w", addr, err)
	}
	return &Client{conn: conn, ledger: ledgerv1.NewLedgerServiceClient(conn), timeout: timeout}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) PlaceHold(ctx context.Context, req app.HoldRequest) (app.Hold, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.ledger.PlaceHold(ctx, convert.PlaceHoldRequest(req))
	if err != nil {
		return app.Hold{}, classify("place hold", err)
	}
	return convert.Hold(resp.GetHold()), nil
}

func (c *Client) VoidHold(ctx context.Context, holdID, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if len(reason) > 200 {
		reason = reason[:200]
	}
	if _, err := c.ledger.VoidHold(ctx, &ledgerv1.VoidHoldRequest{HoldId: holdID, Reason: reason}); err != nil {
		return classify("void hold", err)
	}
	return nil
}

// classify turns the ledger's status into the errors app.Ledger promises: what the ledger
// decided (no hold was placed) apart from what left the outcome unknown.
func classify(op string, err error) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.FailedPrecondition:
		if grpcx.Reason(err) == "INSUFFICIENT_POINTS" {
			return fmt.Errorf("%w: %s", domain.ErrInsufficientPoints, st.Message())
		}
		return fmt.Errorf("%w: %s: %s", app.ErrLedgerRejected, op, st.Message())
	case codes.NotFound:
		return fmt.Errorf("%w: %s", domain.ErrMemberNotFound, st.Message())
	case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.AlreadyExists,
		codes.OutOfRange, codes.Unimplemented:
		return fmt.Errorf("%w: %s: %s: %s", app.ErrLedgerRejected, op, st.Code(), st.Message())
	}
	return fmt.Errorf("%w: %s: %s: %s", app.ErrLedgerUnavailable, op, st.Code(), st.Message())
}
