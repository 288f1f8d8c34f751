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
	// Durables are the service's durable consumers: what its NATS credentials must be
	// allowed to create, pull from and ack on.
	Durables []Durable
}

// Durable is one durable consumer of a contract: its name (outside any namespace) and
// the stream it reads.
type Durable struct {
	Name   string
	Stream StreamSpec
	// External: the stream carries the retailer's events, which no Treue service
	// produces, so its consumers keep its configuration up to date (EnsureStreams);
	// another service's stream is only created when missing (EnsureStreamsExist).
	External bool
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
		d := Durable{Name: cc.Name, Stream: cc.Routes[0].spec.Stream}
		for _, r := range cc.Routes {
			c.Consumes = append(c.Consumes, r.spec)
			d.External = d.External || r.spec.External
		}
		c.Durables = append(c.Durables, d)
	}
	return c, nil
}
