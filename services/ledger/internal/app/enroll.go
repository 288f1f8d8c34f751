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
//
// The enrolment's identifiers (as written; normalised here) become the member's: one
// another member holds fails the enrolment with a *domain.IdentifierTakenError. The
// consents it gives are recorded with their evidence.
func (u *Enroll) Handle(ctx context.Context, actor domain.Actor, key string, e domain.Enrolment) (domain.Enrolled, error) {
	ids, err := domain.ParseIdentifiers("identifiers", e.Identifiers)
	if err != nil {
		return domain.Enrolled{}, err
	}
	e.Identifiers = ids
	if err := domain.CheckTimeZone(e.Normalize().TimeZone); err != nil {
		return domain.Enrolled{}, &domain.FieldError{Field: "time_zone", Err: err}
	}
	hash := e.Hash()
	m := domain.NewMember(u.newID(), e, u.clock())
	var out domain.Enrolled
	err = u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if m.Tier, err = baseTier(ctx, tx); err != nil { // the lowest defined tier
			return err
		}
		inserted, existing, existingHash, err := tx.InsertMember(ctx, m, key, hash)
		if err != nil {
			return err
		}
		if inserted {
			m = existing // with the referral code it was stored with
		}
		if !inserted {
			if existingHash != hash && !existing.Erased() {
				return domain.ErrIdempotencyKeyReused
			}
			out.Member = existing
			if !existing.Erased() {
				out.Claimable, err = u.claimable(ctx, tx, ids)
			}
			return err
		}
		out.Member = m
		if err := u.enrolMemberData(ctx, tx, actor, m, e); err != nil {
			return err
		}
		if out.Claimable, err = u.claimable(ctx, tx, ids); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.MemberEnrolled{Member: m, Phone: domain.FirstIdentifier(ids, domain.IdentifierPhone), Tags: []string{}})
	})
	if err != nil {
		return domain.Enrolled{}, err
	}
	return out, nil
}

// enrolMemberData stores what the members' area keeps of a new member: identifiers and
// the evidence of the consents given.
func (u *Enroll) enrolMemberData(ctx context.Context, tx Tx, actor domain.Actor, m domain.Member, e domain.Enrolment) error {
	if len(e.Identifiers) > 0 {
		if err := tx.InsertIdentifiers(ctx, m.ID, e.Identifiers, m.EnrolledAt); err != nil {
			return err
		}
	}
	return tx.InsertConsents(ctx, domain.EnrolmentConsents(m, e.ConsentEvidence, actor, u.newID))
}
