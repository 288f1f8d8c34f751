package main

import (
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/scripts/internal/stack"
	"github.com/treue/treue/services/ledger/service"
)

// TestDemoOps: the demo's goodwill adjustment is made once however many runs play it,
// and the demo prints it, its running balance and its audit entry.
func TestDemoOps(t *testing.T) {
	env := testkit.NewEnv(t)
	ledger := testkit.Start(t, service.New, service.Config{Base: env.Base(), HoldExpiryInterval: time.Second})
	keys := map[string]string{}
	for _, c := range testkit.RoleCallers() {
		keys[c.Role] = c.Key
	}
	s := &stack.Stack{Keys: keys, Procs: map[string]*stack.Proc{"ledger": {Name: "ledger", GRPCAddr: ledger.Service.GRPCAddr()}}}
	ctx := testkit.Ctx(t)
	client := ledgerv1.NewLedgerServiceClient(env.Conn(ledger.Service.GRPCAddr(), "admin"))
	m, err := client.Enroll(ctx, &ledgerv1.EnrollRequest{IdempotencyKey: "demo-ops-member", DisplayName: "Demo", Email: "demo@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	id := m.GetMember().GetMemberId()
	var out strings.Builder
	for range 2 { // two runs of `make run` on the same database
		out.Reset()
		if err := demoOps(ctx, s, []string{id}, &out); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"goodwill: +50 points", "credit +50 → balance 50", "points.adjust by service_agent"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo printed %q, want %q in it", out.String(), want)
		}
	}
	b, err := client.GetBalance(ctx, &ledgerv1.GetBalanceRequest{MemberId: id})
	if err != nil || b.GetAvailable() != 50 {
		t.Errorf("balance %v, %v; want 50 (one adjustment for two runs)", b, err)
	}
}
