package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
)

// AdminServer serves treue.admin.v1.AdminService for one service: its dead letters and
// their replay through the consumer that gave up on them.
type AdminServer struct {
	adminv1.UnimplementedAdminServiceServer
	pool      *pgxpool.Pool
	consumers map[string]*Consumer
}

// NewAdminServer returns the admin API over pool's dead letters.
func NewAdminServer(pool *pgxpool.Pool, consumers ...*Consumer) *AdminServer {
	s := &AdminServer{pool: pool, consumers: map[string]*Consumer{}}
	for _, c := range consumers {
		s.consumers[c.Name()] = c
	}
	return s
}

type deadLetter struct {
	ID          int64
	Consumer    string
	Stream      string
	StreamSeq   int64
	Subject     string
	EventID     string
	EventType   string
	ContentType string
	Headers     map[string][]string
	Payload     []byte
	Error       string
	Deliveries  int32
	CreatedAt   time.Time
	ReplayedAt  *time.Time
}

const deadLetterColumns = `id, consumer, stream, stream_seq, subject, event_id, event_type, content_type, headers, payload, error, deliveries, created_at, replayed_at`

func (s *AdminServer) ListDeadLetters(ctx context.Context, req *adminv1.ListDeadLettersRequest) (*adminv1.ListDeadLettersResponse, error) {
	size := int(req.GetPageSize())
	if size == 0 {
		size = 50
	}
	before := int64(1<<63 - 1)
	if req.GetPageToken() != "" {
		n, err := strconv.ParseInt(req.GetPageToken(), 10, 64)
		if err != nil || n <= 0 {
			return nil, status.Error(codes.InvalidArgument, "page_token: not a token this API returned")
		}
		before = n
	}
	rows, err := s.pool.Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters
		WHERE id < $1 AND ($2 = '' OR consumer = $2) AND ($3 OR replayed_at IS NULL)
		ORDER BY id DESC LIMIT $4`, before, req.GetConsumer(), req.GetIncludeReplayed(), size+1)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[deadLetter])
	if err != nil {
		return nil, err
	}
	resp := &adminv1.ListDeadLettersResponse{}
	if len(list) > size {
		list = list[:size]
		resp.NextPageToken = strconv.FormatInt(list[size-1].ID, 10)
	}
	for _, d := range list {
		resp.DeadLetters = append(resp.DeadLetters, toProtoDeadLetter(d))
	}
	return resp, nil
}

func (s *AdminServer) ReplayDeadLetter(ctx context.Context, req *adminv1.ReplayDeadLetterRequest) (*adminv1.ReplayDeadLetterResponse, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters WHERE id = $1`, req.GetId())
	if err != nil {
		return nil, err
	}
	d, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[deadLetter])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, status.Errorf(codes.NotFound, "dead letter %d not found", req.GetId())
	}
	if err != nil {
		return nil, err
	}
	if d.ReplayedAt != nil {
		return &adminv1.ReplayDeadLetterResponse{DeadLetter: toProtoDeadLetter(d)}, nil
	}
	c, ok := s.consumers[d.Consumer]
	if !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "consumer %q does not run in this service", d.Consumer)
	}
	m := &Message{
		ID: d.EventID, Subject: d.Subject, Type: d.EventType, ContentType: d.ContentType,
		Data: d.Payload, Header: d.Headers, Deliveries: 1, Stream: d.Stream, StreamSeq: uint64(d.StreamSeq),
	}
	if err := c.apply(ctx, []*Message{m}); err != nil {
		if _, uerr := s.pool.Exec(ctx, `UPDATE dead_letters SET error = $2 WHERE id = $1`, d.ID, err.Error()); uerr != nil {
			return nil, uerr
		}
		return nil, status.Errorf(codes.FailedPrecondition, "replay of dead letter %d failed again: %v", d.ID, err)
	}
	now := time.Now()
	if _, err := s.pool.Exec(ctx, `UPDATE dead_letters SET replayed_at = $2 WHERE id = $1`, d.ID, now); err != nil {
		return nil, fmt.Errorf("mark replayed: %w", err)
	}
	d.ReplayedAt = &now
	return &adminv1.ReplayDeadLetterResponse{DeadLetter: toProtoDeadLetter(d)}, nil
}

func toProtoDeadLetter(d deadLetter) *adminv1.DeadLetter {
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
