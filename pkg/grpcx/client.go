package grpcx

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// NewClient prepares a connection from one service to another's gRPC API at addr (it
// connects on first use): every call carries apiKey and is a client span made with tp
// (nil: the global provider), whose trace context the server's span continues. opts
// add to these (a retry policy, say).
func NewClient(addr, apiKey string, tp trace.TracerProvider, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, append([]grpc.DialOption{
		// Plain TCP inside the cluster; production puts mTLS in front.
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(APIKeyCredentials(apiKey)),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp))),
	}, opts...)...)
}
