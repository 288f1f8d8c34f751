// Package grpcx starts Treue's gRPC servers the same way everywhere: health, reflection,
// OpenTelemetry, API-key authentication with per-method roles, protovalidate request
// validation, panic recovery and graceful shutdown.
package grpcx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/validate"
)

// Server is a gRPC server with Treue's interceptors and its health service.
type Server struct {
	*grpc.Server
	Health *health.Server
	// Keys are the keys the server accepts; the key store refreshes their stored part.
	Keys *KeyRing
	log  *slog.Logger
}

// Option tunes NewServer.
// WithTracerProvider makes the calls' spans with tp instead of the global provider (a
// process running several services gives each its own).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracerProvider = tp }
}

// NewServer returns a server that authenticates with keys, within limits (WithLimits;
// DefaultLimits without). Register the services, then call Serve. Every call is a server
// span continuing the caller's trace (W3C traceparent in the metadata).
func NewServer(keys Keys, log *slog.Logger, opts ...Option) (*Server, error) {
	validator, err := validate.New()
	if err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	l := o.limits.withDefaults()
	a := &authorizer{keys: NewKeyRing(keys)}
	v := validating{validator}
	r := recovering{log}
	srv := grpc.NewServer(append(l.serverOptions(),
		grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(o.tracerProvider))),
		grpc.ChainUnaryInterceptor(l.unary, r.unary, a.unary, v.unary),
		grpc.ChainStreamInterceptor(l.stream, r.stream, a.stream),
	)...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return &Server{Server: srv, Health: hs, Keys: a.keys, log: log}, nil
}

// Serve serves on lis until ctx ends, then stops accepting calls and lets those under way
// finish, for at most grace.
func (s *Server) Serve(ctx context.Context, lis net.Listener, grace time.Duration) error {
	s.Health.Resume()
	errc := make(chan error, 1)
	go func() { errc <- s.Server.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		s.Stop()
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// validating checks every request at the edge, in one place: its protovalidate rules
// and no NUL byte in any string (Postgres would refuse it later, as an Internal error).
type validating struct{ v *validate.Validator }

func (v validating) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if err := v.v.Validate(m); err != nil {
			return nil, invalid(err)
		}
	}
	return h(ctx, req)
}

// invalid turns a validation error into InvalidArgument naming each field and reason,
// in the message and as BadRequest details.
func invalid(err error) error {
	var ve *validate.Error
	if !errors.As(err, &ve) {
		return status.Errorf(codes.Internal, "validation: %v", err)
	}
	br := &errdetails.BadRequest{}
	msg := "invalid request"
	for i, v := range ve.Violations {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: v.Field, Description: v.Reason, Reason: v.Rule,
		})
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		msg += sep + v.Field + ": " + v.Reason
	}
	st, derr := status.New(codes.InvalidArgument, msg).WithDetails(br)
	if derr != nil {
		return status.Error(codes.InvalidArgument, msg)
	}
	return st.Err()
}

type recovering struct{ log *slog.Logger }

func (r recovering) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", p, "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	resp, err = h(ctx, req)
	if err != nil {
		if _, ok := status.FromError(err); !ok {
			err = r.status(ctx, info.FullMethod, err)
		}
	}
	return resp, err
}

// status is what a caller learns of an error that is not a status yet. Domain errors are
// mapped by each service; a call's own deadline or cancellation is the caller's, and says
// so; anything else is ours, not the caller's: log the detail, return no internals.
func (r recovering) status(ctx context.Context, method string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return status.FromContextError(err).Err()
	}
	r.log.ErrorContext(ctx, "call failed", "method", method, "err", err)
	return status.Error(codes.Internal, "internal error")
}

func (r recovering) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("panic in stream handler", "method", info.FullMethod, "panic", p)
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	return h(srv, ss)
}

// FailedPrecondition reports a rule of the domain (not enough points, coupon already
// used) with a machine-readable reason in an ErrorInfo detail.
func FailedPrecondition(reason, format string, args ...any) error {
	st := status.New(codes.FailedPrecondition, fmt.Sprintf(format, args...))
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "treue"}); err == nil {
		st = d
	}
	return st.Err()
}

// Reason returns the ErrorInfo reason of a status error, or "".
func Reason(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// InvalidField reports a field that passed the proto's rules but breaks a rule that needs
// the database (an unknown page token, say).
func InvalidField(field, reason string) error {
	st := status.New(codes.InvalidArgument, "invalid request: "+field+": "+reason)
	br := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: reason}}}
	if d, err := st.WithDetails(br); err == nil {
		st = d
	}
	return st.Err()
}
