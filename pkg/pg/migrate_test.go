package pg_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
)

// Replicas of a service start together on a fresh database: each creates the schema
// and migrates it, and every one of them must succeed.
func TestMigrateByReplicasStartingTogether(t *testing.T) {
	t.Parallel()
	dsn := testkit.Database(t)
	ctx := context.Background()
	set := pg.Migration{Name: "replicas", FS: fstest.MapFS{
		"00001_t.sql": {Data: []byte("-- +goose Up\nCREATE TABLE t (v int);\n-- +goose Down\nDROP TABLE t;\n")},
	}}
	const replicas = 6
	var wg sync.WaitGroup
	errs := make(chan error, replicas)
	for range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := pg.Connect(ctx, dsn, "svc", 2)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			errs <- pg.Migrate(ctx, pool, "svc", slog.New(slog.DiscardHandler), set)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
