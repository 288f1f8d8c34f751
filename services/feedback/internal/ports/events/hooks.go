package events

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// Durable consumer names of webhooks: permanent.
const (
	ConsumerWebhooksFeedback = "feedback-webhooks-feedback"
	ConsumerWebhooksSurvey   = "feedback-webhooks-survey"
	ConsumerWebhooksMembers  = "feedback-webhooks-members"
)

// HookConsumers fan events out to webhook subscriptions: every event the service
// produces (convert.Produces, all on the FEEDBACK stream: a new event type is delivered
// without more code) and submitted survey responses. A nil a gives the consumers'
// contract.
func HookConsumers(a *app.Application) []bus.ConsumerConfig {
	own := make([]bus.Route, 0, len(convert.Produces))
	for _, p := range convert.Produces {
		own = append(own, bus.OnMessage(p, func(ctx context.Context, ds []bus.Delivery[proto.Message]) error {
			return enqueueHooks(ctx, a, ds)
		}))
	}
	return []bus.ConsumerConfig{
		{Name: ConsumerWebhooksFeedback, Routes: own},
		{Name: ConsumerWebhooksSurvey, Routes: []bus.Route{hookRoute[*surveyv1.ResponseSubmitted](a)}},
		// An erased member's data leaves the deliveries' bodies.
		{Name: ConsumerWebhooksMembers, Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberErased]) error {
				_, err := a.Commands.Hooks.RedactWebhooks.Handle(ctx, each(ds, convert.ErasedMember))
				return err
			}),
		}},
	}
}

// hookRoute queues the webhook deliveries of events of type T.
func hookRoute[T proto.Message](a *app.Application) bus.Route {
	return bus.On(func(ctx context.Context, ds []bus.Delivery[T]) error { return enqueueHooks(ctx, a, ds) })
}

func enqueueHooks[T proto.Message](ctx context.Context, a *app.Application, ds []bus.Delivery[T]) error {
	evs := make([]domain.HookEvent, 0, len(ds))
	for _, d := range ds {
		e, err := convert.HookEvent(d.ID, d.Subject, d.Event)
		if err != nil {
			return bus.Permanent(err)
		}
		evs = append(evs, e)
	}
	_, err := a.Commands.Hooks.EnqueueWebhooks.Handle(ctx, evs)
	return err
}
