// Package convert is reporting's one converter package: the events it reads, into domain
// facts, and the figures it answers with, into gRPC messages. Generated types meet the
// domain here and nowhere else.
package convert

import (
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Produces lists the event types reporting emits: none. It reads every stream and
// answers over gRPC and HTTP.
var Produces []proto.Message

// timeOf returns the time ts holds, or the zero time for none (or one outside what a
// Timestamp may hold), which the domain refuses where a time is needed.
func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil || !ts.IsValid() {
		return time.Time{}
	}
	return ts.AsTime()
}

// protoEnum is a generated enum type.
type protoEnum interface {
	~int32
	String() string
}

// enumName returns an enum value's name without its prefix, or "" for the unspecified
// value, so that an event that does not know it does not overwrite what another said.
func enumName[E protoEnum](e E, prefix string) string {
	if e == 0 {
		return ""
	}
	return strings.TrimPrefix(e.String(), prefix)
}
