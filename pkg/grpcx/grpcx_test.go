package grpcx_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
)

type admin struct {
	adminv1.UnimplementedAdminServiceServer
}

func (admin) ListDeadLetters(ctx context.Context, _ *adminv1.ListDeadLettersRequest) (*adminv1.ListDeadLettersResponse, error) {
	caller, _ := grpcx.CallerFrom(ctx)
	return &adminv1.ListDeadLettersResponse{NextPageToken: caller.Name}, nil
}

// replayErrors are what ReplayDeadLetter fails with, by id; any other id has nothing to
// replay.
var replayErrors = map[int64]error{
	2: fmt.Errorf("reading the dead letter: %w", context.DeadlineExceeded),
	3: fmt.Errorf("reading the dead letter: %w", context.Canceled),
	4: errors.New("reading the dead letter: connection reset"),
}

func (admin) ReplayDeadLetter(_ context.Context, req *adminv1.ReplayDeadLetterRequest) (*adminv1.ReplayDeadLetterResponse, error) {
	if err, ok := replayErrors[req.GetId()]; ok {
		return nil, err
	}
	return nil, grpcx.FailedPrecondition("NOTHING_TO_REPLAY", "nothing to replay")
}

// serve starts a server with the AdminService (roles: admin, auditor) on loopback.
func serve(t *testing.T) adminv1.AdminServiceClient {
	t.Helper()
	keys, err := grpcx.ParseKeys("ops:admin:" + grpcx.HashKey("admin-key") + ",till:pos:" + grpcx.HashKey("pos-key"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := grpcx.NewServer(keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	adminv1.RegisterAdminServiceServer(srv, admin{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health check without a key: %v", err)
	}
	return adminv1.NewAdminServiceClient(conn)
}

func TestAuthenticationAndRoles(t *testing.T) {
	t.Parallel()
	c := serve(t)
	tests := []struct {
		name string
		key  string
		want codes.Code
	}{
		{"no key", "", codes.Unauthenticated},
		{"unknown key", "guess", codes.Unauthenticated},
		{"key without the role", "pos-key", codes.PermissionDenied},
		{"key with the role", "admin-key", codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.key != "" {
				ctx = grpcx.WithAPIKey(ctx, tt.key)
			}
			resp, err := c.ListDeadLetters(ctx, &adminv1.ListDeadLettersRequest{})
			if status.Code(err) != tt.want {
				t.Fatalf("code = %v (%v), want %v", status.Code(err), err, tt.want)
			}
			if err == nil && resp.NextPageToken != "ops" {
				t.Fatalf("handler saw caller %q, want ops", resp.NextPageToken)
			}
		})
	}
}

func TestInvalidRequestNamesTheField(t *testing.T) {
	t.Parallel()
	c := serve(t)
	ctx := grpcx.WithAPIKey(context.Background(), "admin-key")
	_, err := c.ListDeadLetters(ctx, &adminv1.ListDeadLettersRequest{PageSize: 5000})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "page_size") {
		t.Fatalf("err = %v, want InvalidArgument naming page_size", err)
	}
	var br *errdetails.BadRequest
	for _, d := range status.Convert(err).Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			br = b
		}
	}
	if br == nil || br.FieldViolations[0].Field != "page_size" {
		t.Fatalf("details = %v, want a BadRequest for page_size", status.Convert(err).Details())
	}
	// Validation runs after authentication: an anonymous caller learns nothing.
	_, err = c.ListDeadLetters(context.Background(), &adminv1.ListDeadLettersRequest{PageSize: 5000})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous invalid call: %v", err)
	}
}

func TestFailedPreconditionCarriesTheReason(t *testing.T) {
	t.Parallel()
	c := serve(t)
	_, err := c.ReplayDeadLetter(grpcx.WithAPIKey(context.Background(), "admin-key"), &adminv1.ReplayDeadLetterRequest{Id: 1})
	if status.Code(err) != codes.FailedPrecondition || grpcx.Reason(err) != "NOTHING_TO_REPLAY" {
		t.Fatalf("err = %v reason %q", err, grpcx.Reason(err))
	}
}

// An error that is no status: a call's deadline or cancellation, however wrapped, tells
// the caller so; anything else is hidden as Internal.
func TestErrorsThatAreNoStatus(t *testing.T) {
	t.Parallel()
	c := serve(t)
	ctx := grpcx.WithAPIKey(context.Background(), "admin-key")
	for id, want := range map[int64]codes.Code{2: codes.DeadlineExceeded, 3: codes.Canceled, 4: codes.Internal} {
		_, err := c.ReplayDeadLetter(ctx, &adminv1.ReplayDeadLetterRequest{Id: id})
		if status.Code(err) != want {
			t.Errorf("%v: code %s, want %s", replayErrors[id], status.Code(err), want)
		}
		if want == codes.Internal && strings.Contains(status.Convert(err).Message(), "connection reset") {
			t.Errorf("%v: the caller learns %q", replayErrors[id], status.Convert(err).Message())
		}
	}
}

func TestParseKeysRejectsBadEntries(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{
		"no-colons",
		"name:wizard:" + grpcx.HashKey("k"),
		"name:admin:not-hex",
	} {
		if _, err := grpcx.ParseKeys(spec); err == nil {
			t.Errorf("ParseKeys(%q) accepted", spec)
		}
	}
}

// A NUL byte passes proto but not Postgres: it is refused at the edge, naming the field,
// instead of failing later as an Internal error.
func TestNULInAStringIsInvalidArgument(t *testing.T) {
	t.Parallel()
	c := serve(t)
	ctx := grpcx.WithAPIKey(context.Background(), "admin-key")
	_, err := c.ListDeadLetters(ctx, &adminv1.ListDeadLettersRequest{Consumer: "ledger\x00pos"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "consumer: must not contain a NUL byte") {
		t.Fatalf("err = %v, want InvalidArgument naming consumer", err)
	}
}
