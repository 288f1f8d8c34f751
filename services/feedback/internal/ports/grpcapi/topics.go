package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/convert"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// TopicServer implements TopicService.
type TopicServer struct {
	feedbackv1.UnimplementedTopicServiceServer
	app *app.Application
}

// NewTopicServer returns the gRPC port of the topic taxonomy over a.
func NewTopicServer(a *app.Application) *TopicServer { return &TopicServer{app: a} }

func (s *TopicServer) SetTopic(ctx context.Context, req *feedbackv1.SetTopicRequest) (*feedbackv1.SetTopicResponse, error) {
	t, err := s.app.Commands.SetTopic.Handle(ctx, convert.Topic(req.GetTopic()))
	if err != nil {
		return nil, topicStatus(err)
	}
	return &feedbackv1.SetTopicResponse{Topic: convert.TopicProto(t)}, nil
}

func (s *TopicServer) ListTopics(ctx context.Context, _ *feedbackv1.ListTopicsRequest) (*feedbackv1.ListTopicsResponse, error) {
	ts, err := s.app.Queries.ListTopics.Handle(ctx)
	if err != nil {
		return nil, topicStatus(err)
	}
	return &feedbackv1.ListTopicsResponse{Topics: convert.TopicsProto(ts)}, nil
}

func (s *TopicServer) DeleteTopic(ctx context.Context, req *feedbackv1.DeleteTopicRequest) (*feedbackv1.DeleteTopicResponse, error) {
	if err := s.app.Commands.DeleteTopic.Handle(ctx, req.GetKey()); err != nil {
		return nil, topicStatus(err)
	}
	return &feedbackv1.DeleteTopicResponse{}, nil
}

func (s *TopicServer) TagText(ctx context.Context, req *feedbackv1.TagTextRequest) (*feedbackv1.TagTextResponse, error) {
	ts, err := s.app.Queries.TagText.Handle(ctx, req.GetText(), req.GetLanguage())
	if err != nil {
		return nil, topicStatus(err)
	}
	return &feedbackv1.TagTextResponse{Topics: ts}, nil
}

// topicStatus maps the errors of the taxonomy.
func topicStatus(err error) error {
	var fe *domain.FieldError
	switch {
	case errors.As(err, &fe):
		return grpcx.InvalidField("topic."+fe.Field, fe.Reason)
	case errors.Is(err, domain.ErrTopicNotFound):
		return status.Error(codes.NotFound, "topic not found")
	}
	return err
}
