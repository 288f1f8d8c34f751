// Package events is the ledger's consumers: one typed route per event type it takes. The
// bus has decoded each event and checked its type, subject, store key and validation
// rules; a route converts a batch of deliveries and calls one command for all of them,
// inside the consumer's transaction.
package events

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/convert"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/ports/metrics"
)

// Durable consumer names. They are permanent: renaming one re-consumes its stream.
const (
	ConsumerPOS     = "ledger-pos"
	ConsumerSurvey  = "ledger-survey"
	ConsumerRewards = "ledger-rewards"
	// ConsumerUnsubscribe takes the survey's unsubscribes (a consumer of its own: the
	// survey bonus consumer's position must not move).
	ConsumerUnsubscribe = "ledger-survey-unsubscribe"
	// ConsumerGoodwill books the goodwill resolved feedback cases granted.
	ConsumerGoodwill = "ledger-goodwill"
)

// Consumers are the ledger's durable consumers, calling the commands of a; those of a
// nil application describe the contract (Contract) and must not run.
func Consumers(a *app.Application) []bus.ConsumerConfig {
	r := newRoutes(a)
	return []bus.ConsumerConfig{
		// The whole POS stream, unfiltered: a consumer with several subject filters costs
		// the server noticeably more per message, and the ledger wants all of it. The bus
		// hands purchases and returns over in runs, in stream order, so a return finds
		// the purchase published before it. One batch at a time: a batch locks the
		// balance rows of its members, so a second concurrent batch would mostly wait for
		// them (measured: no gain). For the same reasons one replica at a time takes the
		// stream (Exclusive), the others standing by: replicas sharing it batch by batch
		// would see a return before its purchase whenever the two fell in concurrent
		// batches, and the return would wait out its back-off.
		{Name: ConsumerPOS, WholeStream: true, Exclusive: true, Routes: []bus.Route{bus.On(r.purchases), bus.On(r.returns), bus.On(r.custom)}},
		{Name: ConsumerSurvey, Routes: []bus.Route{bus.On(r.responses)}},
		{Name: ConsumerUnsubscribe, Routes: []bus.Route{bus.On(r.unsubscribed)}},
		// Completions and cancellations in the order the redemptions happened.
		{Name: ConsumerRewards, Routes: []bus.Route{bus.On(r.completed), bus.On(r.cancelled)}},
		// A grant beyond the goodwill budget is a rule of the programme, not poison: it is
		// recorded and announced (ledger.goodwill.refused), never dead-lettered.
		{Name: ConsumerGoodwill, Routes: []bus.Route{bus.On(r.goodwill)}},
	}
}

// routes are the handlers of the events the ledger consumes.
type routes struct {
	purchases    func(context.Context, []bus.Delivery[*posv1.PurchaseRecorded]) error
	returns      func(context.Context, []bus.Delivery[*posv1.ReturnRecorded]) error
	custom       func(context.Context, []bus.Delivery[*posv1.CustomEventRecorded]) error
	responses    func(context.Context, []bus.Delivery[*surveyv1.ResponseSubmitted]) error
	unsubscribed func(context.Context, []bus.Delivery[*surveyv1.MemberUnsubscribed]) error
	completed    func(context.Context, []bus.Delivery[*rewardsv1.RedemptionCompleted]) error
	cancelled    func(context.Context, []bus.Delivery[*rewardsv1.RedemptionCancelled]) error
	goodwill     func(context.Context, []bus.Delivery[*feedbackv1.GoodwillGranted]) error
}

func newRoutes(a *app.Application) routes {
	if a == nil {
		// For the contract: routes are described, never called.
		a = &app.Application{}
	}
	c := a.Commands
	return routes{
		purchases: refusing(event(convert.Purchase), c.RecordPurchases.Handle, metrics.PurchasesBooked),
		// A return's deliveries count: it waits a few for its purchase.
		returns: refusing(func(d bus.Delivery[*posv1.ReturnRecorded]) domain.Return {
			return convert.Return(d.Event, d.Deliveries)
		}, c.RecordReturns.Handle, metrics.ReturnsBooked),
		custom:       handler(event(convert.CustomEvent), counted(c.RecordCustomEvents.Handle, metrics.CustomEventPoints)),
		responses:    handler(event(convert.SurveyResponse), counted(c.CreditSurveyBonuses.Handle, metrics.SurveyBonusCredited)),
		unsubscribed: handler(event(convert.Unsubscribe), c.UnsubscribeSurveys.Handle),
		completed:    handler(event(convert.RedemptionCompleted), counted(c.CompleteRedemptions.Handle, metrics.PointsRedeemed)),
		cancelled:    handler(event(convert.RedemptionCancelled), c.CancelRedemptions.Handle),
		goodwill:     handler(event(convert.GoodwillGrant), counted(c.GrantGoodwill.Handle, metrics.GoodwillBooked)),
	}
}

// handler converts a run of deliveries with conv and hands them to handle in one call.
func handler[T proto.Message, D any](conv func(bus.Delivery[T]) D, handle func(context.Context, []D) error) func(context.Context, []bus.Delivery[T]) error {
	return func(ctx context.Context, ds []bus.Delivery[T]) error {
		items := make([]D, len(ds))
		for i, d := range ds {
			items[i] = conv(d)
		}
		return permanent(handle(ctx, items))
	}
}

// counted is handle with the points it booked counted once the batch commits.
func counted[D any](handle func(context.Context, []D) (int64, error), count func(context.Context, int64)) func(context.Context, []D) error {
	return func(ctx context.Context, items []D) error {
		points, err := handle(ctx, items)
		if err == nil {
			count(ctx, points)
		}
		return err
	}
}

// refusing is handler for a command that books what the programme's rules admit and
// returns the rest as refusals: each refused delivery is dead-lettered in the batch's
// transaction while the others are booked, so poison never makes a batch retry.
// What was booked is counted once the batch commits.
func refusing[T proto.Message, D any](conv func(bus.Delivery[T]) D, handle func(context.Context, []D) (app.Booked, error),
	count func(ctx context.Context, sales int, points int64)) func(context.Context, []bus.Delivery[T]) error {
	return func(ctx context.Context, ds []bus.Delivery[T]) error {
		items := make([]D, len(ds))
		for i, d := range ds {
			items[i] = conv(d)
		}
		booked, err := handle(ctx, items)
		if err != nil {
			return permanent(err)
		}
		for i, reason := range booked.Refusals {
			ds[i].Refuse(reason)
		}
		count(ctx, booked.Sales, booked.Points)
		return nil
	}
}

// event converts a delivery by its event alone.
func event[T proto.Message, D any](conv func(T) D) func(bus.Delivery[T]) D {
	return func(d bus.Delivery[T]) D { return conv(d.Event) }
}

// permanent marks the refusals that no retry can cure: a purchase or return the
// programme's rules refuse, a completed redemption whose hold cannot be captured. The
// consumer retries a failed batch message by message, so alone such an error names the
// event at fault, and that event goes to the dead letters at its first delivery.
func permanent(err error) error {
	if errors.Is(err, domain.ErrRefused) || errors.Is(err, domain.ErrRedemptionHold) {
		return bus.Permanent(err)
	}
	return err
}
