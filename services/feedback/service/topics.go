package service

import (
	"github.com/treue/treue/pkg/svc"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/ports/grpcapi"
)

// wireTopics serves the topic taxonomy.
func wireTopics(rt *svc.Runtime, application *app.Application) {
	feedbackv1.RegisterTopicServiceServer(rt.GRPC, grpcapi.NewTopicServer(application))
}
