package main

import (
	"context"
	"fmt"
	"io"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/scripts/internal/stack"
)

// demoOps shows staff operations on the first demo member: a service agent grants
// goodwill points (once, whatever the number of runs: the key is fixed), the member's
// adjustments are listed with their running balance, and an auditor reads the entry the
// adjustment left in the audit log.
func demoOps(ctx context.Context, s *stack.Stack, members []string, out io.Writer) error {
	if len(members) == 0 {
		return nil
	}
	member := members[0]
	agentConn, err := s.Conn("ledger", "service_agent")
	if err != nil {
		return err
	}
	auditorConn, err := s.Conn("ledger", "auditor")
	if err != nil {
		return err
	}
	adj, err := ledgerv1.NewOperationsServiceClient(agentConn).AdjustPoints(ctx, &ledgerv1.AdjustPointsRequest{
		IdempotencyKey: "demo-goodwill-" + member, MemberId: member,
		Direction: ledgerv1.AdjustmentDirection_ADJUSTMENT_DIRECTION_CREDIT, Points: 50,
		Reason: ledgerv1.AdjustmentReason_ADJUSTMENT_REASON_GOODWILL, Note: "demo: parcel arrived late",
	})
	if err != nil {
		return fmt.Errorf("adjust points: %w", err)
	}
	a := adj.GetAdjustment()
	fmt.Fprintf(out, "  goodwill: +%d points for %s (%d → %d)\n", a.GetPoints(), member, a.GetBalanceBefore(), a.GetBalanceAfter())
	history, err := ledgerv1.NewLedgerServiceClient(auditorConn).ListTransactions(ctx, &ledgerv1.ListTransactionsRequest{
		MemberId: member, PageSize: 5, Reasons: []ledgerv1.PointsReason{ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT},
	})
	if err != nil {
		return fmt.Errorf("list transactions: %w", err)
	}
	for _, tx := range history.GetTransactions() {
		fmt.Fprintf(out, "    %s %+d → balance %d\n", tx.GetKind(), tx.GetPoints(), tx.GetBalanceAfter())
	}
	log, err := ledgerv1.NewOperationsServiceClient(auditorConn).ListAuditLog(ctx, &ledgerv1.ListAuditLogRequest{
		ObjectKind: "balance", ObjectId: member, PageSize: 1,
	})
	if err != nil {
		return fmt.Errorf("list audit log: %w", err)
	}
	for _, e := range log.GetEntries() {
		fmt.Fprintf(out, "  audit log: %s by %s: %s → %s\n", e.GetAction(), e.GetActor(), e.GetBeforeJson(), e.GetAfterJson())
	}
	return nil
}
