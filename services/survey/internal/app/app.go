// Package app holds the survey's use cases: commands change state, queries read it. They
// reach the database and the event outbox through the ports declared in ports.go;
// adapters implement them.
package app

import (
	"errors"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// Application gathers the use cases.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands change the survey's state.
type Commands struct {
	EvaluateTriggers *EvaluateTriggers
	EnrollMembers    *EnrollMembers
	EraseMembers     *EraseMembers
	SubmitResponse   *SubmitResponse
	Triggers         TriggerCommands
	IssueReceiptLink *IssueReceiptLink
	DefinitionCommands
	Delivery Delivery
}

// Queries read it.
type Queries struct {
	OpenSurvey      *OpenSurvey
	ListInvitations *ListInvitations
	ExportMember    *ExportMember
	Triggers        TriggerQueries
	DefinitionQueries
	ListDeliveries *ListDeliveries
}

// Config are the application's settings.
type Config struct {
	// SurveyID is the survey invitations are for.
	SurveyID string
	// LinkTTL is how long a survey link can be answered.
	LinkTTL time.Duration
	// Contact limits how often a member is invited.
	Contact domain.ContactPolicy
	// PendingTTL is how long a trigger of a member not known yet is kept.
	PendingTTL time.Duration
}

// Deps are what the use cases need.
type Deps struct {
	Config Config
	Store  Store
	Links  *Links
	// QR draws the QR codes of receipt links (optional: without it IssueReceiptLink fails).
	QR QRCodes
	// Now is the clock.
	Now func() time.Time
}

// New wires the use cases; it refuses a missing dependency or a setting out of range.
func New(d Deps) (*Application, error) {
	if d.Store == nil || d.Links == nil || d.Now == nil {
		return nil, errors.New("app: store, links and clock are required")
	}
	cfg := d.Config
	if cfg.SurveyID == "" || cfg.LinkTTL <= 0 || cfg.Contact.Interval < 0 || cfg.PendingTTL <= 0 {
		return nil, errors.New("app: survey id, a positive link TTL and pending TTL and a non-negative contact interval are required")
	}
	engine, err := domain.NewTriggerEngine()
	if err != nil {
		return nil, err
	}
	triggers := &EvaluateTriggers{store: d.Store, cfg: cfg, links: d.Links, now: d.Now, engine: engine}
	triggerCommands, triggerQueries := newTriggerUseCases(d.Store, triggers, d.Now)
	defCommands, defQueries := newDefinitions(d)
	return &Application{
		Commands: Commands{
			EvaluateTriggers:   triggers,
			EnrollMembers:      &EnrollMembers{store: d.Store, triggers: triggers, pendingTTL: cfg.PendingTTL, now: d.Now},
			EraseMembers:       &EraseMembers{store: d.Store, now: d.Now},
			SubmitResponse:     &SubmitResponse{store: d.Store, links: d.Links, now: d.Now},
			Triggers:           triggerCommands,
			IssueReceiptLink:   &IssueReceiptLink{store: d.Store, links: d.Links, qr: d.QR, surveyID: cfg.SurveyID, ttl: cfg.LinkTTL, now: d.Now},
			DefinitionCommands: defCommands,
		},
		Queries: Queries{
			OpenSurvey:        &OpenSurvey{store: d.Store, links: d.Links, now: d.Now},
			ListInvitations:   &ListInvitations{store: d.Store, links: d.Links},
			ExportMember:      &ExportMember{store: d.Store},
			Triggers:          triggerQueries,
			DefinitionQueries: defQueries,
		},
	}, nil
}
