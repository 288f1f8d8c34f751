package app_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// abandoned records a redemption as requested, as a call that crashed after (a) leaves it.
func abandoned(t *testing.T, store *memStore) {
	t.Helper()
	if _, _, err := store.StartRedemption(context.Background(), app.NewRedemption{
		ID: "r-1", IdempotencyKey: cmd.IdempotencyKey, RequestHash: domain.RedeemRequestHash(cmd.MemberID, cmd.RewardID),
		MemberID: cmd.MemberID, RewardID: cmd.RewardID,
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSettleAbandoned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		ledger *fakeLedger
		want   app.Settled
		status domain.RedemptionStatus
		reason string
		voided int
	}{
		{"a held redemption completes", &fakeLedger{hold: placed()},
			app.Settled{Claimed: 1, Completed: 1}, domain.StatusCompleted, "", 0},
		{"without the points it is cancelled", &fakeLedger{err: domain.ErrInsufficientPoints},
			app.Settled{Claimed: 1, Cancelled: 1}, domain.StatusCancelled, domain.CancelInsufficientPoints, 0},
		{"on an expired hold it is cancelled and the hold voided", &fakeLedger{hold: app.Hold{ID: "hold-1", Status: app.HoldExpired}},
			app.Settled{Claimed: 1, Cancelled: 1}, domain.StatusCancelled, domain.CancelHoldNotPlaced, 1},
		{"while the ledger is away it stays requested", &fakeLedger{err: app.ErrLedgerUnavailable},
			app.Settled{Claimed: 1}, domain.StatusRequested, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			abandoned(t, store)
			a := newApp(t, store, tt.ledger)
			got, err := a.Commands.SettleAbandoned.Handle(context.Background(), 10)
			settled := got.Settled
			got.Settled = nil
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Handle = %+v, %v; want %+v", got, err, tt.want)
			}
			// What the pass did itself, for the counters: one outcome per settled redemption.
			if len(settled) != got.Completed+got.Cancelled {
				t.Fatalf("settled %+v, want %d outcomes", settled, got.Completed+got.Cancelled)
			}
			for _, o := range settled {
				if (o.Settled == app.SettledCancelled) != (tt.status == domain.StatusCancelled) || o.CancelReason != tt.reason {
					t.Fatalf("outcome %+v, want status %s, reason %q", o, tt.status, tt.reason)
				}
			}
			r := store.byKey[cmd.IdempotencyKey]
			if r.Status != tt.status || r.CancelReason != tt.reason || len(tt.ledger.voided) != tt.voided {
				t.Fatalf("redemption %+v, voided %v", r, tt.ledger.voided)
			}
			if len(tt.ledger.placed) != 1 || tt.ledger.placed[0].IdempotencyKey != domain.HoldReference("r-1") {
				t.Fatalf("hold requests %+v, want one under the redemption's own key", tt.ledger.placed)
			}
			// The caller's retry gets what the settler decided, the code included.
			out, err := a.Commands.Redeem.Handle(context.Background(), cmd)
			if tt.status == domain.StatusCompleted && (err != nil || out.Code == "") {
				t.Fatalf("retry after the settler: %+v, %v; want the code", out, err)
			}
			// A second pass finds nothing left to settle but what the ledger left open.
			again, err := a.Commands.SettleAbandoned.Handle(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if tt.status != domain.StatusRequested && again.Claimed != 0 {
				t.Fatalf("second pass claimed %d", again.Claimed)
			}
		})
	}
}
