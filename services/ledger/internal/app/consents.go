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
		m := p.Member
		r.ID, r.MemberID, r.Actor, r.RecordedBy, r.RecordedAt = u.newID(), m.ID, actor, actor.Name, u.clock()
		changed, err := m.ApplyConsent(r)
		if err != nil {
			return err
		}
		if err := tx.InsertConsents(ctx, []domain.ConsentRecord{r}); err != nil {
			return err
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
		if err := u.audit(ctx, tx, actor, action, "member", m.ID, nil, audited, ""); err != nil {
			return err
		}
		if !changed {
			return nil
		}
		if err := tx.SaveConsents(ctx, m); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.MemberConsentChanged{
			MemberID: m.ID, Locale: m.Locale, SurveyConsent: m.SurveyConsent, MarketingConsent: m.MarketingConsent, ChangedAt: r.RecordedAt,
		})
	})
	if err != nil {
		return domain.ConsentRecord{}, err
	}
	return r, nil
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
