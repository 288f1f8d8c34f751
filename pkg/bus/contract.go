package bus

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	eventv1 "github.com/treue/treue/proto/gen/treue/event/v1"
)

// EventSpec is what the contract in proto/ declares about an event message: its subject
// (a message option) and its stream (an option of the message's file). It is read from
// the message's descriptor, so a subject is written once, next to its message.
type EventSpec struct {
	// Type is the full message name, the Treue-Event-Type header.
	Type protoreflect.FullName
	// Subject is the subject outside any namespace, without the key token.
	Subject string
	// Key is the string field whose value is the subject's last token; nil for none.
	Key protoreflect.FieldDescriptor
	// Keyed: the subject has one more token after Subject.
	Keyed bool
	// External: published by the retailer's systems, not by a Treue service.
	External bool
	Stream   StreamSpec
	// Desc is the message's descriptor.
	Desc protoreflect.MessageDescriptor
}

// Spec returns the contract of msg's type.
func Spec(msg proto.Message) (EventSpec, error) {
	return SpecOf(msg.ProtoReflect().Descriptor())
}

// MustSpec is Spec for types known to be events; it panics otherwise (a programming
// error that every service's tests hit at start-up).
func MustSpec(msg proto.Message) EventSpec {
	s, err := Spec(msg)
	if err != nil {
		panic(err)
	}
	return s
}

// SpecOf returns the contract of the message type md.
func SpecOf(md protoreflect.MessageDescriptor) (EventSpec, error) {
	ev, _ := proto.GetExtension(md.Options(), eventv1.E_Event).(*eventv1.Event)
	if ev.GetSubject() == "" {
		return EventSpec{}, fmt.Errorf("bus: %s is not an event: it declares no (treue.event.v1.event) subject", md.FullName())
	}
	st, _ := proto.GetExtension(md.ParentFile().Options(), eventv1.E_Stream).(*eventv1.Stream)
	if st.GetName() == "" || len(st.GetSubjects()) == 0 {
		return EventSpec{}, fmt.Errorf("bus: %s declares no (treue.event.v1.stream)", md.ParentFile().Path())
	}
	s := EventSpec{
		Type:     md.FullName(),
		Subject:  ev.GetSubject(),
		Keyed:    ev.GetKeyed() || ev.GetKeyField() != "",
		External: ev.GetExternal(),
		Stream:   StreamSpec{Name: st.GetName(), Subjects: st.GetSubjects()},
		Desc:     md,
	}
	if k := ev.GetKeyField(); k != "" {
		s.Key = md.Fields().ByName(protoreflect.Name(k))
		if s.Key == nil || s.Key.Kind() != protoreflect.StringKind || s.Key.IsList() {
			return EventSpec{}, fmt.Errorf("bus: %s: key_field %q is not a string field", md.FullName(), k)
		}
	}
	if !s.Stream.captures(s.Filter()) {
		return EventSpec{}, fmt.Errorf("bus: %s: subject %s is outside its stream %s %v", md.FullName(), s.Filter(), s.Stream.Name, s.Stream.Subjects)
	}
	return s, nil
}

// Filter is the subject filter that matches every instance of the event.
func (s EventSpec) Filter() string {
	if s.Keyed {
		return s.Subject + ".*"
	}
	return s.Subject
}

// SubjectOf returns the subject msg is published on.
func (s EventSpec) SubjectOf(msg proto.Message) (string, error) {
	if s.Key == nil {
		if s.Keyed {
			return "", fmt.Errorf("bus: %s needs a key token that no field gives; publish it with its subject", s.Type)
		}
		return s.Subject, nil
	}
	k := msg.ProtoReflect().Get(s.Key).String()
	if !validToken(k) {
		return "", fmt.Errorf("bus: %s: %s %q cannot be a subject token", s.Type, s.Key.Name(), k)
	}
	return s.Subject + "." + k, nil
}

// check returns an error when subject is not one of the event's subjects; for an event
// with a key field the subject's last token must equal that field of msg.
func (s EventSpec) check(subject string, msg proto.Message) error {
	if !s.Keyed {
		if subject != s.Subject {
			return fmt.Errorf("subject %s is not %s's subject %s", subject, s.Type, s.Subject)
		}
		return nil
	}
	token, ok := strings.CutPrefix(subject, s.Subject+".")
	if !ok || !validToken(token) {
		return fmt.Errorf("subject %s is not %s's subject %s", subject, s.Type, s.Filter())
	}
	if s.Key != nil {
		if v := msg.ProtoReflect().Get(s.Key).String(); v != token {
			return fmt.Errorf("subject token %q differs from %s %q", token, s.Key.Name(), v)
		}
	}
	return nil
}

func validToken(t string) bool {
	return t != "" && !strings.ContainsAny(t, ".*> \t\r\n\x00")
}

// captures reports whether the stream's subjects cover filter (a literal prefix match
// on "x.>" wildcards, which is all the contract uses).
func (s StreamSpec) captures(filter string) bool {
	for _, sub := range s.Subjects {
		if p, ok := strings.CutSuffix(sub, ">"); ok && strings.HasPrefix(filter, p) || sub == filter {
			return true
		}
	}
	return false
}
