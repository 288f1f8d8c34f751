package telemetry

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Meter is the meter every Treue package records with. Instruments made from it before
// the service installs its meter provider start recording once it does.
func Meter() metric.Meter { return otel.Meter("github.com/treue/treue") }

var refusals = sync.OnceValue(func() metric.Int64Counter {
	c, _ := Meter().Int64Counter("treue.security.refusals",
		metric.WithDescription("Requests refused for security reasons, by kind (unknown_key, revoked_key, store_scope, coupon_lockout, login_failed, ...)."),
		metric.WithUnit("{refusal}"))
	return c
})

// Refused counts one request refused for a security reason, so an operator sees attacks
// and misconfigured clients in treue_security_refusals_total{kind=...}.
func Refused(ctx context.Context, kind string) {
	refusals().Add(ctx, 1, metric.WithAttributes(attribute.String("kind", kind)))
}
