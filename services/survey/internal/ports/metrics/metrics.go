// Package metrics is the survey's business counters: invitations created and
// suppressed, responses received. The ports count what a use case returned it did;
// telemetry.Counter holds the count back until the transaction commits, so a
// rolled-back batch counts nothing and a redelivered event (skipped by the inbox) is not
// counted twice.
package metrics

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/telemetry"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

var (
	invited = telemetry.NewCounter("treue.survey.invitations.created",
		"Invitations created: a trigger earned one and its link was announced (survey.invitation.created) for delivery.", "{invitation}")
	suppressed = telemetry.NewCounter("treue.survey.invitations.suppressed",
		"Triggers of known members that earned no invitation: no consent, asked recently, another trigger in the batch, or erased.", "{trigger}")
	responses = telemetry.NewCounter("treue.survey.responses.received",
		"Survey responses received, by kind of score (nps, csat, ces), class (NPS: promoter, passive, detractor; CSAT: satisfied, unsatisfied; CES: low_effort, high_effort) and touchpoint.", "{response}")
)

// Evaluated counts what an evaluation of triggers came to.
func Evaluated(ctx context.Context, e app.Evaluated) {
	invited.Add(ctx, int64(e.Invited))
	suppressed.Add(ctx, int64(e.Suppressed))
}

// ResponseReceived counts a response recorded.
func ResponseReceived(ctx context.Context, r domain.Response) {
	kind, class := "nps", strings.ToLower(string(r.Class))
	switch r.ScoreKind {
	case domain.ScoreCSAT:
		kind, class = "csat", "unsatisfied"
		if r.CSATSatisfied {
			class = "satisfied"
		}
	case domain.ScoreCES:
		kind, class = "ces", "high_effort"
		if r.CESLowEffort {
			class = "low_effort"
		}
	}
	responses.Add(ctx, 1, attribute.String("kind", kind), attribute.String("class", class),
		attribute.String("touchpoint", strings.ToLower(string(r.Touchpoint))))
}
