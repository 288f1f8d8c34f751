// Package service wires the survey service: it asks members how satisfied they are after
// a purchase or another contact (NPS), through signed links to a small web page, and
// publishes their answers.
package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/privacy"
	"github.com/treue/treue/pkg/svc"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/adapters/postgres"
	"github.com/treue/treue/services/survey/internal/adapters/qrcode"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/convert"
	"github.com/treue/treue/services/survey/internal/domain"
	"github.com/treue/treue/services/survey/internal/ports/events"
	"github.com/treue/treue/services/survey/internal/ports/grpcapi"
	"github.com/treue/treue/services/survey/internal/ports/web"
	"github.com/treue/treue/services/survey/migrations"
)

// Name is the service's name; Schema its Postgres schema.
const (
	Name   = "survey"
	Schema = "survey"
)

// Defaults of the settings.
const (
	DefaultGRPCAddr        = "127.0.0.1:7002"
	DefaultHTTPAddr        = "127.0.0.1:8082"
	DefaultPublicURL       = "http://127.0.0.1:8082"
	DefaultContactInterval = 30 * 24 * time.Hour
	DefaultLinkTTL         = 7 * 24 * time.Hour
	DefaultPendingTTL      = 30 * 24 * time.Hour
)

// Durable consumer names (permanent: renaming one re-consumes its stream).
const (
	ConsumerMembers    = events.ConsumerMembers
	ConsumerPOS        = events.ConsumerPOS
	ConsumerTouchpoint = events.ConsumerTouchpoint
	ConsumerMatched    = events.ConsumerMatched
	ConsumerReturns    = events.ConsumerReturns
	ConsumerCases      = events.ConsumerCases
)

// Config is the survey service's configuration.
type Config struct {
	Base svc.Base
	// PublicURL is where members reach the survey pages; links are PublicURL/s/<token>
	// (SURVEY_PUBLIC_URL).
	PublicURL string
	// TokenSecret signs survey links, at least 32 bytes (SURVEY_TOKEN_SECRET). Empty: a
	// random secret is made at start-up, and links stop working when the process ends —
	// fine for a demo, never for production or more than one replica.
	TokenSecret string
	// ContactInterval: at most one invitation per member per interval
	// (SURVEY_CONTACT_INTERVAL).
	ContactInterval time.Duration
	// LinkTTL is how long a survey link can be answered (SURVEY_LINK_TTL).
	LinkTTL time.Duration
	// PendingTTL is how long a trigger for a member not known yet waits for the member's
	// enrolment (SURVEY_PENDING_TTL).
	PendingTTL time.Duration
	// Delivery is how invitations reach members (SURVEY_SMTP_*, SURVEY_WEBHOOK_*, ...).
	Delivery DeliveryConfig
}

// LoadConfig reads the configuration from the environment.
func LoadConfig() (Config, error) {
	env := &config.Env{}
	cfg := Config{
		Base:            svc.LoadBase(env, "SURVEY", DefaultGRPCAddr, DefaultHTTPAddr),
		PublicURL:       env.String("SURVEY_PUBLIC_URL", DefaultPublicURL),
		TokenSecret:     env.String("SURVEY_TOKEN_SECRET", ""),
		ContactInterval: env.Duration("SURVEY_CONTACT_INTERVAL", DefaultContactInterval),
		LinkTTL:         env.Duration("SURVEY_LINK_TTL", DefaultLinkTTL),
		PendingTTL:      env.Duration("SURVEY_PENDING_TTL", DefaultPendingTTL),
		Delivery:        loadDelivery(env),
	}
	if err := env.Err(); err != nil {
		return Config{}, err
	}
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	var errs []error
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("SURVEY_PUBLIC_URL=%q is not an http(s) URL", c.PublicURL))
	}
	if c.TokenSecret != "" && len(c.TokenSecret) < domain.MinSecretLen {
		errs = append(errs, fmt.Errorf("SURVEY_TOKEN_SECRET must be at least %d bytes", domain.MinSecretLen))
	}
	if c.ContactInterval < 0 {
		errs = append(errs, errors.New("SURVEY_CONTACT_INTERVAL must not be negative"))
	}
	if c.LinkTTL <= 0 {
		errs = append(errs, errors.New("SURVEY_LINK_TTL must be positive"))
	}
	if c.PendingTTL <= 0 {
		errs = append(errs, errors.New("SURVEY_PENDING_TTL must be positive"))
	}
	if err := c.Delivery.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return nil
}

// LogValue masks the token secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("base", c.Base),
		slog.String("public_url", c.PublicURL),
		slog.String("token_secret", config.Mask(c.TokenSecret)),
		slog.Duration("contact_interval", c.ContactInterval),
		slog.Duration("link_ttl", c.LinkTTL),
		slog.Duration("pending_ttl", c.PendingTTL),
		slog.Any("delivery", c.Delivery),
	)
}

// Service is a survey service ready to run.
type Service struct{ svc.Service }

// New opens the service's resources (database, migrations, streams, listeners) and wires
// its consumers, gRPC API and web pages. Run starts them.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	secret := []byte(cfg.TokenSecret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // never fails since Go 1.24
		log.Warn("SURVEY_TOKEN_SECRET is not set: survey links are signed with a random secret and stop working when this process ends")
	}
	signer, err := domain.NewLinkSigner(secret)
	if err != nil {
		return nil, err
	}
	s, err := svc.Wire(ctx, cfg.Base, svc.Options{
		Name:       Name,
		Schema:     Schema,
		Migrations: migrations.FS,
		Produces:   convert.Produces,
	}, log, func(rt *svc.Runtime) error { return wire(rt, cfg, signer, log) })
	if err != nil {
		return nil, err
	}
	return &Service{s}, nil
}

func wire(rt *svc.Runtime, cfg Config, signer *domain.LinkSigner, log *slog.Logger) error {
	store, links := postgres.NewStore(rt.DB, rt.Outbox), app.NewLinks(signer, cfg.PublicURL)
	application, err := app.New(app.Deps{
		Config: app.Config{
			SurveyID:   domain.DefaultNPSSurveyID,
			LinkTTL:    cfg.LinkTTL,
			Contact:    domain.ContactPolicy{Interval: cfg.ContactInterval},
			PendingTTL: cfg.PendingTTL,
		},
		Store: store,
		Links: links,
		QR:    qrcode.Codes{},
		Now:   time.Now,
	})
	if err != nil {
		return err
	}
	if err := wireDelivery(rt, cfg.Delivery, application, store, links, signer, cfg.PublicURL, time.Now); err != nil {
		return err
	}
	if err := rt.Consume(events.Consumers(application)...); err != nil {
		return err
	}
	surveyv1.RegisterSurveyServiceServer(rt.GRPC, grpcapi.NewSurvey(application))
	surveyv1.RegisterDefinitionServiceServer(rt.GRPC, grpcapi.NewDefinitions(application))
	surveyv1.RegisterTriggerServiceServer(rt.GRPC, grpcapi.NewTriggers(application))
	privacyv1.RegisterPrivacyServiceServer(rt.GRPC, privacy.NewServer(Name, application.Queries.ExportMember.Handle, convert.Export))
	rt.HandleHTTP(web.New(application, log))
	return nil
}
