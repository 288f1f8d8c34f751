package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// TiersStore is what the tier queries read.
type TiersStore interface {
	// TierProgramme returns the programme, its tiers ascending by rank; none defined:
	// no tiers.
	TierProgramme(ctx context.Context) (domain.TierProgramme, error)
	// TierState returns the member's tier standing with their figures since from, in
	// total and per month; domain.ErrMemberNotFound for an unknown id.
	TierState(ctx context.Context, memberID string, from time.Time) (domain.TierState, error)
}

// TiersTx is what the tier use cases do inside a transaction.
type TiersTx interface {
	// TierProgramme is TiersStore.TierProgramme inside the transaction.
	TierProgramme(ctx context.Context) (domain.TierProgramme, error)
	// SaveTierProgramme replaces the programme and its tiers.
	SaveTierProgramme(ctx context.Context, p domain.TierProgramme) error
	// AddQualifying adds changes (at most one per member and month: see
	// domain.SumQualifying) to the members' monthly figures and returns the programme,
	// read in the same round trip (a purchase batch needs both).
	AddQualifying(ctx context.Context, qs []domain.Qualifying) (domain.TierProgramme, error)
	// LockTierStates locks the enrolled members among ids (in id order) and returns
	// their standing with their figures since from. Unknown and erased ones are absent.
	LockTierStates(ctx context.Context, ids []string, from time.Time) ([]domain.TierState, error)
	// TierStates is LockTierStates without the locks: decisions on them are stored
	// only where the standing has not changed since (see SaveTierDecisions).
	TierStates(ctx context.Context, ids []string, from time.Time) ([]domain.TierState, error)
	// LockTierPage locks up to limit enrolled members with ids above after, in id order,
	// skipping those another transaction holds, and returns their standing with their
	// figures since from.
	LockTierPage(ctx context.Context, after string, limit int, from time.Time) ([]domain.TierState, error)
	// SaveTierDecisions stores what decisions did to members: the new tier (where To is
	// set), the downgrade date and the manual floor, each only where the member's
	// standing is still the one decided on (Was). It returns the ids of those stored.
	SaveTierDecisions(ctx context.Context, ds []domain.TierDecision) (stored map[string]bool, err error)
}
