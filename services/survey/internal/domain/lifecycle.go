package domain

// Touchpoints that arrive from other services' events or the touchpoint stream.
const (
	TouchpointRewardDelivered Touchpoint = "REWARD_DELIVERED"
	TouchpointCaseResolved    Touchpoint = "CASE_RESOLVED"
)

// InvitationStatus is where an invitation is in its life.
type InvitationStatus string

const (
	// StatusScheduled: waiting for its moment (the trigger's delay, quiet hours, a retry).
	StatusScheduled InvitationStatus = "SCHEDULED"
	// StatusSent: handed to its channel, or issued on a receipt or by API.
	StatusSent       InvitationStatus = "SENT"
	StatusAnswered   InvitationStatus = "ANSWERED"
	StatusSuppressed InvitationStatus = "SUPPRESSED"
	StatusFailed     InvitationStatus = "FAILED"
	StatusExpired    InvitationStatus = "EXPIRED"
)

// DeliveryChannel is how an invitation reaches the member.
type DeliveryChannel string

const (
	ChannelEmail   DeliveryChannel = "EMAIL"
	ChannelWebhook DeliveryChannel = "WEBHOOK"
	// ChannelNone sends nothing: the link is on the event and the API.
	ChannelNone DeliveryChannel = "NONE"
	// ChannelReceipt is a link printed on a receipt.
	ChannelReceipt DeliveryChannel = "RECEIPT"
)

// SuppressionReason is why the contact policy held an invitation back.
type SuppressionReason string

const (
	SuppressedFrequencyCap  SuppressionReason = "FREQUENCY_CAP"
	SuppressedNoConsent     SuppressionReason = "NO_CONSENT"
	SuppressedOpenCase      SuppressionReason = "OPEN_CASE"
	SuppressedReturned      SuppressionReason = "RETURNED"
	SuppressedErased        SuppressionReason = "ERASED"
	SuppressedNoChannel     SuppressionReason = "NO_CHANNEL"
	SuppressedSurveyRetired SuppressionReason = "SURVEY_RETIRED"
)
