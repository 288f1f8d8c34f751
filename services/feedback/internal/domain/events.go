package domain

// Event is a change that other services hear about. The application decides which
// events a change emits; the outbox publishes them after the change commits.
type Event interface{ isEvent() }

// CaseOpened: a response opened Case (as stored). ReferralCode is the member's, on a
// referral request.
type CaseOpened struct {
	Case         Case
	ReferralCode string
}

// CaseResolved: Case was resolved (as stored).
type CaseResolved struct{ Case Case }

func (CaseOpened) isEvent()   {}
func (CaseResolved) isEvent() {}

// GoodwillGranted: resolving a case granted its member goodwill points.
type GoodwillGranted struct{ Goodwill Goodwill }

func (GoodwillGranted) isEvent() {}
