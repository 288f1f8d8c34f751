package service

import (
	"github.com/treue/treue/pkg/svc"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/ports/grpcapi"
)

// wireOrg serves TeamService: teams, their calendars and staff.
func wireOrg(rt *svc.Runtime, application *app.Application) {
	feedbackv1.RegisterTeamServiceServer(rt.GRPC, grpcapi.NewTeamServer(application))
}
