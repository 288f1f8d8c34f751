// Package admin serves treue.admin.v1.AdminService, which every service offers: its dead
// letters, and their replay through the consumer that gave up on them; its log level.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/grpcx"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
)

// Server is the admin API of one service.
type Server struct {
	adminv1.UnimplementedAdminServiceServer
	pool      *pgxpool.Pool
	consumers map[string]*bus.Consumer
	level     *slog.LevelVar
	log       *slog.Logger
}

// WithLogLevel lets the API read and change level, the level of the service's logger;
// changes are logged to log.
func (s *Server) WithLogLevel(level *slog.LevelVar, log *slog.Logger) *Server {
	s.level, s.log = level, log
	return s
}

func (s *Server) GetLogLevel(context.Context, *adminv1.GetLogLevelRequest) (*adminv1.GetLogLevelResponse, error) {
	if s.level == nil {
		return nil, status.Error(codes.Unimplemented, "this service's log level is fixed")
	}
	return &adminv1.GetLogLevelResponse{Level: s.level.Level().String()}, nil
}

func (s *Server) SetLogLevel(ctx context.Context, req *adminv1.SetLogLevelRequest) (*adminv1.SetLogLevelResponse, error) {
	if s.level == nil {
		return nil, status.Error(codes.Unimplemented, "this service's log level is fixed")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(req.GetLevel())); err != nil {
		return nil, grpcx.InvalidField("level", "not one of debug, info, warn, error (an offset such as info+2 is allowed)")
	}
	old := s.level.Level()
	s.level.Set(level)
	who := ""
	if c, ok := grpcx.CallerFrom(ctx); ok {
		who = c.Name
	}
	s.log.InfoContext(ctx, "log level changed", "from", old.String(), "to", level.String(), "by", who)
	return &adminv1.SetLogLevelResponse{Level: level.String()}, nil
}

// NewServer returns the admin API over pool's dead letters.
func NewServer(pool *pgxpool.Pool, consumers ...*bus.Consumer) *Server {
	s := &Server{pool: pool, consumers: map[string]*bus.Consumer{}}
	for _, c := range consumers {
		s.consumers[c.Name()] = c
	}
	return s
}

func (s *Server) ListDeadLetters(ctx context.Context, req *adminv1.ListDeadLettersRequest) (*adminv1.ListDeadLettersResponse, error) {
	size := int(req.GetPageSize())
	if size == 0 {
		size = 50
	}
	f := bus.DeadLetterFilter{Consumer: req.GetConsumer(), IncludeReplayed: req.GetIncludeReplayed(), Limit: size + 1}
	if req.GetPageToken() != "" {
		n, err := strconv.ParseInt(req.GetPageToken(), 10, 64)
		if err != nil || n <= 0 {
			return nil, status.Error(codes.InvalidArgument, "page_token: not a token this API returned")
		}
		f.Before = n
	}
	list, err := bus.ListDeadLetters(ctx, s.pool, f)
	if err != nil {
		return nil, err
	}
	resp := &adminv1.ListDeadLettersResponse{}
	if len(list) > size {
		list = list[:size]
		resp.NextPageToken = strconv.FormatInt(list[size-1].ID, 10)
	}
	for _, d := range list {
		resp.DeadLetters = append(resp.DeadLetters, toProto(d))
	}
	return resp, nil
}

func (s *Server) ReplayDeadLetter(ctx context.Context, req *adminv1.ReplayDeadLetterRequest) (*adminv1.ReplayDeadLetterResponse, error) {
	d, err := bus.GetDeadLetter(ctx, s.pool, req.GetId())
	if errors.Is(err, bus.ErrDeadLetterNotFound) {
		return nil, status.Errorf(codes.NotFound, "dead letter %d not found", req.GetId())
	}
	if err != nil {
		return nil, err
	}
	if d.ReplayedAt != nil {
		return &adminv1.ReplayDeadLetterResponse{DeadLetter: toProto(d)}, nil
	}
	c, ok := s.consumers[d.Consumer]
	if !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "consumer %q does not run in this service", d.Consumer)
	}
	d, err = c.Replay(ctx, d)
	if errors.Is(err, bus.ErrReplayFailed) {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	if err != nil {
		return nil, err
	}
	return &adminv1.ReplayDeadLetterResponse{DeadLetter: toProto(d)}, nil
}

func toProto(d bus.DeadLetter) *adminv1.DeadLetter {
	out := &adminv1.DeadLetter{
		Id: d.ID, Consumer: d.Consumer, Subject: d.Subject, EventId: d.EventID, EventType: d.EventType,
		ContentType: d.ContentType, Payload: d.Payload, Error: d.Error, Deliveries: d.Deliveries,
		CreatedAt: timestamppb.New(d.CreatedAt),
	}
	if d.ReplayedAt != nil {
		out.ReplayedAt = timestamppb.New(*d.ReplayedAt)
	}
	return out
}
