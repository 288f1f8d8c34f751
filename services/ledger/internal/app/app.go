// Package app holds the ledger's use cases: Commands change the ledger, Queries read it.
// A command runs in one database transaction (Store.InTx) and emits the events its change
// causes in that same transaction (Tx.Emit). Called from a gRPC call it has a
// transaction of its own; called from an event route it joins the consumer's batch
// transaction, which also holds the batch's inbox rows.
package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// Config is the programme's rules.
type Config struct {
	// POS is what a purchase earns per currency, and which purchases and returns are
	// refused.
	POS domain.POSRules
	// SurveyBonusPoints is credited once per survey response; 0 turns the bonus off.
	SurveyBonusPoints int64
	// HoldTTL is how long a hold lives uncaptured when the request names no TTL.
	HoldTTL time.Duration
	// ReturnWaitDeliveries is how many deliveries a return waits for its purchase before
	// it is booked from its own amount (default 3).
	ReturnWaitDeliveries int
	// ClaimWindow is how long after a purchase a member may claim it (default 90 days).
	ClaimWindow time.Duration
	// AdjustLimits is the most points each role may adjust at once (AdjustPoints).
	AdjustLimits domain.AdjustLimits
	// Lots is the return window, expiry and debt policy (lots.go).
	Lots domain.LotPolicy
	// Currency is the programme's currency, that of tiers' spend thresholds.
	Currency string
	// Earning configures the earning engine (rules and campaigns).
	Earning EarningConfig
	// GoodwillBudget is the most goodwill points booked per calendar month (UTC); 0 is
	// no limit.
	GoodwillBudget int64
}

// Deps are what the use cases need from outside.
type Deps struct {
	Store  Store
	Config Config
	// NewID returns a fresh UUIDv7; Now the time.
	NewID func() string
	Now   func() time.Time
	Log   *slog.Logger
}

// Application is the ledger's use cases.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands change the ledger.
type Commands struct {
	Enroll              *Enroll
	EraseMember         *EraseMember
	PlaceHold           *PlaceHold
	CaptureHold         *CaptureHold
	VoidHold            *VoidHold
	ExpireHolds         *ExpireHolds
	RecordPurchases     *RecordPurchases
	RecordReturns       *RecordReturns
	CreditSurveyBonuses *CreditSurveyBonuses
	CompleteRedemptions *CompleteRedemptions
	CancelRedemptions   *CancelRedemptions
	AddIdentifier       *AddIdentifier
	RemoveIdentifier    *RemoveIdentifier
	UpdateMember        *UpdateMember
	ClaimPurchase       *ClaimPurchase
	ChangeConsent       *ChangeConsent
	AdjustPoints        *AdjustPoints
	MaturePoints        *MaturePoints
	ExpirePoints        *ExpirePoints
	AnnounceExpiries    *AnnounceExpiries
	Tiers               TierCommands
	Program             *ProgramCommands
	RecordCustomEvents  *RecordCustomEvents
	UnsubscribeSurveys  *UnsubscribeSurveys
	GrantGoodwill       *GrantGoodwill
}

// Queries read the ledger.
type Queries struct {
	GetMember        *GetMember
	GetBalance       *GetBalance
	ListTransactions *ListTransactions
	ExportMember     *ExportMember
	LookupMember     *LookupMember
	SearchMembers    *SearchMembers
	GetMemberProfile *GetMemberProfile
	ListConsents     *ListConsents
	ListAuditLog     *ListAuditLog
	Tiers            TierQueries
	Program          *ProgramQueries
}

// New builds the use cases; it refuses a missing dependency or an impossible rule.
func New(d Deps) (*Application, error) {
	switch {
	case d.Store == nil || d.NewID == nil || d.Now == nil || d.Log == nil:
		return nil, errors.New("app: Store, NewID, Now and Log are required")
	case d.Config.POS.IsZero():
		return nil, errors.New("app: POS rules are required")
	case d.Config.HoldTTL <= 0:
		return nil, errors.New("app: HoldTTL must be positive")
	case d.Config.SurveyBonusPoints < 0:
		return nil, errors.New("app: SurveyBonusPoints must not be negative")
	}
	if d.Config.ReturnWaitDeliveries <= 0 {
		d.Config.ReturnWaitDeliveries = 3
	}
	if d.Config.ClaimWindow <= 0 {
		d.Config.ClaimWindow = DefaultClaimWindow
	}
	b := &base{store: d.Store, cfg: d.Config, newID: d.NewID, now: d.Now, log: d.Log}
	var err error
	if b.earning, err = newEarning(d.Config); err != nil {
		return nil, err
	}
	h := holds{b}
	return &Application{
		Commands: Commands{
			Enroll:              &Enroll{b},
			EraseMember:         &EraseMember{b},
			PlaceHold:           &PlaceHold{b},
			CaptureHold:         &CaptureHold{h},
			VoidHold:            &VoidHold{h},
			ExpireHolds:         &ExpireHolds{h},
			RecordPurchases:     &RecordPurchases{b},
			RecordReturns:       &RecordReturns{b},
			CreditSurveyBonuses: &CreditSurveyBonuses{b},
			GrantGoodwill:       &GrantGoodwill{b},
			CompleteRedemptions: &CompleteRedemptions{h},
			CancelRedemptions:   &CancelRedemptions{h},
			AddIdentifier:       &AddIdentifier{b},
			RemoveIdentifier:    &RemoveIdentifier{b},
			UpdateMember:        &UpdateMember{b},
			ClaimPurchase:       &ClaimPurchase{b},
			ChangeConsent:       &ChangeConsent{b},
			AdjustPoints:        &AdjustPoints{b},
			MaturePoints:        &MaturePoints{b},
			ExpirePoints:        &ExpirePoints{b},
			AnnounceExpiries:    &AnnounceExpiries{b},
			Tiers:               newTierCommands(b),
			Program:             &ProgramCommands{b},
			RecordCustomEvents:  &RecordCustomEvents{b},
			UnsubscribeSurveys:  &UnsubscribeSurveys{b},
		},
		Queries: Queries{
			GetMember:        &GetMember{b},
			GetBalance:       &GetBalance{b},
			ListTransactions: &ListTransactions{b},
			ExportMember:     &ExportMember{b},
			LookupMember:     &LookupMember{b},
			SearchMembers:    &SearchMembers{b},
			GetMemberProfile: &GetMemberProfile{b},
			ListConsents:     &ListConsents{b},
			ListAuditLog:     &ListAuditLog{b},
			Tiers:            TierQueries{ListTiers: &ListTiers{b}, GetTierStatus: &GetTierStatus{b}},
			Program:          &ProgramQueries{b},
		},
	}, nil
}

// base is what every use case shares.
type base struct {
	store Store
	cfg   Config
	newID func() string
	now   func() time.Time
	log   *slog.Logger
	// earning is the earning engine and its cache of live rules.
	earning *earning
}

// clock returns the time now, in UTC and truncated to microseconds (Postgres keeps no
// finer), so that what a use case returns equals what a later read of it returns.
func (b *base) clock() time.Time { return b.now().UTC().Truncate(time.Microsecond) }

// audit appends an administrative change to the audit log inside tx: who, when, what,
// and the object before and after (nil where it did not exist).
func (b *base) audit(ctx context.Context, tx Tx, actor domain.Actor, action, kind, id string, before, after any, note string) error {
	e, err := domain.Audit(b.newID(), b.clock(), actor, action, kind, id, before, after, note)
	if err != nil {
		return err
	}
	return tx.Audit(ctx, e)
}
