package app

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// ChangeConsent records a grant or a withdrawal of a consent with its evidence.
type ChangeConsent struct{ *base }

// Handle appends r (its id, member, actor and time filled here) to the member's consent
// history, sets the member's consent of its purpose as r says, and announces the change
// (domain.MemberConsentChanged) when the consent changed. Audited. An unknown or erased
// member is domain.ErrMemberNotFound.
func (u *ChangeConsent) Handle(ctx context.Context, actor domain.Actor, memberID string, r domain.ConsentRecord) (domain.ConsentRecord, error) {
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		p, err := lockActiveProfile(ctx, tx, memberID)
		if err != nil {
			return err
		}
		r, err = u.changeConsent(ctx, tx, actor, p.Member, r)
		return err
	})
	if err != nil {
		return domain.ConsentRecord{}, err
	}
	return r, nil
}

// changeConsent appends r (its id, member, actor and time filled here) to the locked
// member m's consent history, audited, sets m's consent as r says and announces the
// change when the consent changed.
func (b *base) changeConsent(ctx context.Context, tx Tx, actor domain.Actor, m domain.Member, r domain.ConsentRecord) (domain.ConsentRecord, error) {
	r.ID, r.MemberID, r.Actor, r.RecordedBy, r.RecordedAt = b.newID(), m.ID, actor, actor.Name, b.clock()
	changed, err := m.ApplyConsent(r)
	if err != nil {
		return r, err
	}
	if err := tx.InsertConsents(ctx, []domain.ConsentRecord{r}); err != nil {
		return r, err
	}
	action := "consent.withdraw"
	if r.Granted {
		action = "consent.record"
	}
	audited := struct {
		Purpose        domain.ConsentPurpose `json:"purpose"`
		Granted        bool                  `json:"granted"`
		WordingVersion string                `json:"wording_version"`
		Channel        domain.Channel        `json:"channel"`
		ConsentID      string                `json:"consent_id"`
	}{r.Purpose, r.Granted, r.WordingVersion, r.Channel, r.ID}
	if err := b.audit(ctx, tx, actor, action, "member", m.ID, nil, audited, ""); err != nil {
		return r, err
	}
	if !changed {
		return r, nil
	}
	if err := tx.SaveConsents(ctx, m); err != nil {
		return r, err
	}
	return r, tx.Emit(ctx, domain.MemberConsentChanged{
		MemberID: m.ID, Locale: m.Locale, SurveyConsent: m.SurveyConsent, MarketingConsent: m.MarketingConsent, ChangedAt: r.RecordedAt,
	})
}

// ListConsents reads a member's consent history.
type ListConsents struct{ *base }

// Handle returns the member's consent records, newest first; an unknown member is
// domain.ErrMemberNotFound.
func (u *ListConsents) Handle(ctx context.Context, memberID string) ([]domain.ConsentRecord, error) {
	m, err := member(ctx, u.store, memberID)
	if err != nil {
		return nil, err
	}
	return u.store.Consents(ctx, m.ID)
}
