package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// Enroll creates a member with their accounts and announces it.
type Enroll struct{ *base }

// Handle enrols. A retry with the same idempotency key and the same request returns the
// member created the first time; the same key with a different request is
// domain.ErrIdempotencyKeyReused. Once that member is erased, the key returns the erased
// member whatever the request: the ledger no longer knows what the first request said,
// and a late retry must not enrol the person again.
func (u *Enroll) Handle(ctx context.Context, key string, e domain.Enrolment) (domain.Member, error) {
	hash := e.Hash()
	m := domain.NewMember(u.newID(), e, u.clock())
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if m.Tier, err = baseTier(ctx, tx); err != nil { // the lowest defined tier
			return err
		}
		inserted, existing, existingHash, err := tx.InsertMember(ctx, m, key, hash)
		if err != nil {
			return err
		}
		if !inserted {
			if existingHash != hash && !existing.Erased() {
				return domain.ErrIdempotencyKeyReused
			}
			m = existing
			return nil
		}
		return tx.Emit(ctx, domain.MemberEnrolled{Member: m})
	})
	if err != nil {
		return domain.Member{}, err
	}
	return m, nil
}
