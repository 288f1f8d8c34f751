package metrics

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/telemetry"
	"github.com/treue/treue/services/survey/internal/domain"
)

var (
	deliveries = telemetry.NewCounter("treue.survey.deliveries",
		"Attempts to deliver an invitation or its reminder, by channel (email, webhook), reminder and outcome (sent, retrying, failed).", "{attempt}")
	heldBack = telemetry.NewCounter("treue.survey.invitations.suppressed_when_due",
		"Scheduled invitations the contact policy held back when they were due, by reason.", "{invitation}")
)

// Delivery counts what the dispatcher did; it implements app.DeliveryObserver.
type Delivery struct{}

// Attempted implements app.DeliveryObserver.
func (Delivery) Attempted(ctx context.Context, ch domain.DeliveryChannel, reminder bool, outcome string) {
	deliveries.Add(ctx, 1, attribute.String("channel", strings.ToLower(string(ch))),
		attribute.Bool("reminder", reminder), attribute.String("outcome", strings.ToLower(outcome)))
}

// SuppressedWhenDue implements app.DeliveryObserver.
func (Delivery) SuppressedWhenDue(ctx context.Context, reason domain.SuppressionReason) {
	heldBack.Add(ctx, 1, attribute.String("reason", strings.ToLower(string(reason))))
}
