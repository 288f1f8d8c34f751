// Package admin serves treue.admin.v1.AdminService, which every service offers: its dead
// letters, and their replay through the consumer that gave up on them.
package admin

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
)

// Server is the admin API of one service.
type Server struct {
	adminv1.UnimplementedAdminServiceServer
	pool      *pgxpool.Pool
	consumers map[string]*bus.Consumer
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
