package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// HookTx is what webhooks and CRM updates change inside a transaction.
type HookTx interface {
	// AddSubscription stores a new subscription.
	AddSubscription(ctx context.Context, s domain.Subscription) error
	// LockSubscription returns the subscription, locked, or domain.ErrSubscriptionNotFound.
	LockSubscription(ctx context.Context, id string) (domain.Subscription, error)
	// SaveSubscription stores a subscription's secrets, rotation and active flag.
	SaveSubscription(ctx context.Context, s domain.Subscription) error
	// ActiveSubscriptions returns the subscriptions that take new events.
	ActiveSubscriptions(ctx context.Context) ([]domain.Subscription, error)
	// AddDeliveries queues deliveries; one a subscription already has for the event is
	// left out. It returns how many it queued.
	AddDeliveries(ctx context.Context, ds []domain.WebhookDelivery) (int, error)
	// DueDeliveries locks up to limit PENDING deliveries of active subscriptions due at
	// now, oldest due first, skipping those another transaction holds, each with its
	// subscription.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]DueDelivery, error)
	// ClaimDelivery counts an attempt about to be made and pushes the delivery's due time
	// to leaseUntil (a crash before its outcome is recorded retries it then); it returns
	// the attempt's number.
	ClaimDelivery(ctx context.Context, id string, leaseUntil time.Time) (int, error)
	// RecordAttempt logs an attempt and sets the delivery's status (and, PENDING, its
	// next attempt) if the attempt is still its latest claim; it reports whether it was.
	RecordAttempt(ctx context.Context, id string, a domain.WebhookAttempt, status domain.DeliveryStatus, next time.Time) (bool, error)
	// ReplayDelivery makes a delivery PENDING, due at now, with a fresh attempt budget,
	// and returns it; domain.ErrDeliveryNotFound.
	ReplayDelivery(ctx context.Context, id string, now time.Time) (domain.WebhookDelivery, error)
	// ReplayFailed does so for every FAILED delivery of a subscription created at or
	// after since, and returns how many.
	ReplayFailed(ctx context.Context, subscriptionID string, since, now time.Time) (int, error)
	// RedactDeliveries replaces the bodies of the members' deliveries by bodies without
	// data and returns how many it changed.
	RedactDeliveries(ctx context.Context, memberIDs []string) (int, error)
	// AddCRMUpdate stores an update under its key unless the key is taken (then waiting
	// for whoever holds it), and returns the update stored under the key and its request
	// hash; stored reports whether this call stored it.
	AddCRMUpdate(ctx context.Context, u domain.CRMUpdate, hash string) (first domain.CRMUpdate, firstHash string, stored bool, err error)
	// LinkCase sets a case's reference in an external system.
	LinkCase(ctx context.Context, caseID string, l domain.CRMLink) error
}

// HookStore reads subscriptions, the delivery log and CRM updates.
type HookStore interface {
	// Subscriptions returns every subscription, newest first.
	Subscriptions(ctx context.Context) ([]domain.Subscription, error)
	// Subscription returns one, or domain.ErrSubscriptionNotFound.
	Subscription(ctx context.Context, id string) (domain.Subscription, error)
	// WebhookDeliveries returns up to limit deliveries of a subscription, newest first,
	// after the cursor, with their attempts; FAILED only when failedOnly.
	WebhookDeliveries(ctx context.Context, subscriptionID string, failedOnly bool, after *DeliveryCursor, limit int) ([]domain.WebhookDelivery, error)
	// CRMLinks returns a case's external references.
	CRMLinks(ctx context.Context, caseID string) ([]domain.CRMLink, error)
	// CRMUpdates returns the updates CRMs sent about a case, oldest first.
	CRMUpdates(ctx context.Context, caseID string) ([]domain.CRMUpdate, error)
}

// DeliveryCursor is where a page of deliveries, newest first, ends.
type DeliveryCursor struct {
	CreatedAt  time.Time
	DeliveryID string
}

// DueDelivery is a delivery due for an attempt and its subscription.
type DueDelivery struct {
	domain.WebhookDelivery
	Subscription domain.Subscription
}

// WebhookSender posts a webhook call signed with every secret (Standard Webhooks
// headers, the event id as webhook-id). It returns the receiver's HTTP status, or an
// error when there was no answer.
type WebhookSender interface {
	Send(ctx context.Context, url string, secrets []string, eventID string, body []byte) (int, error)
}

// HookConfig are the settings of webhooks.
type HookConfig struct {
	MaxAttempts int
	Backoff     time.Duration
	BackoffMax  time.Duration
	// Lease: a claimed attempt whose outcome is not recorded by then is made again.
	Lease time.Duration
	// Parallel is how many calls are made at once.
	Parallel int
	// AllowLoopbackHTTP takes http:// URLs to loopback hosts (development).
	AllowLoopbackHTTP bool
}

// HookDeps are what the webhook use cases need besides the store.
type HookDeps struct {
	Sender    WebhookSender
	NewSecret func() (string, error)
	Config    HookConfig
	Clock     func() time.Time
	NewID     func() string
	// Observe is told each recorded call and the delivery's status after it, inside the
	// transaction that records it; nil: nobody.
	Observe func(ctx context.Context, status domain.DeliveryStatus)
}

// HookCommands are the webhook and CRM commands.
type HookCommands struct {
	CreateSubscription  CreateSubscription
	RotateSecret        RotateSecret
	DisableSubscription DisableSubscription
	ReplayDelivery      ReplayDelivery
	ReplayFailed        ReplayFailed
	EnqueueWebhooks     EnqueueWebhooks
	SendWebhooks        *SendWebhooks
	UpdateCaseFromCRM   UpdateCaseFromCRM
	RedactWebhooks      RedactWebhooks
}

// HookQueries read them.
type HookQueries struct {
	ListSubscriptions ListSubscriptions
	ListDeliveries    ListWebhookDeliveries
	ListCrmUpdates    ListCrmUpdates
}

// NewHooks wires the webhook and CRM use cases; cmds are the application's commands
// (a CRM's status moves the case with them).
func NewHooks(store Store, cmds Commands, d HookDeps) (HookCommands, HookQueries) {
	if d.Config.MaxAttempts < 1 {
		d.Config.MaxAttempts = 1
	}
	if d.Config.Parallel < 1 {
		d.Config.Parallel = 1
	}
	if d.Observe == nil {
		d.Observe = func(context.Context, domain.DeliveryStatus) {}
	}
	return HookCommands{
			CreateSubscription:  CreateSubscription{store: store, d: d},
			RotateSecret:        RotateSecret{store: store, d: d},
			DisableSubscription: DisableSubscription{store: store},
			ReplayDelivery:      ReplayDelivery{store: store, clock: d.Clock},
			ReplayFailed:        ReplayFailed{store: store, clock: d.Clock},
			EnqueueWebhooks:     EnqueueWebhooks{store: store, clock: d.Clock, newID: d.NewID},
			SendWebhooks:        &SendWebhooks{store: store, sender: d.Sender, cfg: d.Config, clock: d.Clock, observe: d.Observe},
			UpdateCaseFromCRM: UpdateCaseFromCRM{
				store: store, resolve: cmds.ResolveCase, transition: cmds.TransitionCase, addNote: cmds.AddNote, clock: d.Clock,
			},
			RedactWebhooks: RedactWebhooks{store: store},
		}, HookQueries{
			ListSubscriptions: ListSubscriptions{store: store},
			ListDeliveries:    ListWebhookDeliveries{store: store},
			ListCrmUpdates:    ListCrmUpdates{store: store},
		}
}
