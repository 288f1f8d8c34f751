// Package events is reporting's inbound event port: one durable consumer per stream it
// reads, each with a typed route per event type. The bus has already checked every
// event's type, subject and rules; a route converts a batch and hands it to one command,
// in the consumer's transaction.
package events

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/convert"
	"github.com/treue/treue/services/reporting/internal/domain"
	"github.com/treue/treue/services/reporting/internal/ports/metrics"
)

// Durable consumer names; permanent (renaming one re-consumes its stream).
const (
	ConsumerSurvey   = "reporting-survey"
	ConsumerLedger   = "reporting-ledger"
	ConsumerFeedback = "reporting-feedback"
	ConsumerRewards  = "reporting-rewards"
	// ConsumerMembers takes the ledger's erasures, apart from the points traffic of
	// reporting-ledger (whose filter stays as it was).
	ConsumerMembers = "reporting-members"
	// ConsumerInvitations takes the survey's invitation events for the survey funnel,
	// apart from the responses of reporting-survey (whose filter stays as it was).
	ConsumerInvitations = "reporting-invitations"
	// ConsumerTopics takes feedback's tagged responses for the topic mentions, apart from
	// the cases of reporting-feedback (whose filter stays as it was).
	ConsumerTopics = "reporting-topics"
	// ConsumerCaseLoop takes what happens to a case after it opened (contacts, reopenings,
	// merges, escalations, reminders, follow-up answers, goodwill). A consumer of its own
	// rather than new subjects of reporting-feedback: a durable consumer whose filter
	// widens never delivers the events of the new subjects already in the stream, and the
	// reopenings and merges from before this consumer must correct the cases too. Its
	// changes merge with those of reporting-feedback in any order (domain.CaseChange).
	ConsumerCaseLoop = "reporting-case-loop"
)

// Consumers returns reporting's consumers. The routes only capture a: the contract builds
// them with a nil application, which they touch only when events arrive.
func Consumers(a *app.Application) []bus.ConsumerConfig {
	// Each counts what it recorded once the batch commits.
	responses := func(ctx context.Context, rs []domain.Response) error {
		if err := a.Commands.RecordResponses.Handle(ctx, rs); err != nil {
			return err
		}
		if err := a.Commands.RecordScores.Handle(ctx, rs); err != nil {
			return err
		}
		metrics.Responses(ctx, rs)
		return nil
	}
	points := func(ctx context.Context, ms []domain.PointsMovement) error {
		if err := a.Commands.RecordPointMovements.Handle(ctx, ms); err != nil {
			return err
		}
		metrics.Recorded(ctx, metrics.KindPoints, len(ms))
		return nil
	}
	cases := func(ctx context.Context, cs []domain.CaseChange) error {
		if err := a.Commands.RecordCaseChanges.Handle(ctx, cs); err != nil {
			return err
		}
		metrics.Recorded(ctx, metrics.KindCase, len(cs))
		return nil
	}
	coupons := func(ctx context.Context, es []domain.CouponEvent) error {
		if err := a.Commands.RecordCouponEvents.Handle(ctx, es); err != nil {
			return err
		}
		metrics.Recorded(ctx, metrics.KindCoupon, len(es))
		return nil
	}
	funnel := func(ctx context.Context, es []domain.FunnelEvent) error {
		if err := a.Commands.RecordFunnel.Handle(ctx, es); err != nil {
			return err
		}
		metrics.Recorded(ctx, metrics.KindInvitation, len(es))
		return nil
	}
	topics := func(ctx context.Context, ms []domain.TopicMention) error {
		if err := a.Commands.RecordTopics.Handle(ctx, ms); err != nil {
			return err
		}
		metrics.Recorded(ctx, metrics.KindTopics, len(ms))
		return nil
	}
	erasures := func(ctx context.Context, ids []string) error {
		return a.Commands.EraseMembers.Handle(ctx, ids)
	}
	return []bus.ConsumerConfig{
		{Name: ConsumerSurvey, Routes: []bus.Route{
			on(body(convert.ResponseSubmitted), responses),
		}},
		// Counters only add up: a batch's credits, debits and captures are counted with
		// one statement each, whatever their order (Unordered), not one per run.
		{Name: ConsumerLedger, Unordered: true, Routes: []bus.Route{
			on(body(convert.PointsCredited), points),
			on(body(convert.PointsDebited), points),
			on(body(convert.HoldCaptured), points),
		}},
		// In stream order: of two events that say one thing of a case, the later wins.
		{Name: ConsumerFeedback, Routes: []bus.Route{
			on(body(convert.CaseOpened), cases),
			on(body(convert.CaseResolved), cases),
		}},
		// Every change of a case merges whatever its order (domain.MergeCaseChanges), so
		// a batch is applied by event type (Unordered).
		{Name: ConsumerCaseLoop, Unordered: true, Routes: []bus.Route{
			on(body(convert.CaseContacted), cases),
			on(body(convert.CaseReopened), cases),
			on(body(convert.CaseWaiting), cases),
			on(body(convert.CaseResumed), cases),
			on(body(convert.CasesMerged), cases),
			on(body(convert.CaseEscalated), cases),
			on(body(convert.CaseReminder), cases),
			on(body(convert.CaseFollowUpReceived), cases),
			on(body(convert.GoodwillGranted), cases),
			on(body(convert.GoodwillRewardIssued), cases),
		}},
		{Name: ConsumerRewards, Unordered: true, Routes: []bus.Route{
			on(issued, coupons),
			on(body(convert.CouponRedeemed), coupons),
		}},
		// Counters only add up.
		{Name: ConsumerInvitations, Unordered: true, Routes: []bus.Route{
			on(body(convert.InvitationCreated), funnel),
			on(body(convert.InvitationSent), funnel),
			on(body(convert.InvitationSuppressed), funnel),
			on(body(convert.InvitationDeliveryFailed), funnel),
		}},
		// Counters only add up.
		{Name: ConsumerTopics, Unordered: true, Routes: []bus.Route{
			on(body(convert.ResponseTagged), topics),
		}},
		{Name: ConsumerMembers, Routes: []bus.Route{
			on(erased, erasures),
		}},
	}
}

// on routes events of type T: each converted into a domain fact, the batch handed to
// handle. A fact the domain refuses can never be counted: its event goes to the dead
// letters with the reason, and the rest of its batch is applied without it.
func on[T proto.Message, F any](conv func(bus.Delivery[T]) (F, error), handle func(context.Context, []F) error) bus.Route {
	return bus.On(func(ctx context.Context, ds []bus.Delivery[T]) error {
		facts := make([]F, len(ds))
		for i, d := range ds {
			f, err := conv(d)
			if err != nil {
				return bus.Permanent(fmt.Errorf("event %s on %s: %w", d.ID, d.Subject, err))
			}
			facts[i] = f
		}
		return handle(ctx, facts)
	})
}

// body converts a delivery by its event alone.
func body[T proto.Message, F any](conv func(T) (F, error)) func(bus.Delivery[T]) (F, error) {
	return func(d bus.Delivery[T]) (F, error) { return conv(d.Event) }
}

// issued dates a coupon issued by its event's id: the event carries no time.
func issued(d bus.Delivery[*rewardsv1.CouponIssued]) (domain.CouponEvent, error) {
	return convert.CouponIssued(d.ID), nil
}

// erased is the member an erasure names.
func erased(d bus.Delivery[*ledgerv1.MemberErased]) (string, error) {
	return convert.MemberErased(d.Event), nil
}
