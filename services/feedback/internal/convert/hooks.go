package convert

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// hookJSON is how an event's data is written in a webhook's body: the contract's field
// names, enums by name, unset fields left out.
var hookJSON = protojson.MarshalOptions{UseProtoNames: true}

// HookEvent returns an event delivered on subject with id as a webhook's event.
func HookEvent(id, subject string, m proto.Message) (domain.HookEvent, error) {
	data, err := hookJSON.Marshal(m)
	return domain.HookEvent{ID: id, Subject: subject, Data: data, MemberID: memberOf(m.ProtoReflect(), 3)}, err
}

// memberOf returns the first member_id set in m or its nested messages (a transition's),
// depth levels down.
func memberOf(m protoreflect.Message, depth int) string {
	if f := m.Descriptor().Fields().ByName("member_id"); f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
		if v := m.Get(f).String(); v != "" {
			return v
		}
	}
	if depth == 0 {
		return ""
	}
	var found string
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() {
			found = memberOf(v.Message(), depth-1)
		}
		return found == ""
	})
	return found
}

var deliveryStatuses = map[domain.DeliveryStatus]feedbackv1.DeliveryStatus{
	domain.DeliveryPending:   feedbackv1.DeliveryStatus_DELIVERY_STATUS_PENDING,
	domain.DeliveryDelivered: feedbackv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
	domain.DeliveryFailed:    feedbackv1.DeliveryStatus_DELIVERY_STATUS_FAILED,
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Subscription returns a subscription without its secrets.
func Subscription(s domain.Subscription) *feedbackv1.Subscription {
	return &feedbackv1.Subscription{
		SubscriptionId: s.ID, Url: s.URL, EventTypes: s.EventTypes, Active: s.Active, Description: s.Description,
		CreatedAt: ts(s.CreatedAt), RotatedAt: ts(s.RotatedAt), PreviousSecretUntil: ts(s.PreviousUntil),
	}
}

// Subscriptions converts a list.
func Subscriptions(subs []domain.Subscription) *feedbackv1.ListSubscriptionsResponse {
	out := &feedbackv1.ListSubscriptionsResponse{}
	for _, s := range subs {
		out.Subscriptions = append(out.Subscriptions, Subscription(s))
	}
	return out
}

// WebhookDelivery converts a delivery and its attempts.
func WebhookDelivery(d domain.WebhookDelivery) *feedbackv1.Delivery {
	out := &feedbackv1.Delivery{
		DeliveryId: d.ID, SubscriptionId: d.SubscriptionID, EventId: d.EventID, EventType: d.EventType,
		Status: deliveryStatuses[d.Status], Attempts: int32(d.Attempts), CreatedAt: ts(d.CreatedAt),
		DeliveredAt: ts(d.DeliveredAt), LastStatusCode: int32(d.LastStatusCode), LastError: d.LastError,
	}
	if d.Status == domain.DeliveryPending {
		out.NextAttemptAt = ts(d.NextAttemptAt)
	}
	for _, a := range d.Log {
		out.AttemptLog = append(out.AttemptLog, &feedbackv1.DeliveryAttempt{
			Attempt: int32(a.Attempt), AttemptedAt: ts(a.AttemptedAt), StatusCode: int32(a.StatusCode),
			Error: a.Error, DurationMs: a.Duration.Milliseconds(),
		})
	}
	return out
}

// ListDeliveriesQuery reads a request; an error is a malformed page token.
func ListDeliveriesQuery(req *feedbackv1.ListDeliveriesRequest) (app.ListWebhookDeliveriesQuery, error) {
	after, err := decodeDeliveryToken(req.GetPageToken())
	return app.ListWebhookDeliveriesQuery{
		SubscriptionID: req.GetSubscriptionId(), FailedOnly: req.GetFailedOnly(), After: after, Limit: int(req.GetPageSize()),
	}, err
}

// ListDeliveriesResponse converts a page.
func ListDeliveriesResponse(p app.DeliveryPage) *feedbackv1.ListDeliveriesResponse {
	out := &feedbackv1.ListDeliveriesResponse{}
	for _, d := range p.Deliveries {
		out.Deliveries = append(out.Deliveries, WebhookDelivery(d))
	}
	if p.Next != nil {
		id := uuid.MustParse(p.Next.DeliveryID)
		b := binary.BigEndian.AppendUint64([]byte{tokenVersion}, uint64(p.Next.CreatedAt.UnixMicro()))
		out.NextPageToken = base64.RawURLEncoding.EncodeToString(append(b, id[:]...))
	}
	return out
}

func decodeDeliveryToken(token string) (*app.DeliveryCursor, error) {
	c, err := decodePageToken(token)
	if err != nil || c == nil {
		if err != nil {
			err = errors.New("malformed page token")
		}
		return nil, err
	}
	return &app.DeliveryCursor{CreatedAt: c.OpenedAt, DeliveryID: c.CaseID}, nil
}

// CRMUpdate reads a request of caller by.
func CRMUpdate(req *feedbackv1.UpdateCaseFromCRMRequest, by string) domain.CRMUpdate {
	return domain.CRMUpdate{
		IdempotencyKey: req.GetIdempotencyKey(), CaseID: req.GetCaseId(), ExternalSystem: req.GetExternalSystem(),
		ExternalReference: req.GetExternalReference(), Note: req.GetNote(), Status: req.GetStatus(),
		Outcome: domainOf(outcomes, req.GetOutcome()), UpdatedBy: by,
	}
}

func crmLinks(ls []domain.CRMLink) []*feedbackv1.CrmLink {
	var out []*feedbackv1.CrmLink
	for _, l := range ls {
		out = append(out, &feedbackv1.CrmLink{ExternalSystem: l.ExternalSystem, ExternalReference: l.ExternalReference, UpdatedAt: ts(l.UpdatedAt)})
	}
	return out
}

func crmUpdate(u domain.CRMUpdate) *feedbackv1.CrmUpdate {
	return &feedbackv1.CrmUpdate{
		IdempotencyKey: u.IdempotencyKey, ExternalSystem: u.ExternalSystem, ExternalReference: u.ExternalReference,
		Note: u.Note, Status: u.Status, UpdatedBy: u.UpdatedBy, ReceivedAt: ts(u.ReceivedAt),
	}
}

// UpdateCaseFromCRMResponse converts the result.
func UpdateCaseFromCRMResponse(r app.CRMUpdateResult) *feedbackv1.UpdateCaseFromCRMResponse {
	return &feedbackv1.UpdateCaseFromCRMResponse{Case: Case(r.Case), Links: crmLinks(r.Links), Update: crmUpdate(r.Update)}
}

// ListCrmUpdatesResponse converts a case's CRM history.
func ListCrmUpdatesResponse(h app.CRMHistory) *feedbackv1.ListCrmUpdatesResponse {
	out := &feedbackv1.ListCrmUpdatesResponse{Links: crmLinks(h.Links)}
	for _, u := range h.Updates {
		out.Updates = append(out.Updates, crmUpdate(u))
	}
	return out
}
