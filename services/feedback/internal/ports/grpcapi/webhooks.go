package grpcapi

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// ReasonUnsupportedStatus is the FailedPrecondition reason of a CRM status the service
// does not take (ReasonIdempotencyKeyReused is shared with TeamService).
const ReasonUnsupportedStatus = "UNSUPPORTED_STATUS"

// WebhookServer implements WebhookService.
type WebhookServer struct {
	feedbackv1.UnimplementedWebhookServiceServer
	app *app.Application
}

// NewWebhookServer returns the gRPC port of webhooks and CRM updates over a.
func NewWebhookServer(a *app.Application) *WebhookServer { return &WebhookServer{app: a} }

func (s *WebhookServer) CreateSubscription(ctx context.Context, req *feedbackv1.CreateSubscriptionRequest) (*feedbackv1.CreateSubscriptionResponse, error) {
	sub, err := s.app.Commands.Hooks.CreateSubscription.Handle(ctx, app.CreateSubscriptionCommand{
		URL: req.GetUrl(), EventTypes: req.GetEventTypes(), Description: req.GetDescription(),
	})
	return hookReply(sub, err, func(sub domain.Subscription) *feedbackv1.CreateSubscriptionResponse {
		return &feedbackv1.CreateSubscriptionResponse{Subscription: convert.Subscription(sub), Secret: sub.Secret}
	})
}

func (s *WebhookServer) ListSubscriptions(ctx context.Context, _ *feedbackv1.ListSubscriptionsRequest) (*feedbackv1.ListSubscriptionsResponse, error) {
	subs, err := s.app.Queries.Hooks.ListSubscriptions.Handle(ctx)
	return hookReply(subs, err, convert.Subscriptions)
}

func (s *WebhookServer) RotateSecret(ctx context.Context, req *feedbackv1.RotateSecretRequest) (*feedbackv1.RotateSecretResponse, error) {
	sub, err := s.app.Commands.Hooks.RotateSecret.Handle(ctx, req.GetSubscriptionId())
	return hookReply(sub, err, func(sub domain.Subscription) *feedbackv1.RotateSecretResponse {
		return &feedbackv1.RotateSecretResponse{Subscription: convert.Subscription(sub), Secret: sub.Secret}
	})
}

func (s *WebhookServer) DisableSubscription(ctx context.Context, req *feedbackv1.DisableSubscriptionRequest) (*feedbackv1.DisableSubscriptionResponse, error) {
	sub, err := s.app.Commands.Hooks.DisableSubscription.Handle(ctx, req.GetSubscriptionId())
	return hookReply(sub, err, func(sub domain.Subscription) *feedbackv1.DisableSubscriptionResponse {
		return &feedbackv1.DisableSubscriptionResponse{Subscription: convert.Subscription(sub)}
	})
}

func (s *WebhookServer) ListDeliveries(ctx context.Context, req *feedbackv1.ListDeliveriesRequest) (*feedbackv1.ListDeliveriesResponse, error) {
	q, err := convert.ListDeliveriesQuery(req)
	if err != nil {
		return nil, grpcx.InvalidField("page_token", err.Error())
	}
	page, err := s.app.Queries.Hooks.ListDeliveries.Handle(ctx, q)
	return hookReply(page, err, convert.ListDeliveriesResponse)
}

func (s *WebhookServer) ReplayDelivery(ctx context.Context, req *feedbackv1.ReplayDeliveryRequest) (*feedbackv1.ReplayDeliveryResponse, error) {
	d, err := s.app.Commands.Hooks.ReplayDelivery.Handle(ctx, req.GetDeliveryId())
	return hookReply(d, err, func(d domain.WebhookDelivery) *feedbackv1.ReplayDeliveryResponse {
		return &feedbackv1.ReplayDeliveryResponse{Delivery: convert.WebhookDelivery(d)}
	})
}

func (s *WebhookServer) ReplayFailed(ctx context.Context, req *feedbackv1.ReplayFailedRequest) (*feedbackv1.ReplayFailedResponse, error) {
	var since time.Time
	if req.GetSince() != nil {
		since = req.GetSince().AsTime()
	}
	n, err := s.app.Commands.Hooks.ReplayFailed.Handle(ctx, req.GetSubscriptionId(), since)
	return hookReply(n, err, func(n int) *feedbackv1.ReplayFailedResponse {
		return &feedbackv1.ReplayFailedResponse{Replayed: int32(n)}
	})
}

func (s *WebhookServer) UpdateCaseFromCRM(ctx context.Context, req *feedbackv1.UpdateCaseFromCRMRequest) (*feedbackv1.UpdateCaseFromCRMResponse, error) {
	caller, ok := grpcx.CallerFrom(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no authenticated caller")
	}
	r, err := s.app.Commands.Hooks.UpdateCaseFromCRM.Handle(ctx, convert.CRMUpdate(req, caller.Name))
	return hookReply(r, err, convert.UpdateCaseFromCRMResponse)
}

func (s *WebhookServer) ListCrmUpdates(ctx context.Context, req *feedbackv1.ListCrmUpdatesRequest) (*feedbackv1.ListCrmUpdatesResponse, error) {
	h, err := s.app.Queries.Hooks.ListCrmUpdates.Handle(ctx, req.GetCaseId())
	return hookReply(h, err, convert.ListCrmUpdatesResponse)
}

func hookReply[T, R any](v T, err error, conv func(T) R) (R, error) {
	if err != nil {
		var zero R
		return zero, hookStatus(err)
	}
	return conv(v), nil
}

func hookStatus(err error) error {
	var fe *domain.FieldError
	switch {
	case errors.As(err, &fe):
		return grpcx.InvalidField(fe.Field, fe.Reason)
	case errors.Is(err, domain.ErrSubscriptionNotFound):
		return status.Error(codes.NotFound, "subscription not found")
	case errors.Is(err, domain.ErrDeliveryNotFound):
		return status.Error(codes.NotFound, "delivery not found")
	case errors.Is(err, domain.ErrIdempotencyKeyReused):
		return grpcx.FailedPrecondition(ReasonIdempotencyKeyReused, "the idempotency key was used before for a different request")
	case errors.Is(err, domain.ErrUnsupportedStatus):
		return grpcx.FailedPrecondition(ReasonUnsupportedStatus, `the only status taken is "resolved"`)
	}
	return toStatus(err)
}
