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

	"github.com/treue/treue/pkg/telemetry"
	authv1 "github.com/treue/treue/proto/gen/treue/auth/v1"
)

// Roles a caller may hold.
// goodwill is the feedback service's key for the rewards service: it may mint free
// coupons (GrantGoodwillCoupon) and nothing else.
var Roles = []string{"admin", "marketing", "service_agent", "pos", "auditor", "service", "privacy", "goodwill"}

// Caller is the authenticated client of a call.
type Caller struct {
	// Name is who acts: unique among live keys, recorded by services, and the scope of
	// the caller's idempotency keys (a rotated key keeps its name, so retries still match).
	Name  string
	Roles []string
	// Stores are the stores a pos key may act for; "*" is every store.
	Stores []string
	// KeyID is the stored key's id; "" for a key of API_KEYS.
	KeyID string
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

// ParseKeys reads API_KEYS: comma-separated entries name:role[+role...][@store[|store...]]:sha256hex.
// The stores after "@" are those a pos key may act for ("*": every store); a pos key
// without them acts for no store (it can look up members, not use coupons).
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
		rolePart, storePart, scoped := strings.Cut(parts[1], "@")
		name, roles, hash := parts[0], strings.Split(rolePart, "+"), strings.ToLower(parts[2])
		var stores []string
		if scoped {
			stores = strings.Split(storePart, "|")
			for _, st := range stores {
				if !validStore(st) {
					return nil, fmt.Errorf("API_KEYS entry %q: %q is not a store id", name, st)
				}
			}
			if !slices.Contains(roles, "pos") {
				return nil, fmt.Errorf("API_KEYS entry %q: only a pos key names stores", name)
			}
		}
		for _, r := range roles {
			if !slices.Contains(Roles, r) {
				return nil, fmt.Errorf("API_KEYS entry %q: unknown role %q (roles: %s)", name, r, strings.Join(Roles, ", "))
			}
		}
		if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("API_KEYS entry %q: %q is not a hex SHA-256", name, hash)
		}
		keys[hash] = Caller{Name: name, Roles: roles, Stores: stores}
	}
	return keys, nil
}

// public methods need no key: load balancers and grpcurl must reach them.
func public(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// validStore is a store id as API_KEYS and the key store accept it: "*" or a token of
// letters, digits, '.', '_' and '-'.
func validStore(s string) bool {
	if s == "*" {
		return true
	}
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// authorizer authenticates the caller's API key and checks the roles that the method
// declares in its proto options (treue.auth.v1.roles). Every refusal is counted by kind
// (telemetry.Refused).
type authorizer struct {
	keys  *KeyRing
	roles sync.Map // full method -> []string
}

func (a *authorizer) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	if public(fullMethod) {
		return ctx, nil
	}
	key := apiKey(ctx)
	if key == "" {
		telemetry.Refused(ctx, "missing_key")
		return nil, status.Error(codes.Unauthenticated, "missing API key: send metadata 'authorization: Bearer <key>'")
	}
	caller, state := a.keys.lookup(HashKey(key))
	switch state {
	case keyOK:
	case keyRevoked:
		telemetry.Refused(ctx, string(state))
		return nil, status.Errorf(codes.Unauthenticated, "API key %s was revoked", caller.Name)
	case keyExpired:
		telemetry.Refused(ctx, string(state))
		return nil, status.Errorf(codes.Unauthenticated, "API key %s has expired", caller.Name)
	default:
		telemetry.Refused(ctx, string(keyUnknown))
		return nil, status.Error(codes.Unauthenticated, "unknown API key")
	}
	allowed := a.methodRoles(fullMethod)
	for _, r := range caller.Roles {
		if slices.Contains(allowed, r) {
			return context.WithValue(ctx, callerKey{}, caller), nil
		}
	}
	telemetry.Refused(ctx, "permission_denied")
	if len(allowed) == 0 {
		return nil, status.Errorf(codes.PermissionDenied, "%s declares no roles: nobody may call it", fullMethod)
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
	ctx, err := a.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return h(srv, callerStream{ServerStream: ss, ctx: ctx})
}

// callerStream is a server stream whose context carries the caller.
type callerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s callerStream) Context() context.Context { return s.ctx }

// IdempotencyScope returns an idempotency key scoped to the caller of ctx: the same key
// sent by two callers names two operations, so a caller can never obtain another's
// result by guessing or reusing its key. Services store the scoped form.
func IdempotencyScope(ctx context.Context, key string) string {
	c, _ := CallerFrom(ctx)
	return c.Name + "/" + key
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
