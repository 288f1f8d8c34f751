package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// QuietHours is the daily window, in the member's time zone, in which no invitation is
// sent: a due invitation waits until the window ends. Start and End are minutes after
// midnight; a window with Start > End spans midnight (21:00-08:00); Start == End means no
// quiet hours.
type QuietHours struct {
	Start, End int
}

// ParseQuietHours reads "HH:MM-HH:MM"; "" and "off" mean none.
func ParseQuietHours(s string) (QuietHours, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "off") {
		return QuietHours{}, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return QuietHours{}, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM", s)
	}
	start, err := parseClock(from)
	if err != nil {
		return QuietHours{}, fmt.Errorf("quiet hours %q: %w", s, err)
	}
	end, err := parseClock(to)
	if err != nil {
		return QuietHours{}, fmt.Errorf("quiet hours %q: %w", s, err)
	}
	return QuietHours{Start: start, End: end}, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	return hh*60 + mm, nil
}

// String is the window as configured.
func (q QuietHours) String() string {
	if q.Start == q.End {
		return "off"
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", q.Start/60, q.Start%60, q.End/60, q.End%60)
}

// SendAt returns when an invitation due at t may be sent to a member in loc: t itself
// outside the quiet hours, else the end of the quiet hours on the local calendar (an end
// that falls in a daylight-saving gap is taken as the wall clock after the gap).
func (q QuietHours) SendAt(t time.Time, loc *time.Location) time.Time {
	if q.Start == q.End {
		return t
	}
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	tod := local.Hour()*60 + local.Minute()
	y, m, d := local.Date()
	endToday := time.Date(y, m, d, q.End/60, q.End%60, 0, 0, loc)
	if q.Start < q.End { // within one day: 12:00-14:00
		if tod >= q.Start && tod < q.End {
			return endToday.In(t.Location())
		}
		return t
	}
	// Across midnight: 21:00-08:00.
	switch {
	case tod < q.End: // early morning: ends today
		return endToday.In(t.Location())
	case tod >= q.Start: // evening: ends tomorrow
		return time.Date(y, m, d+1, q.End/60, q.End%60, 0, 0, loc).In(t.Location())
	}
	return t
}

// Backoff is the wait before delivery attempt n+1 after n failed ones: base doubled per
// failure, at most max.
func Backoff(failed int, base, max time.Duration) time.Duration {
	if failed < 1 {
		failed = 1
	}
	d := base
	for i := 1; i < failed; i++ {
		d *= 2
		if d >= max || d <= 0 {
			return max
		}
	}
	if d > max {
		return max
	}
	return d
}

// ChannelFor picks the first of the invitation's channels that reaches the member: EMAIL
// needs an address and email delivery configured, WEBHOOK a configured webhook, NONE
// always does. No channels listed means EMAIL, WEBHOOK, NONE. ok is false when none does.
func ChannelFor(channels []DeliveryChannel, hasEmail, emailOn, webhookOn bool) (DeliveryChannel, bool) {
	if len(channels) == 0 {
		channels = []DeliveryChannel{ChannelEmail, ChannelWebhook, ChannelNone}
	}
	for _, c := range channels {
		switch c {
		case ChannelEmail:
			if hasEmail && emailOn {
				return c, true
			}
		case ChannelWebhook:
			if webhookOn {
				return c, true
			}
		case ChannelNone:
			return c, true
		}
	}
	return "", false
}

// UnsubscribeSigner signs the tokens of unsubscribe links. It is a LinkSigner under a key
// derived from the survey links' secret for this purpose only, so a survey token is not
// an unsubscribe token and an unsubscribe token opens no survey.
type UnsubscribeSigner struct{ *LinkSigner }

// NewUnsubscribeSigner derives the unsubscribe signer from the survey links' signer.
func NewUnsubscribeSigner(links *LinkSigner) *UnsubscribeSigner {
	m := hmac.New(sha256.New, links.secret)
	m.Write([]byte("treue/survey/unsubscribe/v1"))
	s, _ := NewLinkSigner(m.Sum(nil)) // 32 bytes: never refused
	return &UnsubscribeSigner{LinkSigner: s}
}

// UnsubscribeTTL is how long an unsubscribe link works after its invitation expires.
const UnsubscribeTTL = 365 * 24 * time.Hour

// ErrPermanentDelivery marks a delivery failure that no retry can fix (an SMTP 5xx
// reply, a webhook's 4xx): the invitation fails at once.
var ErrPermanentDelivery = errors.New("permanent delivery failure")

// Delivery is one attempt to deliver an invitation or its reminder, as logged.
type Delivery struct {
	ID           string
	InvitationID string
	Channel      DeliveryChannel
	Reminder     bool
	Attempt      int
	Outcome      string // SENT, RETRYING, FAILED
	Error        string
	AttemptedAt  time.Time
}

// Delivery outcomes.
const (
	OutcomeSent     = "SENT"
	OutcomeRetrying = "RETRYING"
	OutcomeFailed   = "FAILED"
)

// InvitationSent: an invitation or its reminder reached its channel.
type InvitationSent struct {
	InvitationID, MemberID string
	Channel                DeliveryChannel
	Reminder               bool
	SentAt                 time.Time
}

// DeliveryFailed: every attempt to deliver an invitation failed.
type DeliveryFailed struct {
	InvitationID, MemberID string
	Channel                DeliveryChannel
	Attempts               int
	Error                  string
	FailedAt               time.Time
}

// DueSuppressed: the contact policy held back a scheduled invitation when it was due.
type DueSuppressed struct {
	Invitation Invitation
	Reason     SuppressionReason
	At         time.Time
}

// MemberUnsubscribed: a member followed the unsubscribe link of a survey email.
type MemberUnsubscribed struct {
	MemberID, InvitationID string
	Channel                DeliveryChannel
	At                     time.Time
}

func (InvitationSent) surveyEvent()     {}
func (DeliveryFailed) surveyEvent()     {}
func (DueSuppressed) surveyEvent()      {}
func (MemberUnsubscribed) surveyEvent() {}
