package svc_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nkeys"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/devstack"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

// A service whose NATS user may not publish an event it produces (its user does not
// match the contract) connects with its seed, has the publish refused by the server,
// logs the refusal and counts it as a security refusal.
func TestRefusedPublishIsLoggedAndCounted(t *testing.T) {
	reader := testkit.CaptureMetrics().Reader()

	user, _ := nkeys.CreateUser()
	seed, _ := user.Seed()
	pub, _ := user.PublicKey()
	dir := t.TempDir()
	seedFile := filepath.Join(dir, "jobs.nk")
	conf := filepath.Join(dir, "auth.conf")
	// Everything the runtime needs but the event's subject.
	must(t, os.WriteFile(seedFile, seed, 0o600))
	must(t, os.WriteFile(conf, []byte(fmt.Sprintf(`accounts { T { jetstream: enabled, users: [
  { nkey: %s, permissions: { publish: { allow: ["$JS.API.>"] }, subscribe: { allow: ["_INBOX_jobs.>"] } } }
] } }`, pub)), 0o600))
	url, stop, err := devstack.EmbeddedNATS(filepath.Join(dir, "js"), nil, devstack.NATSOptions{ConfigFile: conf})
	must(t, err)
	defer stop()

	logs := &records{}
	ctx := context.Background()
	rt, err := svc.Open(ctx, svc.Base{
		DatabaseURL: testkit.Database(t), NATSURL: url, NATSCredentials: bus.Credentials{NkeySeedFile: seedFile},
		GRPCAddr: "127.0.0.1:0", DBMaxConns: 2,
	}, svc.Options{Name: "jobs", Schema: "jobs", Produces: []proto.Message{&ledgerv1.HoldVoided{}}}, slog.New(logs))
	must(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(runCtx) }()
	must(t, rt.DB.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return rt.Outbox.Enqueue(ctx, tx, &ledgerv1.HoldVoided{HoldId: "h", MemberId: "m1", Points: 1, VoidedAt: timestamppb.Now()})
	}))
	testkit.Eventually(t, 10*time.Second, "the refusal logged", func() bool { return logs.has("Permissions Violation") })
	// The relay holds the refused event in the outbox, waiting for an ack that never
	// comes, until its 30 s timeout: shutdown waits for it.
	cancel()
	<-done

	var rm metricdata.ResourceMetrics
	must(t, reader.Collect(ctx, &rm))
	var counted int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "treue.security.refusals" {
				for _, dp := range sum.DataPoints {
					if kind, _ := dp.Attributes.Value("kind"); kind.AsString() == "nats_permission" {
						counted += dp.Value
					}
				}
			}
		}
	}
	if counted == 0 {
		t.Error("the refused publish was not counted in treue.security.refusals{kind=nats_permission}")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// records is a slog handler that keeps the messages and errors it is given.
type records struct {
	mu   sync.Mutex
	text []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Message
	rec.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	r.mu.Lock()
	r.text = append(r.text, line)
	r.mu.Unlock()
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }
func (r *records) has(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.text {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
