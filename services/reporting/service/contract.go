package service

import (
	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/services/reporting/internal/convert"
	"github.com/treue/treue/services/reporting/internal/ports/events"
)

// Contract is what reporting declares about events: it produces none and consumes what
// its consumers' routes take.
func Contract() (bus.Contract, error) {
	return bus.NewContract(Name, convert.Produces, events.Consumers(nil))
}
