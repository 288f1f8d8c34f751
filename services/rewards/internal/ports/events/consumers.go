// Package events is the rewards service's consumers: typed subscriptions that hand each
// batch of events to one use case. The bus has already checked each event's type,
// subject and validation rules.
package events

import (
	"context"

	"github.com/treue/treue/pkg/bus"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/convert"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// Durable consumer names. They are permanent: renaming one consumes its stream again
// from the start.
const (
	// ConsumerMembers takes the ledger's member erasures.
	ConsumerMembers = "rewards-members"
)

// Consumers returns the service's durable consumers over application. The routes only
// capture application, so Consumers(nil) describes them for the contract.
func Consumers(application *app.Application) []bus.ConsumerConfig {
	return []bus.ConsumerConfig{{
		Name: ConsumerMembers,
		Routes: []bus.Route{
			bus.On(func(ctx context.Context, ds []bus.Delivery[*ledgerv1.MemberErased]) error {
				erasures := make([]domain.MemberErasure, len(ds))
				for i, d := range ds {
					erasures[i] = convert.MemberErasure(d.Event)
				}
				return application.Commands.EraseMembers.Handle(ctx, erasures)
			}),
		},
	}}
}
