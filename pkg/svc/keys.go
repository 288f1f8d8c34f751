package svc

import (
	"context"
	"slices"

	"github.com/treue/treue/pkg/keystore"
	authv1 "github.com/treue/treue/proto/gen/treue/auth/v1"
)

// openKeys connects the key store (schema auth at AUTH_DATABASE_URL, or DATABASE_URL),
// loads the stored keys into the gRPC server's key ring, serves KeyService, and keeps
// the ring current in the background: every service accepts the same keys and lets an
// operator manage them.
func (r *Runtime) openKeys(ctx context.Context, base Base) error {
	dsn := base.AuthDatabaseURL
	if dsn == "" {
		dsn = base.DatabaseURL
	}
	pool, err := keystore.Open(ctx, dsn, r.Log)
	if err != nil {
		return err
	}
	r.closers = append(r.closers, pool.Close)
	r.AuthPool = pool
	store := keystore.New(pool, r.GRPC.Keys, r.Log)
	if base.KeyPoll > 0 {
		store.Poll = base.KeyPoll
	}
	if err := store.Refresh(ctx); err != nil {
		return err
	}
	for _, c := range r.GRPC.Keys.Bootstrap() {
		if slices.Equal(c.Roles, []string{"pos"}) && len(c.Stores) == 0 {
			r.Log.Warn("a pos key of API_KEYS names no stores: it cannot validate or redeem coupons (name:pos@store|store:hash)", "key", c.Name)
		}
	}
	authv1.RegisterKeyServiceServer(r.GRPC, keystore.NewServer(store))
	r.Background(store.Run)
	return nil
}
