// Package service wires the feedback (feedback-routing) service: it turns survey
// responses into follow-up cases by data-driven routing rules, anonymises erased
// members' cases, and serves treue.feedback.v1.FeedbackService.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/svc"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/adapters/events"
	"github.com/treue/treue/services/feedback/internal/adapters/grpcport"
	"github.com/treue/treue/services/feedback/internal/adapters/postgres"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
	"github.com/treue/treue/services/feedback/internal/routing"
	"github.com/treue/treue/services/feedback/migrations"
)

// Name is the service's name; Schema its Postgres schema.
const (
	Name   = "feedback"
	Schema = "feedback"
)

// Durable consumer names: permanent (renaming one re-consumes its stream).
const (
	ConsumerSurvey  = "feedback-survey"
	ConsumerMembers = "feedback-members"
)

// Config is the feedback service's configuration.
type Config struct {
	Base svc.Base
	// ConsumerBatchSize is the most events applied in one transaction
	// (FEEDBACK_CONSUMER_BATCH_SIZE, default 500).
	ConsumerBatchSize int
	// ConsumerMaxDeliver is how many deliveries a failing event gets before it goes to
	// the dead letters (FEEDBACK_CONSUMER_MAX_DELIVER, default 5).
	ConsumerMaxDeliver int
}

// LogValue masks secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("base", c.Base),
		slog.Int("consumer_batch_size", c.ConsumerBatchSize),
		slog.Int("consumer_max_deliver", c.ConsumerMaxDeliver),
	)
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	env := &config.Env{}
	cfg := Config{
		Base:               svc.LoadBase(env, "FEEDBACK", "127.0.0.1:7003", ""),
		ConsumerBatchSize:  env.Int("FEEDBACK_CONSUMER_BATCH_SIZE", 500),
		ConsumerMaxDeliver: env.Int("FEEDBACK_CONSUMER_MAX_DELIVER", 5),
	}
	return cfg, env.Err()
}

// Service is a feedback service ready to Run.
type Service struct {
	rt *svc.Runtime
}

// New opens the service's resources (database, migrations, streams, listeners) and wires
// its consumers and gRPC API.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	rt, err := svc.Open(ctx, cfg.Base, svc.Options{
		Name:       Name,
		Schema:     Schema,
		Migrations: migrations.FS,
		// FEEDBACK is ours; SURVEY and LEDGER are consumed, so they must exist before the
		// consumers start.
		Streams: []bus.StreamSpec{bus.StreamFeedback, bus.StreamSurvey, bus.StreamLedger},
	}, log)
	if err != nil {
		return nil, err
	}
	s, err := wire(rt, cfg, log)
	if err != nil {
		rt.Close()
		return nil, err
	}
	return s, nil
}

func wire(rt *svc.Runtime, cfg Config, log *slog.Logger) (*Service, error) {
	engine, err := routing.NewEngine(log)
	if err != nil {
		return nil, err
	}
	a, err := app.New(app.Deps{
		Cases:  postgres.NewCases(rt.Pool, rt.Relay.Notify),
		Router: ruleCompiler{engine},
		Clock:  time.Now,
		NewID:  func() string { return uuid.Must(uuid.NewV7()).String() },
		Log:    log,
	})
	if err != nil {
		return nil, err
	}
	h := events.NewHandlers(a)
	consumers := []bus.ConsumerConfig{
		{Name: ConsumerSurvey, Stream: bus.StreamSurvey, Subjects: []string{events.SubjectResponseSubmitted}, Handler: h.ResponsesSubmitted},
		{Name: ConsumerMembers, Stream: bus.StreamLedger, Subjects: []string{events.SubjectMemberErased}, Handler: h.MembersErased},
	}
	for _, c := range consumers {
		c.BatchSize, c.MaxDeliver = cfg.ConsumerBatchSize, cfg.ConsumerMaxDeliver
		if err := rt.Consume(c); err != nil {
			return nil, fmt.Errorf("consumer %s: %w", c.Name, err)
		}
	}
	feedbackv1.RegisterFeedbackServiceServer(rt.GRPC, grpcport.NewServer(a))
	return &Service{rt: rt}, nil
}

// ruleCompiler adapts the CEL engine to the use case's interface.
type ruleCompiler struct{ e *routing.Engine }

func (c ruleCompiler) Compile(rules []domain.Rule) app.RuleMatcher { return c.e.Compile(rules) }

// Run serves until ctx ends, then shuts down in order.
func (s *Service) Run(ctx context.Context) error { return s.rt.Run(ctx) }

// GRPCAddr is the address the gRPC server listens on.
func (s *Service) GRPCAddr() string { return s.rt.GRPCAddr() }

// HTTPAddr is "": the feedback service serves no HTTP.
func (s *Service) HTTPAddr() string { return s.rt.HTTPAddr() }
