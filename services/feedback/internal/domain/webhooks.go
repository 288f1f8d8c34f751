package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Errors of webhooks and CRM updates.
var (
	// ErrSubscriptionNotFound: no subscription has the id.
	ErrSubscriptionNotFound = errors.New("subscription not found")
	// ErrDeliveryNotFound: no delivery has the id.
	ErrDeliveryNotFound = errors.New("delivery not found")
	// ErrUnsupportedStatus: a CRM status the service does not take.
	ErrUnsupportedStatus = errors.New("unsupported status")
)

// PreviousSecretValidity is how long a rotated-out secret keeps signing.
const PreviousSecretValidity = 24 * time.Hour

// DeliveryStatus is where a webhook delivery stands.
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "PENDING"
	DeliveryDelivered DeliveryStatus = "DELIVERED"
	DeliveryFailed    DeliveryStatus = "FAILED"
)

// Subscription is a receiver of webhook calls.
type Subscription struct {
	ID          string
	URL         string
	EventTypes  []string
	Description string
	// Secret signs every call; PreviousSecret too, until PreviousUntil.
	Secret         string
	PreviousSecret string
	PreviousUntil  time.Time
	Active         bool
	CreatedAt      time.Time
	RotatedAt      time.Time
}

// Secrets are the secrets that sign a call at now, the current one first.
func (s Subscription) Secrets(now time.Time) []string {
	if s.PreviousSecret != "" && now.Before(s.PreviousUntil) {
		return []string{s.Secret, s.PreviousSecret}
	}
	return []string{s.Secret}
}

// Wants reports whether the subscription takes events of subject: an event type is a
// subject, a prefix ending in ".*" (every subject under it) or "*" (every event).
func (s Subscription) Wants(subject string) bool {
	for _, p := range s.EventTypes {
		if MatchEventType(p, subject) {
			return true
		}
	}
	return false
}

// MatchEventType reports whether pattern takes subject.
func MatchEventType(pattern, subject string) bool {
	if pattern == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasSuffix(prefix, ".") && strings.HasPrefix(subject, prefix) && len(subject) > len(prefix)
	}
	return pattern == subject
}

// ValidateEventType refuses a pattern that can match nothing: tokens of letters,
// digits, '-' and '_' separated by dots, optionally ending in ".*", or "*".
func ValidateEventType(p string) error {
	if p == "*" {
		return nil
	}
	p = strings.TrimSuffix(p, ".*")
	for _, tok := range strings.Split(p, ".") {
		if tok == "" {
			return fmt.Errorf("%q: empty token", p)
		}
		for _, r := range tok {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("%q: %q is not allowed (a subject, a prefix ending in .* or *)", p, r)
			}
		}
	}
	return nil
}

// ValidateWebhookURL accepts https, and http to a loopback host when allowHTTP (for
// development and tests).
func ValidateWebhookURL(raw string, allowLoopbackHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return &FieldError{Field: "url", Reason: "not an absolute http(s) URL without credentials or fragment"}
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		if allowLoopbackHTTP && (host == "localhost" || ip != nil && ip.IsLoopback()) {
			return nil
		}
		return &FieldError{Field: "url", Reason: "must be https (http only to a loopback host where the service allows it)"}
	}
	return &FieldError{Field: "url", Reason: "scheme must be https"}
}

// HookEvent is an event to fan out to subscriptions.
type HookEvent struct {
	ID      string // the event id: webhook-id
	Subject string // the payload's type
	Data    json.RawMessage
	// MemberID is the member the event names, if any: its erasure redacts the delivery.
	MemberID string
}

// WebhookBody is the JSON a receiver gets.
func WebhookBody(e HookEvent, at time.Time) ([]byte, error) {
	return json.Marshal(struct {
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{e.Subject, at.UTC().Format(time.RFC3339), e.Data})
}

// WebhookDelivery is one event owed to one subscription.
type WebhookDelivery struct {
	ID             string
	SubscriptionID string
	EventID        string
	EventType      string
	Body           []byte
	Status         DeliveryStatus
	Attempts       int
	NextAttemptAt  time.Time
	CreatedAt      time.Time
	DeliveredAt    time.Time
	LastStatusCode int
	LastError      string
	MemberID       string
	Log            []WebhookAttempt
}

// WebhookAttempt is one try of a delivery.
type WebhookAttempt struct {
	Attempt     int
	AttemptedAt time.Time
	StatusCode  int
	Error       string
	Duration    time.Duration
}

// WebhookBackoff is the wait after the n-th failed attempt (n from 1): base doubled
// each time, at most limit.
func WebhookBackoff(n int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// CRMStatusResolved is the CRM status that resolves a case (with an outcome).
const CRMStatusResolved = "resolved"

// CRMUpdate is one update a CRM sent about a case.
type CRMUpdate struct {
	IdempotencyKey    string
	CaseID            string
	ExternalSystem    string
	ExternalReference string
	Note              string
	Status            string
	Outcome           Outcome
	UpdatedBy         string
	ReceivedAt        time.Time
}

// RequestHash tells a retry of the update from another request with its key.
func (u CRMUpdate) RequestHash() string {
	return fmt.Sprintf("%q|%q|%q|%q|%q|%q", u.CaseID, u.ExternalSystem, u.ExternalReference, u.Note, u.Status, u.Outcome)
}

// CRMLink is a case's reference in an external system.
type CRMLink struct {
	ExternalSystem    string
	ExternalReference string
	UpdatedAt         time.Time
}
