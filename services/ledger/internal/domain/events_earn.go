package domain

import "time"

// ReasonCustomEvent: points a custom event (an app installed, a review written) earned.
const ReasonCustomEvent Reason = "custom_event"

// CampaignBudgetExhausted: a campaign spent its whole budget and awards nothing more.
type CampaignBudgetExhausted struct {
	CampaignID string
	Name       string
	Budget     int64
	At         time.Time
}

func (CampaignBudgetExhausted) isEvent() {}
