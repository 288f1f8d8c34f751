package bus

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// Contract is what one service declares about events: the types it produces and the
// types its consumers take. The system's contract test holds every service's against
// the others'.
type Contract struct {
	Service  string
	Produces []EventSpec
	Consumes []EventSpec
}

// NewContract returns the contract of a service that produces these event types and
// runs these consumers.
func NewContract(service string, produces []proto.Message, consumers []ConsumerConfig) (Contract, error) {
	o, err := NewOutbox(produces...)
	if err != nil {
		return Contract{}, err
	}
	c := Contract{Service: service, Produces: o.Produces()}
	for _, cc := range consumers {
		if len(cc.Routes) == 0 {
			return Contract{}, fmt.Errorf("bus: %s: consumer %s is untyped; declare its routes with bus.On", service, cc.Name)
		}
		for _, r := range cc.Routes {
			c.Consumes = append(c.Consumes, r.spec)
		}
	}
	return c, nil
}
