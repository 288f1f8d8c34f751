package testkit

import (
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
)

// EventTypes returns the full names of the event types of specs (a contract's Produces
// or Consumes), sorted: what a contract test compares with the types it expects.
func EventTypes(specs []bus.EventSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = string(s.Type)
	}
	slices.Sort(out)
	return out
}

// TypeNames returns the full names of msgs' types, sorted, to compare with EventTypes.
func TypeNames(msgs ...proto.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = typeName(m)
	}
	slices.Sort(out)
	return out
}
