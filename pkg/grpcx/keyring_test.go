package grpcx_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/treue/treue/pkg/grpcx"
)

func TestParseKeysStores(t *testing.T) {
	t.Parallel()
	h := grpcx.HashKey("k")
	keys, err := grpcx.ParseKeys("till:pos@berlin-01|hamburg-02:" + h + ",ops:admin:" + grpcx.HashKey("o") +
		",shop:pos@*:" + grpcx.HashKey("s") + ",old:pos:" + grpcx.HashKey("p"))
	if err != nil {
		t.Fatal(err)
	}
	till := keys[h]
	if strings.Join(till.Stores, ",") != "berlin-01,hamburg-02" || !till.StoreBound() {
		t.Fatalf("till = %+v", till)
	}
	for store, want := range map[string]bool{"berlin-01": true, "hamburg-02": true, "munich-03": false, "": false} {
		if got := till.MayActFor(store); got != want {
			t.Errorf("till.MayActFor(%q) = %v, want %v", store, got, want)
		}
	}
	if shop := keys[grpcx.HashKey("s")]; !shop.MayActFor("anywhere") {
		t.Error("a pos@* key may not act for a store")
	}
	if old := keys[grpcx.HashKey("p")]; old.MayActFor("berlin-01") {
		t.Error("a pos key without stores acts for a store")
	}
	if ops := keys[grpcx.HashKey("o")]; ops.StoreBound() || !ops.MayActFor("berlin-01") {
		t.Error("an admin key is bound to stores")
	}
	for _, bad := range []string{
		"x:admin@berlin-01:" + h, // only pos keys name stores
		"x:pos@:" + h,            // an empty store
		"x:pos@ber lin:" + h,     // not a store id
	} {
		if _, err := grpcx.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		}
	}
}

func TestKeyRingStoredKeys(t *testing.T) {
	t.Parallel()
	now := time.Now()
	addr := serveNoRoles(t, map[string]grpcx.StoredKey{
		grpcx.HashKey("live"):    {Caller: grpcx.Caller{Name: "live", Roles: []string{"admin"}}, ExpiresAt: now.Add(time.Hour)},
		grpcx.HashKey("revoked"): {Caller: grpcx.Caller{Name: "revoked", Roles: []string{"admin"}}, RevokedAt: now},
		grpcx.HashKey("expired"): {Caller: grpcx.Caller{Name: "expired", Roles: []string{"admin"}}, ExpiresAt: now.Add(-time.Second)},
	})
	for key, want := range map[string]struct {
		code codes.Code
		text string
	}{
		"live":    {codes.PermissionDenied, "declares no roles"}, // authenticated, but the method is nobody's
		"revoked": {codes.Unauthenticated, "revoked"},
		"expired": {codes.Unauthenticated, "expired"},
		"nobody":  {codes.Unauthenticated, "unknown API key"},
		"":        {codes.Unauthenticated, "missing API key"},
	} {
		st := status.Convert(callNoRoles(t, addr, key))
		if st.Code() != want.code || !strings.Contains(st.Message(), want.text) {
			t.Errorf("key %q: got %v %q, want %v %q", key, st.Code(), st.Message(), want.code, want.text)
		}
	}
}

// TestMethodWithoutRolesIsRefused: a method whose proto declares no roles (here one
// that is in no proto at all) is refused for every role, admin included.
func TestMethodWithoutRolesIsRefused(t *testing.T) {
	t.Parallel()
	stored := map[string]grpcx.StoredKey{}
	for _, r := range grpcx.Roles {
		stored[grpcx.HashKey("key-"+r)] = grpcx.StoredKey{Caller: grpcx.Caller{Name: r, Roles: []string{r}, Stores: []string{"*"}}}
	}
	addr := serveNoRoles(t, stored)
	for _, r := range grpcx.Roles {
		if err := callNoRoles(t, addr, "key-"+r); status.Code(err) != codes.PermissionDenied {
			t.Errorf("role %s: %v, want PermissionDenied", r, err)
		}
	}
}

// serveNoRoles serves test.NoRoles/Ping, declared in no proto, with stored keys.
func serveNoRoles(t *testing.T, stored map[string]grpcx.StoredKey) string {
	t.Helper()
	srv, err := grpcx.NewServer(nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Keys.SetStored(stored)
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.NoRoles",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Ping", Handler: func(srv any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
			req := new(emptypb.Empty)
			if err := dec(req); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) { return &emptypb.Empty{}, nil }
			return in(ctx, req, &grpc.UnaryServerInfo{FullMethod: "/test.NoRoles/Ping"}, h)
		}}},
	}, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, time.Second) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return lis.Addr().String()
}

func callNoRoles(t *testing.T, addr, key string) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if key != "" {
		ctx = grpcx.WithAPIKey(ctx, key)
	}
	return conn.Invoke(ctx, "/test.NoRoles/Ping", &emptypb.Empty{}, &emptypb.Empty{})
}
