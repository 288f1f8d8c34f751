package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

// DeliveryTx is what delivering invitations writes, within one transaction.
type DeliveryTx interface {
	// DueInvitations locks up to limit SCHEDULED invitations due at now, oldest due first,
	// skipping those another transaction holds (several dispatchers may run), with what the
	// contact policy needs to know about them now.
	DueInvitations(ctx context.Context, now time.Time, limit int) ([]DueInvitation, error)
	// DueReminders locks up to limit SENT invitations whose reminder is due at now and not
	// sent, unexpired, skipping locked ones.
	DueReminders(ctx context.Context, now time.Time, limit int) ([]DueInvitation, error)
	// ClaimDelivery records an attempt about to be made: attempts+1, the channel, and the
	// due time pushed to leaseUntil (so a crash before the outcome is recorded retries it
	// then). It returns the attempt's number.
	ClaimDelivery(ctx context.Context, id string, ch domain.DeliveryChannel, leaseUntil time.Time) (int, error)
	// Postpone moves a scheduled invitation's due time.
	Postpone(ctx context.Context, id string, dueAt time.Time) error
	// SuppressDue holds back a scheduled invitation: SUPPRESSED with the reason, and a
	// suppression row.
	SuppressDue(ctx context.Context, inv domain.Invitation, reason domain.SuppressionReason, at time.Time) error
	// MarkSent sets a scheduled invitation SENT through ch at at, if attempt is still its
	// latest claim; reminderDue is when its reminder is due (nil: none). It reports whether
	// it did.
	MarkSent(ctx context.Context, id string, attempt int, ch domain.DeliveryChannel, at time.Time, reminderDue *time.Time) (bool, error)
	// RetryLater records a failed attempt: due again at next, with the error.
	RetryLater(ctx context.Context, id string, attempt int, next time.Time, errText string) (bool, error)
	// MarkFailed sets a scheduled invitation FAILED with the error.
	MarkFailed(ctx context.Context, id string, attempt int, at time.Time, errText string) (bool, error)
	// SetStatus sets an invitation's status (EXPIRED for a due one past its expiry).
	SetStatus(ctx context.Context, id string, status domain.InvitationStatus, at time.Time) error
	// ClaimReminder records that the reminder is being sent (reminded_at = at): a reminder
	// is sent at most once.
	ClaimReminder(ctx context.Context, id string, at time.Time) error
	// SetReminderDue moves (or with nil cancels) an invitation's reminder.
	SetReminderDue(ctx context.Context, id string, at *time.Time) error
	// ExpireSent sets up to limit SENT invitations past their expiry EXPIRED and returns
	// how many.
	ExpireSent(ctx context.Context, now time.Time, limit int) (int, error)
	// LogDelivery adds a row to the delivery log.
	LogDelivery(ctx context.Context, d domain.Delivery) error
	// WithdrawConsent withdraws a member's survey consent in the local copy as of at; it
	// reports whether the member is known here.
	WithdrawConsent(ctx context.Context, memberID string, at time.Time) (bool, error)
}

// DeliveryStore reads the delivery log.
type DeliveryStore interface {
	// ListDeliveries returns up to limit delivery attempts, newest first, after the cursor,
	// of one invitation when invitationID is set, failed ones only when failedOnly.
	ListDeliveries(ctx context.Context, invitationID string, failedOnly bool, after *Cursor, limit int) ([]domain.Delivery, error)
}

// DueInvitation is an invitation due for delivery (or its reminder) and what the contact
// policy needs to decide about it now.
type DueInvitation struct {
	domain.Invitation
	Attempts int
	// The member's copy; Known is false when there is none.
	Known    bool
	Consent  bool
	Email    string
	Phone    string
	Locale   string
	TimeZone string
	Erased   bool
	OpenCase bool
	Retired  bool // the survey was retired
	Answered bool
}

// Outgoing is one message to deliver: an invitation or its reminder.
type Outgoing struct {
	InvitationID string
	MemberID     string
	SurveyID     string
	Locale       string // the member's
	// Subject is the survey's email subject in the member's language; "" for the email's
	// own wording.
	Subject        string
	Email          string
	Phone          string
	URL            string // the survey link
	UnsubscribeURL string
	Reminder       bool
	Attempt        int
	SentAt         time.Time
}

// Sender delivers messages through one channel. An error wrapping
// domain.ErrPermanentDelivery is not retried.
type Sender interface {
	Send(ctx context.Context, m Outgoing) error
}

// Delivery gathers the delivery use cases (set by the service when it wires them).
type Delivery struct {
	Dispatch    *DispatchInvitations
	Reminders   *SendReminders
	Expire      *ExpireInvitations
	Unsubscribe *Unsubscribe
}

// DeliveryObserver is told what delivery did, inside the transaction that records it (so
// a count can wait for the commit).
type DeliveryObserver interface {
	// Attempted: one attempt through ch ended with outcome (domain.OutcomeSent, ...).
	Attempted(ctx context.Context, ch domain.DeliveryChannel, reminder bool, outcome string)
	// SuppressedWhenDue: the policy held back a due invitation.
	SuppressedWhenDue(ctx context.Context, reason domain.SuppressionReason)
}

type noObserver struct{}

func (noObserver) Attempted(context.Context, domain.DeliveryChannel, bool, string) {}
func (noObserver) SuppressedWhenDue(context.Context, domain.SuppressionReason)     {}
