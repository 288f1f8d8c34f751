package grpcapi

import (
	"context"

	"github.com/treue/treue/pkg/grpcx"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/convert"
)

// Definitions implements surveyv1.DefinitionServiceServer.
type Definitions struct {
	surveyv1.UnimplementedDefinitionServiceServer
	app *app.Application
}

// NewDefinitions returns the server.
func NewDefinitions(application *app.Application) *Definitions { return &Definitions{app: application} }

// CreateSurvey implements surveyv1.DefinitionServiceServer.
func (d *Definitions) CreateSurvey(ctx context.Context, req *surveyv1.CreateSurveyRequest) (*surveyv1.CreateSurveyResponse, error) {
	sv, v, err := d.app.Commands.CreateSurvey.Handle(ctx, app.CreateSurveyCommand{
		IdempotencyKey: grpcx.IdempotencyScope(ctx, req.GetIdempotencyKey()),
		Name:           req.GetName(), Spec: convert.FromProtoSpec(req.GetSpec()), Publish: req.GetPublish(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &surveyv1.CreateSurveyResponse{Survey: convert.ToProtoSurvey(sv), Version: convert.ToProtoVersion(v)}, nil
}

// CreateVersion implements surveyv1.DefinitionServiceServer.
func (d *Definitions) CreateVersion(ctx context.Context, req *surveyv1.CreateVersionRequest) (*surveyv1.CreateVersionResponse, error) {
	sv, v, err := d.app.Commands.CreateVersion.Handle(ctx, app.CreateVersionCommand{
		SurveyID: req.GetSurveyId(), Spec: convert.FromProtoSpec(req.GetSpec()),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &surveyv1.CreateVersionResponse{Survey: convert.ToProtoSurvey(sv), Version: convert.ToProtoVersion(v)}, nil
}

// PublishVersion implements surveyv1.DefinitionServiceServer.
func (d *Definitions) PublishVersion(ctx context.Context, req *surveyv1.PublishVersionRequest) (*surveyv1.PublishVersionResponse, error) {
	sv, v, err := d.app.Commands.PublishVersion.Handle(ctx, req.GetSurveyId(), int(req.GetVersion()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &surveyv1.PublishVersionResponse{Survey: convert.ToProtoSurvey(sv), Version: convert.ToProtoVersion(v)}, nil
}

// RetireSurvey implements surveyv1.DefinitionServiceServer.
func (d *Definitions) RetireSurvey(ctx context.Context, req *surveyv1.RetireSurveyRequest) (*surveyv1.RetireSurveyResponse, error) {
	sv, err := d.app.Commands.RetireSurvey.Handle(ctx, req.GetSurveyId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &surveyv1.RetireSurveyResponse{Survey: convert.ToProtoSurvey(sv)}, nil
}

// GetSurvey implements surveyv1.DefinitionServiceServer.
func (d *Definitions) GetSurvey(ctx context.Context, req *surveyv1.GetSurveyRequest) (*surveyv1.GetSurveyResponse, error) {
	sv, v, err := d.app.Queries.GetSurvey.Handle(ctx, req.GetSurveyId(), int(req.GetVersion()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &surveyv1.GetSurveyResponse{Survey: convert.ToProtoSurvey(sv), Version: convert.ToProtoVersion(v)}, nil
}

// ListSurveys implements surveyv1.DefinitionServiceServer.
func (d *Definitions) ListSurveys(ctx context.Context, req *surveyv1.ListSurveysRequest) (*surveyv1.ListSurveysResponse, error) {
	after, err := convert.DecodePageToken(req.GetPageToken())
	if err != nil {
		return nil, grpcx.InvalidField("page_token", "not a token this API returned")
	}
	list, next, err := d.app.Queries.ListSurveys.Handle(ctx, app.ListSurveysQuery{
		PageSize: int(req.GetPageSize()), After: after, IncludeRetired: req.GetIncludeRetired(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &surveyv1.ListSurveysResponse{NextPageToken: convert.EncodePageToken(next)}
	for _, s := range list {
		out.Surveys = append(out.Surveys, convert.ToProtoSurvey(s))
	}
	return out, nil
}
