// Package possim is a POS fleet in miniature: it publishes purchases and returns to
// JetStream the way a retailer's tills would, protobuf or protojson, with the headers of
// the POS contract.
package possim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/telemetry"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
)

// Till publishes for the stores of one retailer.
type Till struct {
	JS        jetstream.Publisher
	Namespace bus.Namespace
	// JSON publishes protojson instead of protobuf.
	JSON bool
}

var products = []struct {
	sku, name string
	price     int64
}{
	{"COF-250", "Coffee beans 250 g", 899},
	{"MUG-01", "Stoneware mug", 1450},
	{"TEA-100", "Green tea, 100 bags", 675},
	{"GRN-1K", "Grinder, hand", 4990},
	{"CHO-70", "Dark chocolate 70 %", 299},
}

// Purchase makes a receipt of 1-4 lines for member at store.
func Purchase(r *rand.Rand, store, member string) *posv1.PurchaseRecorded {
	p := &posv1.PurchaseRecorded{
		EventId:       uuid.Must(uuid.NewV7()).String(),
		StoreId:       store,
		TransactionId: "T" + strconv.FormatInt(time.Now().UnixNano(), 36) + strconv.Itoa(r.IntN(1000)),
		MemberId:      member,
		OccurredAt:    timestamppb.Now(),
		Currency:      "EUR",
		Channel:       commonv1.Channel_CHANNEL_STORE,
		// Who served at the till, for the survey's attribution.
		EmployeeId: fmt.Sprintf("emp-%s-%02d", store, 1+r.IntN(3)),
	}
	for range 1 + r.IntN(4) {
		pr := products[r.IntN(len(products))]
		q := int32(1 + r.IntN(3))
		p.Lines = append(p.Lines, &posv1.Line{Sku: pr.sku, Description: pr.name, Quantity: q, AmountMinor: pr.price * int64(q)})
		p.TotalMinor += pr.price * int64(q)
	}
	return p
}

// Return takes back the first line of a purchase.
func Return(p *posv1.PurchaseRecorded) *posv1.ReturnRecorded {
	l := p.Lines[0]
	return &posv1.ReturnRecorded{
		EventId:               uuid.Must(uuid.NewV7()).String(),
		StoreId:               p.StoreId,
		ReturnId:              "R" + p.TransactionId,
		OriginalTransactionId: p.TransactionId,
		MemberId:              p.MemberId,
		OccurredAt:            timestamppb.Now(),
		Currency:              p.Currency,
		TotalMinor:            l.AmountMinor,
		Lines:                 []*posv1.Line{l},
	}
}

// PublishPurchase sends p on its contract subject, pos.purchase.recorded.<store>.
func (t Till) PublishPurchase(ctx context.Context, p *posv1.PurchaseRecorded) error {
	return t.publishEvent(ctx, p.EventId, p)
}

// PublishReturn sends r on its contract subject, pos.return.recorded.<store>.
func (t Till) PublishReturn(ctx context.Context, r *posv1.ReturnRecorded) error {
	return t.publishEvent(ctx, r.EventId, r)
}

// PublishContact sends c as the retailer's contact systems do (call centre, CRM, web
// analytics), on touchpoint.contact.recorded.<kind>: kind is the touchpoint in lower
// case (service_call).
func (t Till) PublishContact(ctx context.Context, c *touchpointv1.ContactRecorded) error {
	spec := bus.MustSpec(c)
	kind := strings.ToLower(strings.TrimPrefix(c.GetTouchpoint().String(), "TOUCHPOINT_"))
	return t.publish(ctx, spec.Subject+"."+kind, c.GetEventId(), c)
}

// Subject is the subject the contract gives m.
func Subject(m proto.Message) (string, error) {
	return bus.MustSpec(m).SubjectOf(m)
}

func (t Till) publishEvent(ctx context.Context, eventID string, m proto.Message) error {
	subject, err := Subject(m)
	if err != nil {
		return err
	}
	return t.publish(ctx, subject, eventID, m)
}

// Msg builds the NATS message for an event, as a POS must.
func (t Till) Msg(subject, eventID string, m proto.Message) (*nats.Msg, error) {
	msg := &nats.Msg{Subject: t.Namespace.Subject(subject), Header: nats.Header{}}
	var err error
	if t.JSON {
		msg.Data, err = protojson.Marshal(m)
		msg.Header.Set(bus.HeaderContentType, bus.ContentTypeJSON)
	} else {
		msg.Data, err = proto.Marshal(m)
		msg.Header.Set(bus.HeaderContentType, bus.ContentTypeProto)
	}
	msg.Header.Set(bus.HeaderMsgID, eventID)
	msg.Header.Set(bus.HeaderEventType, string(m.ProtoReflect().Descriptor().FullName()))
	return msg, err
}

// publish sends m in a span of its own, whose trace context it carries in the headers
// (W3C traceparent), as a till that traces does: the services continue the trace. Where
// no tracer provider is installed, the span is a no-op and no header is added.
func (t Till) publish(ctx context.Context, subject, eventID string, m proto.Message) error {
	ctx, span := otel.Tracer("github.com/treue/treue/scripts/internal/possim").Start(ctx, "till publish",
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", subject),
			attribute.String("messaging.message.id", eventID)))
	defer span.End()
	msg, err := t.Msg(subject, eventID, m)
	if err != nil {
		return err
	}
	telemetry.Inject(ctx, msg.Header)
	if _, err := t.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}
