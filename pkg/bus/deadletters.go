package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DeadLetter is a message a consumer gave up on, with the error that made it give up.
type DeadLetter struct {
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

// ErrDeadLetterNotFound: no dead letter has the id.
var ErrDeadLetterNotFound = errors.New("dead letter not found")

// DeadLetterFilter selects dead letters, newest first.
type DeadLetterFilter struct {
	// Consumer: only this consumer's; "" for all.
	Consumer string
	// IncludeReplayed: also those replayed since.
	IncludeReplayed bool
	// Before: only ids below it; 0 for no bound.
	Before int64
	Limit  int
}

const deadLetterColumns = `id, consumer, stream, stream_seq, subject, event_id, event_type, content_type, headers, payload, error, deliveries, created_at, replayed_at`

// ListDeadLetters returns the dead letters in pool's schema that f selects.
func ListDeadLetters(ctx context.Context, pool *pgxpool.Pool, f DeadLetterFilter) ([]DeadLetter, error) {
	before := f.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := pool.Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters
		WHERE id < $1 AND ($2 = '' OR consumer = $2) AND ($3 OR replayed_at IS NULL)
		ORDER BY id DESC LIMIT $4`, before, f.Consumer, f.IncludeReplayed, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[DeadLetter])
}

// GetDeadLetter returns one dead letter or ErrDeadLetterNotFound.
func GetDeadLetter(ctx context.Context, pool *pgxpool.Pool, id int64) (DeadLetter, error) {
	rows, err := pool.Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters WHERE id = $1`, id)
	if err != nil {
		return DeadLetter{}, err
	}
	d, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[DeadLetter])
	if errors.Is(err, pgx.ErrNoRows) {
		return DeadLetter{}, ErrDeadLetterNotFound
	}
	return d, err
}

// ErrReplayFailed wraps the error of a replay that failed again.
var ErrReplayFailed = errors.New("replay failed again")

// Replay applies a dead letter of this consumer again, through the same decoding,
// validation and handler as a delivery, and marks it replayed. A dead letter replayed
// before is returned unchanged. When it fails again, its error is updated and the
// result wraps ErrReplayFailed.
func (c *Consumer) Replay(ctx context.Context, d DeadLetter) (DeadLetter, error) {
	if d.ReplayedAt != nil {
		return d, nil
	}
	if d.Consumer != c.cfg.Name {
		return d, fmt.Errorf("bus: dead letter %d belongs to consumer %s, not %s", d.ID, d.Consumer, c.cfg.Name)
	}
	m := &Message{
		ID: d.EventID, Subject: d.Subject, Type: d.EventType, ContentType: d.ContentType,
		Data: d.Payload, Header: d.Headers, Deliveries: 1, Stream: d.Stream, StreamSeq: uint64(d.StreamSeq),
	}
	err := c.resolve(m)
	if err == nil {
		err = c.apply(ctx, []*Message{m}, nil)
	}
	if err == nil && m.refused != nil {
		err = m.refused
	}
	if err != nil {
		if _, uerr := c.pool.Exec(ctx, `UPDATE dead_letters SET error = $2 WHERE id = $1`, d.ID, err.Error()); uerr != nil {
			return d, uerr
		}
		d.Error = err.Error()
		return d, fmt.Errorf("%w: dead letter %d: %v", ErrReplayFailed, d.ID, err)
	}
	now := time.Now()
	if _, err := c.pool.Exec(ctx, `UPDATE dead_letters SET replayed_at = $2 WHERE id = $1`, d.ID, now); err != nil {
		return d, fmt.Errorf("mark replayed: %w", err)
	}
	d.ReplayedAt = &now
	return d, nil
}
