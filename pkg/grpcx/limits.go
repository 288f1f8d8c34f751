package grpcx

import (
	"context"
	"go.opentelemetry.io/otel/trace"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/telemetry"
)

// Limits bound what one client may ask of a server. The zero value of a field takes its
// default (DefaultLimits).
type Limits struct {
	// MaxRecvMsgSize is the largest request message (GRPC_MAX_RECV_BYTES, default 1 MiB;
	// Treue's requests are small, the largest a batch of ids). Larger is ResourceExhausted.
	MaxRecvMsgSize int
	// MaxSendMsgSize is the largest response message (GRPC_MAX_SEND_BYTES, default 16
	// MiB: a page of dead letters or a member's export).
	MaxSendMsgSize int
	// MaxDeadline caps every call's deadline (GRPC_MAX_DEADLINE, default 1m): a call
	// without a deadline, or with a longer one, gets this one, so no call holds a
	// connection, a database transaction or a lock for longer. A minute, not less:
	// rewards' Redeem may take up to 30 s of ledger calls by design.
	MaxDeadline time.Duration
	// MaxConcurrentStreams is how many calls one connection may have open at once
	// (GRPC_MAX_CONCURRENT_STREAMS, default 256).
	MaxConcurrentStreams uint32
	// ConnectionTimeout bounds a new connection's handshake (GRPC_CONNECTION_TIMEOUT,
	// default 10s), so a client that opens a socket and sends nothing is dropped.
	ConnectionTimeout time.Duration
}

// DefaultLimits are the limits of a server whose Limits are zero.
var DefaultLimits = Limits{
	MaxRecvMsgSize:       1 << 20,
	MaxSendMsgSize:       16 << 20,
	MaxDeadline:          time.Minute,
	MaxConcurrentStreams: 256,
	ConnectionTimeout:    10 * time.Second,
}

// LoadLimits reads Limits from the environment.
func LoadLimits(env *config.Env) Limits {
	d := DefaultLimits
	return Limits{
		MaxRecvMsgSize:       env.Int("GRPC_MAX_RECV_BYTES", d.MaxRecvMsgSize),
		MaxSendMsgSize:       env.Int("GRPC_MAX_SEND_BYTES", d.MaxSendMsgSize),
		MaxDeadline:          env.Duration("GRPC_MAX_DEADLINE", d.MaxDeadline),
		MaxConcurrentStreams: uint32(max(env.Int("GRPC_MAX_CONCURRENT_STREAMS", int(d.MaxConcurrentStreams)), 1)),
		ConnectionTimeout:    env.Duration("GRPC_CONNECTION_TIMEOUT", d.ConnectionTimeout),
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxRecvMsgSize <= 0 {
		l.MaxRecvMsgSize = d.MaxRecvMsgSize
	}
	if l.MaxSendMsgSize <= 0 {
		l.MaxSendMsgSize = d.MaxSendMsgSize
	}
	if l.MaxDeadline <= 0 {
		l.MaxDeadline = d.MaxDeadline
	}
	if l.MaxConcurrentStreams == 0 {
		l.MaxConcurrentStreams = d.MaxConcurrentStreams
	}
	if l.ConnectionTimeout <= 0 {
		l.ConnectionTimeout = d.ConnectionTimeout
	}
	return l
}

// Option changes how NewServer builds a server.
type Option func(*options)

type options struct {
	limits         Limits
	tracerProvider trace.TracerProvider
}

// WithLimits sets the server's limits (zero fields keep their defaults).
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l } }

// serverOptions are the limits as gRPC server options: message sizes, streams per
// connection, handshake timeout, keepalive, and the refusals counted.
func (l Limits) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(l.MaxRecvMsgSize),
		grpc.MaxSendMsgSize(l.MaxSendMsgSize),
		grpc.MaxConcurrentStreams(l.MaxConcurrentStreams),
		grpc.ConnectionTimeout(l.ConnectionTimeout),
		// A client may ping at most every 10 s (more is a ping flood: the connection is
		// closed with ENHANCE_YOUR_CALM), also between calls, as pooled clients do.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// The server pings an idle connection every 2 min and drops it when no answer
		// comes in 20 s, so half-open connections from vanished clients do not pile up.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Minute, Timeout: 20 * time.Second}),
		grpc.StatsHandler(refusalStats{}),
	}
}

// capDeadline gives a call the server's maximum deadline when it brings none or a later
// one. Health and reflection are exempt: a health Watch is meant to stay open.
func (l Limits) capDeadline(ctx context.Context, fullMethod string) (context.Context, context.CancelFunc) {
	if public(fullMethod) {
		return ctx, func() {}
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= l.MaxDeadline {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, l.MaxDeadline)
}

func (l Limits) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, cancel := l.capDeadline(ctx, info.FullMethod)
	defer cancel()
	return h(ctx, req)
}

func (l Limits) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, cancel := l.capDeadline(ss.Context(), info.FullMethod)
	defer cancel()
	return h(srv, ctxStream{ss, ctx})
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s ctxStream) Context() context.Context { return s.ctx }

// refusalStats counts the requests gRPC itself refuses before any interceptor sees them:
// a message over MaxRecvMsgSize.
type refusalStats struct{}

func (refusalStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (refusalStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (refusalStats) HandleConn(context.Context, stats.ConnStats) {}

func (refusalStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	end, ok := s.(*stats.End)
	if !ok || end.Error == nil {
		return
	}
	if st, ok := status.FromError(end.Error); ok && st.Code() == codes.ResourceExhausted &&
		strings.Contains(st.Message(), "received message larger than max") {
		telemetry.Refused(ctx, "message_too_large")
	}
}
