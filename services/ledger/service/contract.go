package service

import (
	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/services/ledger/internal/convert"
	"github.com/treue/treue/services/ledger/internal/ports/events"
)

// Contract is what the ledger produces and consumes, for the system's contract test.
func Contract() (bus.Contract, error) {
	return bus.NewContract(Name, convert.Produces, events.Consumers(nil))
}
