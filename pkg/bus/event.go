package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Header names of every Treue event.
const (
	HeaderMsgID       = nats.MsgIdHdr // "Nats-Msg-Id": the event id
	HeaderContentType = "Content-Type"
	HeaderEventType   = "Treue-Event-Type"

	ContentTypeProto = "application/protobuf"
	ContentTypeJSON  = "application/json"
)

// Message is a delivered event as a handler sees it.
type Message struct {
	// ID is the event id: the Nats-Msg-Id header, or "<stream>:<sequence>" when the
	// publisher sent none.
	ID string
	// Subject is outside the namespace.
	Subject     string
	Type        string
	ContentType string
	Data        []byte
	Header      nats.Header
	// Deliveries counts deliveries of this message, 1 on the first.
	Deliveries uint64
	Stream     string
	StreamSeq  uint64

	ctx context.Context
	// route and body: the typed subscription that takes the message and the decoded
	// event; poison: why the message breaks the contract.
	route   *Route
	body    proto.Message
	poison  error
	refused error
}

// Refuse marks the message as one no retry can cure (a purchase in a currency the
// programme does not take, say): the handler leaves it out of its work and returns nil
// for the rest of the batch, and the consumer writes the message's dead letter in the
// batch's transaction. A handler that cannot tell which message is at fault returns an
// error instead, and the batch is retried message by message.
func (m *Message) Refuse(err error) {
	if err == nil {
		err = errors.New("refused")
	}
	m.refused = err
}

// Refused is the reason the handler gave Refuse, or nil.
func (m *Message) Refused() error { return m.refused }

// Context carries the trace of the event's publisher; pass it to what the handler
// writes, so the outbox events it causes continue the trace.
func (m *Message) Context() context.Context {
	if m.ctx == nil {
		return context.Background()
	}
	return m.ctx
}

// decode unmarshals the payload into msg, as protobuf or, with Content-Type
// application/json, as protojson. A payload that cannot be decoded is a Permanent error:
// no retry makes it decodable.
func (m *Message) decode(msg proto.Message) error {
	var err error
	switch m.ContentType {
	case "", ContentTypeProto, "application/x-protobuf":
		err = proto.Unmarshal(m.Data, msg)
	case ContentTypeJSON:
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(m.Data, msg)
	default:
		err = fmt.Errorf("unsupported Content-Type %q", m.ContentType)
	}
	if err != nil {
		return Permanent(fmt.Errorf("decode %s as %s: %w", m.Subject, msg.ProtoReflect().Descriptor().FullName(), err))
	}
	return nil
}

// PermanentError marks an error that no retry can cure (a malformed or invalid event):
// the message goes to the dead letters at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is, or wraps, a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
