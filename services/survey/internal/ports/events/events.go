// Package events is the survey's inbound port for events: its durable consumers and
// their typed routes. The bus has already checked each event's type, subject and rules;
// a route converts the batch and calls one command, which joins the consumer's
// transaction.
package events

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/convert"
	"github.com/treue/treue/services/survey/internal/domain"
	"github.com/treue/treue/services/survey/internal/ports/metrics"
)

// Durable consumer names (permanent: renaming one re-consumes its stream).
const (
	ConsumerMembers    = "survey-members"
	ConsumerPOS        = "survey-pos"
	ConsumerTouchpoint = "survey-touchpoint"
	// ConsumerMatched takes purchases the ledger matched to a member (by card).
	ConsumerMatched = "survey-purchase-matched"
	// ConsumerReturns takes returns, which cancel the invitations of their purchases.
	ConsumerReturns = "survey-returns"
	// ConsumerCases follows feedback cases (no survey while one is open).
	ConsumerCases = "survey-cases"
)

// Consumers are the survey's consumers. The routes only capture a; a nil a builds them
// for the contract.
func Consumers(a *app.Application) []bus.ConsumerConfig {
	return []bus.ConsumerConfig{
		{Name: ConsumerMembers, Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberEnrolled]) error {
				in := make([]app.EnrolledMember, len(ds))
				for i, d := range ds {
					in[i] = app.EnrolledMember{Member: convert.Member(d.Event), Profile: convert.EnrolledProfile(d.Event), Trace: d.Context()}
				}
				out, err := a.Commands.EnrollMembers.Handle(ctx, in)
				if err == nil {
					metrics.Evaluated(ctx, out)
				}
				return err
			}),
			// A change of consent updates the copy as an enrolment does (the later wins).
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberConsentChanged]) error {
				in := make([]app.EnrolledMember, len(ds))
				for i, d := range ds {
					in[i] = app.EnrolledMember{Member: convert.ConsentChange(d.Event), Trace: d.Context()}
				}
				out, err := a.Commands.EnrollMembers.Handle(ctx, in)
				if err == nil {
					metrics.Evaluated(ctx, out)
				}
				return err
			}),
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberUpdated]) error {
				us := make([]app.MemberUpdate, len(ds))
				for i, d := range ds {
					us[i] = convert.MemberUpdate(d.Event)
				}
				return a.Commands.Triggers.UpdateMembers.Handle(ctx, us)
			}),
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberTierChanged]) error {
				us := make([]app.MemberUpdate, len(ds))
				for i, d := range ds {
					us[i] = convert.TierChange(d.Event)
				}
				return a.Commands.Triggers.UpdateMembers.Handle(ctx, us)
			}),
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberErased]) error {
				ids := make([]string, len(ds))
				for i, d := range ds {
					ids[i] = d.Event.GetMemberId()
				}
				return a.Commands.EraseMembers.Handle(ctx, ids)
			}),
		}},
		// A member's purchase may earn them an invitation; a purchase whose member id is
		// not a member's (a card number) comes back matched by the ledger.
		{Name: ConsumerPOS, Routes: []bus.Route{triggers(a, func(_ string, e *posv1.PurchaseRecorded) (domain.Trigger, bool, error) {
			t, ok := convert.PurchaseTrigger(e)
			return t, ok, nil
		})}},
		// So may a service call, a sales call, a web visit, a reward delivered.
		{Name: ConsumerTouchpoint, Routes: []bus.Route{triggers(a, func(_ string, e *touchpointv1.ContactRecorded) (domain.Trigger, bool, error) {
			t, err := convert.ContactTrigger(e)
			return t, err == nil, err
		})}},
		{Name: ConsumerMatched, Routes: []bus.Route{triggers(a, func(id string, e *ledgerv1.PurchaseMatched) (domain.Trigger, bool, error) {
			return convert.MatchedPurchaseTrigger(id, e), true, nil
		})}},
		{Name: ConsumerReturns, Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*posv1.ReturnRecorded]) error {
				keys := make([]string, len(ds))
				for i, d := range ds {
					keys[i] = convert.ReturnKey(d.Event)
				}
				n, err := a.Commands.Triggers.RecordReturns.Handle(ctx, keys)
				if err == nil {
					metrics.Suppressed(ctx, domain.SuppressedReturned, n)
				}
				return err
			}),
		}},
		{Name: ConsumerCases, Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*feedbackv1.CaseOpened]) error {
				cs := make([]app.Case, len(ds))
				for i, d := range ds {
					cs[i] = convert.OpenedCase(d.Event)
				}
				return a.Commands.Triggers.TrackCases.Opened(ctx, cs)
			}),
			// A resolved case lets the member be asked again, and is a touchpoint itself.
			bus.On(func(ctx context.Context, ds []bus.Delivery[*feedbackv1.CaseResolved]) error {
				ids := make([]string, len(ds))
				in := make([]app.Incoming, len(ds))
				for i, d := range ds {
					ids[i] = d.Event.GetCaseId()
					in[i] = app.Incoming{Trigger: convert.CaseResolvedTrigger(d.ID, d.Event), Trace: d.Context()}
				}
				out, err := a.Commands.Triggers.TrackCases.Resolved(ctx, ids, in)
				if err == nil {
					metrics.Evaluated(ctx, out)
				}
				return err
			}),
		}},
	}
}

// triggers routes events of type T, each a possible trigger of an invitation, to
// EvaluateTriggers. An event that converts to no trigger (ok false) is of no concern;
// one that fails to convert can never succeed.
func triggers[T proto.Message](a *app.Application, trigger func(id string, e T) (domain.Trigger, bool, error)) bus.Route {
	return bus.On(func(ctx context.Context, ds []bus.Delivery[T]) error {
		in := make([]app.Incoming, 0, len(ds))
		for _, d := range ds {
			t, ok, err := trigger(d.ID, d.Event)
			if err != nil {
				return bus.Permanent(fmt.Errorf("event %s on %s: %w", d.ID, d.Subject, err))
			}
			if ok {
				in = append(in, app.Incoming{Trigger: t, Trace: d.Context()})
			}
		}
		out, err := a.Commands.EvaluateTriggers.Handle(ctx, in)
		if err == nil {
			metrics.Evaluated(ctx, out) // once the batch commits
		}
		return err
	})
}
