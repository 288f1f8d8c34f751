package bus

import (
	"context"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
)

// FuzzResolve drives the one decoder every consumer uses with any subject, headers and
// payload: it never panics, and what it accepts is an event of the route's type that
// passes its rules, on one of its subjects.
func FuzzResolve(f *testing.F) {
	none := func(context.Context, []Delivery[*posv1.PurchaseRecorded]) error { return nil }
	rt, _, err := newRoutes([]Route{On(none), On(func(context.Context, []Delivery[*posv1.ReturnRecorded]) error { return nil })})
	if err != nil {
		f.Fatal(err)
	}
	other, _, err := newRoutes([]Route{
		On(func(context.Context, []Delivery[*ledgerv1.PointsCredited]) error { return nil }),
		On(func(context.Context, []Delivery[*ledgerv1.MemberErased]) error { return nil }),
	})
	if err != nil {
		f.Fatal(err)
	}
	tp, _, err := newRoutes([]Route{On(func(context.Context, []Delivery[*touchpointv1.ContactRecorded]) error { return nil })})
	if err != nil {
		f.Fatal(err)
	}
	p := &posv1.PurchaseRecorded{EventId: "0192f1f4-6d3a-7c4e-9a53-3c1d2f7e9b10", StoreId: "S1", TransactionId: "T1",
		OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 100, Lines: []*posv1.Line{{Sku: "A", Quantity: 1, AmountMinor: 100}}}
	pb, _ := proto.Marshal(p)
	pj, _ := protojson.Marshal(p)
	cb, _ := proto.Marshal(&ledgerv1.PointsCredited{TransactionId: "t", MemberId: "m", Points: 3, OccurredAt: timestamppb.Now()})
	rb, _ := proto.Marshal(&surveyv1.ResponseSubmitted{ResponseId: "r"})
	f.Add("pos.purchase.recorded.S1", "treue.pos.v1.PurchaseRecorded", ContentTypeProto, pb)
	f.Add("pos.purchase.recorded.S1", "", ContentTypeJSON, pj)
	f.Add("pos.purchase.recorded.S2", "treue.pos.v1.PurchaseRecorded", ContentTypeProto, pb)
	f.Add("pos.return.recorded.S1", "treue.pos.v1.ReturnRecorded", ContentTypeProto, pb)
	f.Add("ledger.points.credited", "treue.ledger.v1.PointsCredited", "", cb)
	f.Add("ledger.member.erased", "", ContentTypeProto, rb)
	f.Add("touchpoint.contact.recorded.call", "treue.touchpoint.v1.ContactRecorded", ContentTypeJSON, []byte(`{"eventId":"x"}`))
	f.Fuzz(func(t *testing.T, subject, eventType, contentType string, data []byte) {
		for _, r := range []*routes{rt, other, tp} {
			m := &Message{Subject: subject, Type: eventType, ContentType: contentType, Data: data}
			if err := r.resolve(m); err != nil {
				if m.body != nil || m.route != nil {
					t.Fatal("a refused message was given a route")
				}
				continue
			}
			if m.route == nil || m.body == nil {
				t.Fatal("an accepted message has no route or body")
			}
			if m.body.ProtoReflect().Descriptor().FullName() != m.route.spec.Type {
				t.Fatalf("accepted as %s, routed to %s", m.body.ProtoReflect().Descriptor().FullName(), m.route.spec.Type)
			}
			if err := m.route.spec.check(subject, m.body); err != nil {
				t.Fatalf("accepted on a subject that is not its own: %v", err)
			}
			if err := r.validator.Validate(m.body); err != nil {
				t.Fatalf("accepted an event that breaks its rules: %v", err)
			}
		}
	})
}
