package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/treue/treue/pkg/natsauth"
	"github.com/treue/treue/scripts/internal/stack"
)

// The dev stack as `make run` starts it: the embedded NATS server takes the generated
// users only, every service connects with its own seed, and the POS simulator publishes
// each store's purchases with that store's credentials, through the whole demo.
func TestDemoRunsUnderNATSAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the five services")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NATS_URL", "") // the embedded server, whatever the shell says
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := stack.Up(ctx, stack.Options{
		Root: root, DataDir: t.TempDir(), Database: "treue_demo_" + hex.EncodeToString(b),
		Auth: true, Stores: stores, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		s.Down()
		if err := stack.DropDatabase(context.Background(), s.DatabaseURL); err != nil {
			t.Error(err)
		}
	}()
	if s.NATSSeeds == "" {
		t.Fatal("the stack runs NATS without auth")
	}
	if nc, err := nats.Connect(s.NATSURL, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected to the dev stack's NATS")
	}
	res, err := Run(ctx, s, io.Discard, log)
	if err != nil {
		t.Fatalf("demo under NATS auth: %v (logs in %s)", err, s.LogDir)
	}
	if res.CouponCode == "" || len(res.Members) != len(people) {
		t.Errorf("demo result %+v: want a coupon and %d members", res, len(people))
	}
	// Each store's seed is where dev.env says, for the nats CLI.
	for _, store := range stores {
		if _, err := os.Stat(natsauth.SeedFile(s.NATSSeeds, natsauth.StoreUser(store))); err != nil {
			t.Error(err)
		}
	}
}
