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
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
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
)

// Consumers are the survey's consumers. The routes only capture a; a nil a builds them
// for the contract.
func Consumers(a *app.Application) []bus.ConsumerConfig {
	return []bus.ConsumerConfig{
		{Name: ConsumerMembers, Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberEnrolled]) error {
				in := make([]app.EnrolledMember, len(ds))
				for i, d := range ds {
					in[i] = app.EnrolledMember{Member: convert.Member(d.Event), Trace: d.Context()}
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
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberErased]) error {
				ids := make([]string, len(ds))
				for i, d := range ds {
					ids[i] = d.Event.GetMemberId()
				}
				return a.Commands.EraseMembers.Handle(ctx, ids)
			}),
		}},
		// A member's purchase may earn them an invitation.
		{Name: ConsumerPOS, Routes: []bus.Route{triggers(a, convert.PurchaseTrigger)}},
		// So may a service call, a sales call or a web visit.
		{Name: ConsumerTouchpoint, Routes: []bus.Route{triggers(a, convert.ContactTrigger)}},
	}
}

// triggers routes events of type T, each a possible trigger of an invitation, to
// EvaluateTriggers. An event that converts to no trigger can never succeed.
func triggers[T proto.Message](a *app.Application, trigger func(T) (domain.Trigger, error)) bus.Route {
	return bus.On(func(ctx context.Context, ds []bus.Delivery[T]) error {
		in := make([]app.Incoming, len(ds))
		for i, d := range ds {
			t, err := trigger(d.Event)
			if err != nil {
				return bus.Permanent(fmt.Errorf("event %s on %s: %w", d.ID, d.Subject, err))
			}
			in[i] = app.Incoming{Trigger: t, Trace: d.Context()}
		}
		out, err := a.Commands.EvaluateTriggers.Handle(ctx, in)
		if err == nil {
			metrics.Evaluated(ctx, out) // once the batch commits
		}
		return err
	})
}
