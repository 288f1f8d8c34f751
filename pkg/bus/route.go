package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/validate"
)

// Delivery is one event of type T as a handler sees it: decoded and valid by the
// contract (the message's type, subject and key token, and its protovalidate rules).
type Delivery[T proto.Message] struct {
	*Message
	Event T
}

// Route is a typed subscription: the events of one message type and what handles them.
// A consumer takes one or more routes on one stream.
type Route struct {
	spec   EventSpec
	newMsg func() proto.Message
	handle func(ctx context.Context, msgs []*Message) error
}

// On subscribes handle to the events of type T, whose subject and stream the contract
// declares. handle gets a batch of deliveries in stream order, inside the consumer's
// transaction (pg.TxFrom(ctx)), which also records them in the inbox; it sees only
// events this consumer has not handled before. An error rolls the batch back; wrap it
// with Permanent when no retry can cure it.
func On[T proto.Message](handle func(ctx context.Context, events []Delivery[T]) error) Route {
	var zero T
	md := zero.ProtoReflect()
	return Route{
		spec:   MustSpec(zero),
		newMsg: func() proto.Message { return md.New().Interface() },
		handle: func(ctx context.Context, msgs []*Message) error {
			ds := make([]Delivery[T], len(msgs))
			for i, m := range msgs {
				ds[i] = Delivery[T]{Message: m, Event: m.body.(T)}
			}
			return handle(ctx, ds)
		},
	}
}

// OnMessage is On for a type known only at run time, named by one message of it (a
// consumer that takes every event a contract lists): handle gets the events as
// proto.Message, each of the prototype's type.
func OnMessage(prototype proto.Message, handle func(ctx context.Context, events []Delivery[proto.Message]) error) Route {
	md := prototype.ProtoReflect()
	return Route{
		spec:   MustSpec(prototype),
		newMsg: func() proto.Message { return md.New().Interface() },
		handle: func(ctx context.Context, msgs []*Message) error {
			ds := make([]Delivery[proto.Message], len(msgs))
			for i, m := range msgs {
				ds[i] = Delivery[proto.Message]{Message: m, Event: m.body}
			}
			return handle(ctx, ds)
		},
	}
}

// Spec is the contract of the route's events.
func (r Route) Spec() EventSpec { return r.spec }

// routes finds the route of a delivered message and decodes it.
type routes struct {
	byType    map[string]*Route
	bySubject map[string]*Route
	keyed     map[string]*Route // by subject without its last token
	validator *validate.Validator
}

func newRoutes(rs []Route) (*routes, StreamSpec, error) {
	t := &routes{byType: map[string]*Route{}, bySubject: map[string]*Route{}, keyed: map[string]*Route{}}
	var stream StreamSpec
	for i := range rs {
		r := &rs[i]
		if r.handle == nil {
			return nil, StreamSpec{}, errors.New("bus: a route needs a handler (use bus.On)")
		}
		if i == 0 {
			stream = r.spec.Stream
		} else if r.spec.Stream.Name != stream.Name {
			return nil, StreamSpec{}, fmt.Errorf("bus: routes of one consumer span streams %s and %s", stream.Name, r.spec.Stream.Name)
		}
		if _, dup := t.byType[string(r.spec.Type)]; dup {
			return nil, StreamSpec{}, fmt.Errorf("bus: two routes for %s", r.spec.Type)
		}
		t.byType[string(r.spec.Type)] = r
		if r.spec.Keyed {
			t.keyed[r.spec.Subject] = r
		} else {
			t.bySubject[r.spec.Subject] = r
		}
	}
	v, err := validate.New()
	if err != nil {
		return nil, StreamSpec{}, err
	}
	t.validator = v
	return t, stream, nil
}

// filters are the subject filters of the routes.
func (t *routes) filters() []string {
	out := make([]string, 0, len(t.byType))
	for _, r := range t.byType {
		out = append(out, r.spec.Filter())
	}
	return out
}

// resolve decodes m into its route's message type. Every error it returns is permanent:
// an event of the wrong type, on the wrong subject, undecodable or breaking its rules
// never gets better by waiting.
func (t *routes) resolve(m *Message) error {
	var r *Route
	if m.Type != "" {
		r = t.byType[m.Type]
		if r == nil {
			return fmt.Errorf("event type %s is not consumed here (subject %s)", m.Type, m.Subject)
		}
	} else {
		// A publisher that sends no Treue-Event-Type: the subject alone says what it is.
		r = t.bySubject[m.Subject]
		if r == nil {
			if i := lastDot(m.Subject); i > 0 {
				r = t.keyed[m.Subject[:i]]
			}
		}
		if r == nil {
			return fmt.Errorf("no event type is consumed here on subject %s", m.Subject)
		}
	}
	body := r.newMsg()
	if err := m.decode(body); err != nil {
		return err
	}
	if err := r.spec.check(m.Subject, body); err != nil {
		return err
	}
	if err := t.validator.ValidateEncoded(body, m.Data, m.ContentType == ContentTypeJSON); err != nil {
		return fmt.Errorf("%s: %w", r.spec.Type, err)
	}
	m.route, m.body = r, body
	return nil
}

// byRoute returns msgs grouped by route (the routes in the order they first appear),
// each group in stream order.
func byRoute(msgs []*Message) []*Message {
	first := map[*Route]int{}
	for _, m := range msgs {
		if _, ok := first[m.route]; !ok {
			first[m.route] = len(first)
		}
	}
	if len(first) < 2 {
		return msgs
	}
	out := slices.Clone(msgs)
	slices.SortStableFunc(out, func(a, b *Message) int { return cmp.Compare(first[a.route], first[b.route]) })
	return out
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// dispatch hands msgs to their routes' handlers, in runs of consecutive messages of one
// route, so that the stream's order holds across types (a purchase before its return).
// Unordered, each route gets one run: its messages, in stream order.
func dispatch(ctx context.Context, msgs []*Message, unordered bool) error {
	if unordered {
		msgs = byRoute(msgs)
	}
	for start := 0; start < len(msgs); {
		end := start + 1
		for end < len(msgs) && msgs[end].route == msgs[start].route {
			end++
		}
		if err := msgs[start].route.handle(ctx, msgs[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}
