package grpcx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	authv1 "github.com/treue/treue/proto/gen/treue/auth/v1"
)

// Roles a caller may hold.
var Roles = []string{"admin", "marketing", "service_agent", "pos", "auditor", "service", "privacy"}

// Caller is the authenticated client of a call.
type Caller struct {
	Name  string
	Roles []string
}

type callerKey struct{}

// CallerFrom returns the caller of the current call.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Keys holds API keys by their SHA-256 hash; the keys themselves are never stored.
type Keys map[string]Caller

// HashKey returns the hex SHA-256 of an API key, the form Keys and API_KEYS hold.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// ParseKeys reads API_KEYS: comma-separated entries name:role[+role...]:sha256hex.
func ParseKeys(spec string) (Keys, error) {
	keys := Keys{}
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.Split(entry, ":")
		if len(parts) != 3 {
			return nil, fmt.Errorf("API_KEYS entry %q: want name:role[+role]:sha256hex", entry)
		}
		name, roles, hash := parts[0], strings.Split(parts[1], "+"), strings.ToLower(parts[2])
		for _, r := range roles {
			if !slices.Contains(Roles, r) {
				return nil, fmt.Errorf("API_KEYS entry %q: unknown role %q (roles: %s)", name, r, strings.Join(Roles, ", "))
			}
		}
		if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("API_KEYS entry %q: %q is not a hex SHA-256", name, hash)
		}
		keys[hash] = Caller{Name: name, Roles: roles}
	}
	return keys, nil
}

// public methods need no key: load balancers and grpcurl must reach them.
func public(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// authorizer authenticates the caller's API key and checks the roles that the method
// declares in its proto options (treue.auth.v1.roles).
type authorizer struct {
	keys  Keys
	roles sync.Map // full method -> []string
}

func (a *authorizer) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	if public(fullMethod) {
		return ctx, nil
	}
	key := apiKey(ctx)
	if key == "" {
		return nil, status.Error(codes.Unauthenticated, "missing API key: send metadata 'authorization: Bearer <key>'")
	}
	caller, ok := a.keys[HashKey(key)]
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "unknown API key")
	}
	allowed := a.methodRoles(fullMethod)
	for _, r := range caller.Roles {
		if slices.Contains(allowed, r) {
			return context.WithValue(ctx, callerKey{}, caller), nil
		}
	}
	return nil, status.Errorf(codes.PermissionDenied, "%s may not call %s (needs one of: %s)",
		caller.Name, fullMethod, strings.Join(allowed, ", "))
}

func (a *authorizer) methodRoles(fullMethod string) []string {
	if v, ok := a.roles.Load(fullMethod); ok {
		return v.([]string)
	}
	var roles []string
	// "/pkg.Service/Method" -> "pkg.Service.Method"
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(fullMethod, "/"), "/", "."))
	if d, err := protoregistry.GlobalFiles.FindDescriptorByName(name); err == nil {
		if md, ok := d.(protoreflect.MethodDescriptor); ok && md.Options() != nil {
			roles = proto.GetExtension(md.Options(), authv1.E_Roles).([]string)
		}
	}
	a.roles.Store(fullMethod, roles)
	return roles
}

func apiKey(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if k, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(k)
		}
	}
	if v := md.Get("x-api-key"); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (a *authorizer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, err := a.authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (a *authorizer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if _, err := a.authorize(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

// WithAPIKey returns ctx carrying key as outgoing call credentials.
func WithAPIKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

// APIKeyCredentials sends key with every call of a client connection.
type APIKeyCredentials string

func (k APIKeyCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(k)}, nil
}

// RequireTransportSecurity is false: in-cluster calls may be plain TCP; production puts
// mTLS in front (see the README).
func (APIKeyCredentials) RequireTransportSecurity() bool { return false }
