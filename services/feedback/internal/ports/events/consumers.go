// Package events is the feedback service's consumers: typed subscriptions that turn a
// batch of delivered events into one use-case call, inside the consumer's transaction.
// The bus has already checked each event's type, subject and contract rules.
package events

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/domain"
	"github.com/treue/treue/services/feedback/internal/ports/metrics"
)

// Durable consumer names: permanent (renaming one re-consumes its stream).
const (
	ConsumerSurvey  = "feedback-survey"
	ConsumerMembers = "feedback-members"
	// ConsumerReferralCodes keeps the members' referral codes (a consumer of its own, so
	// that the erasure consumer's position does not move).
	ConsumerReferralCodes = "feedback-referral-codes"
	// ConsumerPoints keeps the members' points and loyalty events (points, tier changes) (a consumer of its own,
	// so that it reads the ledger's stream from its start).
	ConsumerPoints = "feedback-points"
	// ConsumerTimeline keeps the members' responses for their timeline.
	ConsumerTimeline = "feedback-timeline"
)

// Consumers returns the service's consumers calling a. The routes only capture a, so
// a nil a gives the consumers' contract.
func Consumers(a *app.Application) []bus.ConsumerConfig {
	return []bus.ConsumerConfig{
		{Name: ConsumerSurvey, Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*surveyv1.ResponseSubmitted]) error {
				opened, err := a.Commands.RouteResponses.Handle(ctx, each(ds, convert.Response))
				// A response the domain refuses is refused again on every retry.
				if errors.Is(err, domain.ErrInvalidResponse) {
					return bus.Permanent(err)
				}
				if err == nil {
					metrics.CasesOpened(ctx, opened)
				}
				return err
			}),
		}},
		{Name: ConsumerMembers, Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberErased]) error {
				_, err := a.Commands.EraseMembers.Handle(ctx, each(ds, convert.ErasedMember))
				return err
			}),
			// The member copy routing reads (tier); erasure deletes it.
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberEnrolled]) error {
				return a.Commands.SyncMembers.Handle(ctx, each(ds, convert.MemberEnrolled))
			}),
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberUpdated]) error {
				return a.Commands.SyncMembers.Handle(ctx, each(ds, convert.MemberUpdated))
			}),
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberTierChanged]) error {
				return a.Commands.SyncMembers.Handle(ctx, each(ds, convert.MemberTierChanged))
			}),
		}},
		{Name: ConsumerReferralCodes, Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberEnrolled]) error {
				return a.Commands.Loop.KeepReferralCodes.Handle(ctx, each(ds, convert.EnrolledReferralCode))
			}),
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberUpdated]) error {
				return a.Commands.Loop.KeepReferralCodes.Handle(ctx, each(ds, convert.UpdatedReferralCode))
			}),
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberErased]) error {
				return a.Commands.Loop.ForgetReferralCodes.Handle(ctx, each(ds, convert.ErasedMember))
			}),
		}},
		{Name: ConsumerPoints, Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsCredited]) error {
				return a.Commands.Loop.KeepMemberEvents.Handle(ctx, each(ds, convert.PointsCredited))
			}),
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.PointsDebited]) error {
				return a.Commands.Loop.KeepMemberEvents.Handle(ctx, each(ds, convert.PointsDebited))
			}),
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberTierChanged]) error {
				return a.Commands.Loop.KeepMemberEvents.Handle(ctx, each(ds, convert.TierChangedEvent))
			}),
		}},
		{Name: ConsumerTimeline, Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*surveyv1.ResponseSubmitted]) error {
				return a.Commands.Loop.KeepMemberEvents.Handle(ctx, each(ds, convert.ResponseEvent))
			}),
		}},
	}
}

// each converts the events of a batch.
func each[T proto.Message, D any](ds []bus.Delivery[T], conv func(T) D) []D {
	out := make([]D, len(ds))
	for i, d := range ds {
		out[i] = conv(d.Event)
	}
	return out
}
