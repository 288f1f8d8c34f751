package service

import (
	"github.com/treue/treue/pkg/bus"

	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/ports/events"
)

// Contract is the events the service produces and consumes.
func Contract() (bus.Contract, error) {
	return bus.NewContract(Name, convert.Produces, append(events.Consumers(nil), events.HookConsumers(nil)...))
}
