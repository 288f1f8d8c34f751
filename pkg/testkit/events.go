package testkit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
)

// Raw is an event as bytes on the wire. Empty headers are left out, except the id:
// every event has one, so an empty ID gets a fresh UUIDv7.
type Raw struct {
	Subject     string // outside the namespace
	ID          string // Nats-Msg-Id
	ContentType string // Content-Type
	Type        string // Treue-Event-Type
	Data        []byte
}

// Sent is an event the test published: its id and JetStream's ack, which names the
// stream and sequence it was stored at, or says it was dropped as a Duplicate.
type Sent struct {
	ID string
	*jetstream.PubAck
}

// Msg returns m as a NATS message inside the test's namespace.
func (e *Env) Msg(m Raw) *nats.Msg {
	if m.ID == "" {
		m.ID = uuid.Must(uuid.NewV7()).String()
	}
	msg := nats.NewMsg(e.w.ns.Subject(m.Subject))
	msg.Data = m.Data
	msg.Header.Set(bus.HeaderMsgID, m.ID)
	if m.ContentType != "" {
		msg.Header.Set(bus.HeaderContentType, m.ContentType)
	}
	if m.Type != "" {
		msg.Header.Set(bus.HeaderEventType, m.Type)
	}
	return msg
}

// EventMsg returns msg as a producer sends it on subject: protobuf, with its type and id
// ("" for a fresh one) in the contract's headers.
func (e *Env) EventMsg(subject, id string, msg proto.Message) *nats.Msg {
	e.t.Helper()
	data, err := proto.Marshal(msg)
	if err != nil {
		e.t.Fatalf("testkit: encoding %s: %v", subject, err)
	}
	return e.Msg(Raw{Subject: subject, ID: id, ContentType: bus.ContentTypeProto, Type: typeName(msg), Data: data})
}

// Publish sends msg on subject as a producer does (see EventMsg).
func (e *Env) Publish(subject, id string, msg proto.Message) Sent {
	e.t.Helper()
	return e.send(e.EventMsg(subject, id, msg))
}

// Subject is the subject the contract gives msg: its type's, with msg's key token when
// the type has one. It panics on a message the contract cannot place, a mistake of the
// test.
func Subject(msg proto.Message) string {
	s, err := bus.MustSpec(msg).SubjectOf(msg)
	if err != nil {
		panic(err)
	}
	return s
}

// PublishEvent sends msg on the subject the contract gives it (Subject), as its producer
// does, with the event id id ("" for a fresh one).
func (e *Env) PublishEvent(id string, msg proto.Message) Sent {
	e.t.Helper()
	subject, err := bus.MustSpec(msg).SubjectOf(msg)
	if err != nil {
		e.t.Fatalf("testkit: %v", err)
	}
	return e.Publish(subject, id, msg)
}

// PublishJSON sends msg on subject as protojson, as a till may.
func (e *Env) PublishJSON(subject, id string, msg proto.Message) Sent {
	e.t.Helper()
	data, err := protojson.Marshal(msg)
	if err != nil {
		e.t.Fatalf("testkit: encoding %s: %v", subject, err)
	}
	return e.PublishRaw(Raw{Subject: subject, ID: id, ContentType: bus.ContentTypeJSON, Type: typeName(msg), Data: data})
}

// PublishRaw sends m as it is, for events a producer gets wrong.
func (e *Env) PublishRaw(m Raw) Sent {
	e.t.Helper()
	return e.send(e.Msg(m))
}

func (e *Env) send(msg *nats.Msg) Sent {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ack, err := e.w.js.PublishMsg(ctx, msg)
	if err != nil {
		e.t.Fatalf("testkit: publishing on %s: %v", msg.Subject, err)
	}
	return Sent{ID: msg.Header.Get(bus.HeaderMsgID), PubAck: ack}
}

func typeName(msg proto.Message) string { return string(msg.ProtoReflect().Descriptor().FullName()) }

// WaitHandled waits until consumer (its name outside the namespace) has handled the
// events sent: acked them, which it does once it has committed their effects or their
// dead letters.
func (e *Env) WaitHandled(consumer string, sent ...Sent) {
	e.t.Helper()
	for _, s := range sent {
		e.WaitAcked(consumer, s.Stream, s.Sequence, 15*time.Second)
	}
}

// WaitAcked waits until consumer's ack floor in stream (its full name) reaches seq:
// every message up to seq that the consumer takes is acked.
func (e *Env) WaitAcked(consumer, stream string, seq uint64, within time.Duration) {
	e.t.Helper()
	durable := e.w.ns.Consumer(consumer)
	Eventually(e.t, within, fmt.Sprintf("%s to ack %s up to %d", consumer, stream, seq), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := e.w.js.Consumer(ctx, stream, durable)
		if err != nil {
			return false // not created yet
		}
		return c.CachedInfo().AckFloor.Stream >= seq
	})
}

// Events reads every event on subject (outside the namespace) that its stream holds
// now, decoded as M, and fails the test if one's Treue-Event-Type is not M's.
func Events[M proto.Message](e *Env, subject string) []M {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	subj := e.w.ns.Subject(subject)
	name, err := e.w.js.StreamNameBySubject(ctx, subj)
	if err != nil {
		e.t.Fatalf("testkit: the stream of %s: %v", subject, err)
	}
	stream, err := e.w.js.Stream(ctx, name)
	if err != nil {
		e.t.Fatalf("testkit: the stream of %s: %v", subject, err)
	}
	var zero M
	want := typeName(zero)
	var out []M
	// Message by message, each the next on the subject: no consumer is left behind.
	for seq := uint64(1); ; {
		m, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			e.t.Fatalf("testkit: reading %s: %v", subject, err)
		}
		if got := m.Header.Get(bus.HeaderEventType); got != want {
			e.t.Fatalf("event on %s has type %q, want %s", subject, got, want)
		}
		ev := zero.ProtoReflect().New().Interface().(M)
		if err := proto.Unmarshal(m.Data, ev); err != nil {
			e.t.Fatalf("decoding an event on %s: %v", subject, err)
		}
		out = append(out, ev)
		seq = m.Sequence + 1
	}
}

// WaitEvent waits until the stream of subject holds an event that match accepts, and
// returns the first such.
func WaitEvent[M proto.Message](e *Env, subject string, match func(M) bool) M {
	e.t.Helper()
	var found M
	Eventually(e.t, 10*time.Second, "an event on "+subject, func() bool {
		for _, ev := range Events[M](e, subject) {
			if match(ev) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// DeadLetters lists the open dead letters of consumer ("" for every consumer) through
// the admin API of the service at addr, newest first, calling as admin.
func (e *Env) DeadLetters(addr, consumer string) []*adminv1.DeadLetter {
	e.t.Helper()
	letters, err := e.deadLetters(addr, consumer)
	if err != nil {
		e.t.Fatalf("ListDeadLetters: %v", err)
	}
	return letters
}

// WaitDeadLetters waits until consumer has n open dead letters and returns them.
func (e *Env) WaitDeadLetters(addr, consumer string, n int) []*adminv1.DeadLetter {
	e.t.Helper()
	var letters []*adminv1.DeadLetter
	Eventually(e.t, 15*time.Second, fmt.Sprintf("%d dead letters of %q", n, consumer), func() bool {
		var err error
		letters, err = e.deadLetters(addr, consumer)
		if err != nil && status.Code(err) != codes.DeadlineExceeded {
			e.t.Fatalf("ListDeadLetters: %v", err)
		}
		return len(letters) == n
	})
	return letters
}

func (e *Env) deadLetters(addr, consumer string) ([]*adminv1.DeadLetter, error) {
	client := adminv1.NewAdminServiceClient(e.Conn(addr, "admin"))
	req := &adminv1.ListDeadLettersRequest{Consumer: consumer}
	var out []*adminv1.DeadLetter
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := client.ListDeadLetters(ctx, req)
		cancel()
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetDeadLetters()...)
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return out, nil
		}
	}
}
