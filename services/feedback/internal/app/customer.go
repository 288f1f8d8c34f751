package app

import (
	"context"
	"slices"
	"time"
)

// Customer is the member behind a case as the feedback service last heard of them from
// the ledger: how to reach them, their tier, and their points (the sum of the points
// events it consumed, not the ledger's balance).
type Customer struct {
	DisplayName, Email, Phone, Tier, Locale string
	Points                                  int64
}

// PreferredContact is "email" when the member has an email address, else "phone" when
// they have a phone number, else "".
func (c Customer) PreferredContact() string {
	switch {
	case c.Email != "":
		return "email"
	case c.Phone != "":
		return "phone"
	}
	return ""
}

// CustomerRoles may see the customer on a case.
var CustomerRoles = []string{"service_agent", "admin"}

// MaySeeCustomer reports whether the actor may see the customer's contact data.
func (a Actor) MaySeeCustomer() bool {
	for _, r := range a.Roles {
		if slices.Contains(CustomerRoles, r) {
			return true
		}
	}
	return false
}

// Kinds of the member's events the timeline shows.
const (
	MemberResponse        = "response"
	LoyaltyPointsCredited = "points_credited"
	LoyaltyPointsDebited  = "points_debited"
	LoyaltyTierChanged    = "tier_changed"
)

// MemberEvent is what the feedback service heard of a member: a survey response, or
// from the ledger points credited or debited (Points positive) or a tier change. Key
// names the event (the response, the ledger transaction or change), so it is kept and
// counted once.
type MemberEvent struct {
	Key              string
	MemberID         string
	Kind             string
	Points           int64
	Reason           string
	Reference        string
	FromTier, ToTier string
	At               time.Time
	// Response is the answer of a response event.
	Response *ResponseFacts
}

// ResponseFacts is what the timeline shows of a survey response.
type ResponseFacts struct {
	ResponseID, ScoreKind, Comment, Touchpoint, StoreID, TouchpointKey string
	Score                                                              int
}

// Delta is what the event changes the member's points by.
func (e MemberEvent) Delta() int64 {
	switch e.Kind {
	case LoyaltyPointsCredited:
		return e.Points
	case LoyaltyPointsDebited:
		return -e.Points
	}
	return 0
}

// CustomerStore reads the member copy.
type CustomerStore interface {
	// Customer returns the member as kept, nil when none is kept (unknown or erased).
	Customer(ctx context.Context, memberID string) (*Customer, error)
	// TouchpointKey returns the touchpoint reference of the response, "" when none is kept.
	TouchpointKey(ctx context.Context, responseID string) (string, error)
}

// CustomerTx keeps the members' loyalty events and points.
type CustomerTx interface {
	// KeepMemberEvents records the events not recorded yet (member_events) and adds
	// their points to the members' running totals, and keeps the responses' touchpoint
	// references (also of responses without a member); an erased member's are not kept.
	KeepMemberEvents(ctx context.Context, events []MemberEvent) error
}

// KeepMemberEvents keeps the members' responses, loyalty events and points as the
// survey and the ledger announce them.
type KeepMemberEvents struct{ store Store }

// Handle keeps the events of the batch.
func (h KeepMemberEvents) Handle(ctx context.Context, events []MemberEvent) error {
	kept := events[:0:0]
	for _, e := range events {
		if e.Key != "" && (e.MemberID != "" || e.Response != nil) {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.KeepMemberEvents(ctx, kept) })
}
