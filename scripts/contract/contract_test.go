// Package contract holds every service's event contract against the others': what is
// consumed is produced by a service (or published by the retailer's systems, as the
// POS and touchpoint contracts document), nothing is produced twice, and every event
// produced carries validation rules on its fields.
package contract

import (
	"testing"

	"github.com/treue/treue/pkg/bus"
	feedback "github.com/treue/treue/services/feedback/service"
	ledger "github.com/treue/treue/services/ledger/service"
	reporting "github.com/treue/treue/services/reporting/service"
	rewards "github.com/treue/treue/services/rewards/service"
	survey "github.com/treue/treue/services/survey/service"
)

func TestEveryConsumedEventIsProduced(t *testing.T) {
	var cs []bus.Contract
	for _, contract := range []func() (bus.Contract, error){
		ledger.Contract, survey.Contract, feedback.Contract, rewards.Contract, reporting.Contract,
	} {
		c, err := contract()
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Produces)+len(c.Consumes) == 0 {
			t.Errorf("%s declares no events", c.Service)
		}
		cs = append(cs, c)
	}
	for _, err := range bus.CheckContracts(cs) {
		t.Error(err)
	}
}
