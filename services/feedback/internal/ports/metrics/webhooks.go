package metrics

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/telemetry"
)

var webhookAttempts = telemetry.NewCounter("treue.feedback.webhook.attempts",
	"Webhook calls made, by the delivery's state after the call (delivered, pending: retried later, failed: given up).", "{call}")

// WebhookAttempt counts one webhook call after which the delivery is in status.
func WebhookAttempt(ctx context.Context, status string) {
	webhookAttempts.Add(ctx, 1, attribute.String("outcome", strings.ToLower(status)))
}
