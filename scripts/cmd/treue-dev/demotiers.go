package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

// demoTiers defines Bronze, Silver and Gold (as marketing would) so that the demo's
// members start in Bronze and its purchases lift them: Silver at 200 points or 150.00
// EUR, Gold at 600 points, over a rolling 12 months, with 30 days' grace. Defining
// them again on a later run changes nothing but the audit log. conn is the ledger's, as
// marketing: s.Conn("ledger", "marketing").
func demoTiers(ctx context.Context, conn grpc.ClientConnInterface, out io.Writer) error {
	resp, err := ledgerv1.NewTierServiceClient(conn).DefineTiers(ctx, &ledgerv1.DefineTiersRequest{
		Basis: ledgerv1.TierBasis_TIER_BASIS_ROLLING, WindowMonths: 12,
		GracePeriod: durationpb.New(30 * 24 * time.Hour),
		Tiers: []*ledgerv1.Tier{
			{Code: "bronze", Name: "Bronze", Rank: 1},
			{Code: "silver", Name: "Silver", Rank: 2, MinPoints: 200, MinSpendMinor: 15_000},
			{Code: "gold", Name: "Gold", Rank: 3, MinPoints: 600},
		},
	})
	if err != nil {
		return fmt.Errorf("defining the demo tiers: %w", err)
	}
	fmt.Fprintf(out, "Treue: tiers defined: %d (bronze, silver at 200 points, gold at 600)\n", len(resp.GetProgramme().GetTiers()))
	return nil
}
