package app

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// pruneEvery spaces out the lazy clean-up of old parked triggers.
const pruneEvery = time.Minute

// EnrollMembers keeps the local copy of members (locale and survey consent) and
// evaluates the triggers parked while they were unknown.
type EnrollMembers struct {
	store      Store
	triggers   *EvaluateTriggers
	pendingTTL time.Duration
	now        func() time.Time
	lastPrune  atomic.Int64 // unix nanoseconds
}

// EnrolledMember is a member enrolment as it arrived, with its event's trace.
type EnrolledMember struct {
	domain.Member
	// Profile is the rest of the copy an enrolment brings (nil: none).
	Profile *domain.MemberProfile
	Trace   context.Context
}

// Handle stores the members, except erased ones (an erasure wins over an enrolment,
// whatever their order), and evaluates their parked triggers, in one transaction; it
// returns what the evaluation came to.
func (h *EnrollMembers) Handle(ctx context.Context, in []EnrolledMember) (Evaluated, error) {
	if len(in) == 0 {
		return Evaluated{}, nil
	}
	var out Evaluated
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) (err error) {
		out, err = h.enroll(ctx, tx, in)
		return err
	})
	if err != nil {
		return Evaluated{}, err
	}
	return out, nil
}

func (h *EnrollMembers) enroll(ctx context.Context, tx Tx, in []EnrolledMember) (Evaluated, error) {
	now := h.now().UTC()
	// The latest copy of a member in the batch wins (then the last of equals).
	latest := make(map[string]EnrolledMember, len(in))
	for _, m := range in {
		if l, ok := latest[m.ID]; !ok || !m.AsOf.Before(l.AsOf) {
			latest[m.ID] = m
		}
	}
	var out Evaluated
	ids := make([]string, 0, len(latest))
	members := make([]domain.Member, 0, len(latest))
	for id, m := range latest {
		ids = append(ids, id)
		members = append(members, m.Member)
	}
	slices.Sort(ids)

	if err := tx.LockMembers(ctx, ids); err != nil {
		return Evaluated{}, fmt.Errorf("lock members: %w", err)
	}
	stored, err := tx.UpsertMembers(ctx, members)
	if err != nil {
		return Evaluated{}, fmt.Errorf("upsert members: %w", err)
	}
	var updates []MemberUpdate
	for _, id := range stored {
		if m := latest[id]; m.Profile != nil {
			updates = append(updates, MemberUpdate{Kind: UpdateProfile, MemberID: id, Profile: *m.Profile, AsOf: m.AsOf})
		}
	}
	if len(updates) > 0 {
		if err := tx.UpdateMembers(ctx, updates); err != nil {
			return Evaluated{}, fmt.Errorf("update members: %w", err)
		}
	}
	if len(stored) > 0 {
		parked, err := tx.TakeParkedTriggers(ctx, stored, now.Add(-h.pendingTTL))
		if err != nil {
			return Evaluated{}, fmt.Errorf("take parked triggers: %w", err)
		}
		incoming := make([]Incoming, len(parked))
		for i, t := range parked {
			incoming[i] = Incoming{Trigger: t, Trace: latest[t.MemberID].Trace}
		}
		if out, err = h.triggers.evaluate(ctx, tx, incoming); err != nil {
			return Evaluated{}, err
		}
	}
	if last := h.lastPrune.Load(); now.UnixNano()-last >= int64(pruneEvery) && h.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		if err := tx.PruneParkedTriggers(ctx, now.Add(-h.pendingTTL)); err != nil {
			return Evaluated{}, fmt.Errorf("prune parked triggers: %w", err)
		}
	}
	return out, nil
}
