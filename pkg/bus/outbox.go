package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/telemetry"
)

// Enqueue writes events to the outbox in tx, in one statement. They are published after
// tx commits, by the Relay; if tx rolls back, they never existed.
func Enqueue(ctx context.Context, tx pgx.Tx, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	ids := make([]string, len(events))
	subjects := make([]string, len(events))
	types := make([]string, len(events))
	payloads := make([][]byte, len(events))
	headers := make([][]byte, len(events))
	trace := map[string][]string{}
	telemetry.Inject(ctx, trace)
	traceJSON, err := json.Marshal(trace)
	if err != nil {
		return err
	}
	for i, e := range events {
		if e.ID == "" {
			e = NewEvent(e.Subject, e.Message)
		}
		b, err := proto.Marshal(e.Message)
		if err != nil {
			return fmt.Errorf("bus: marshal %s: %w", e.Subject, err)
		}
		ids[i], subjects[i], payloads[i], headers[i] = e.ID, e.Subject, b, traceJSON
		types[i] = string(e.Message.ProtoReflect().Descriptor().FullName())
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO outbox (event_id, subject, event_type, payload, headers)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::jsonb[])`,
		ids, subjects, types, payloads, headers)
	if err != nil {
		return fmt.Errorf("bus: outbox insert: %w", err)
	}
	return nil
}

// Relay publishes outbox rows to JetStream. It locks a batch of rows (FOR UPDATE SKIP
// LOCKED, so replicas share the work), publishes them asynchronously with Nats-Msg-Id,
// waits for every ack, then deletes the rows and commits. A crash before the commit
// leaves the rows to be published again; JetStream's de-duplication and the consumers'
// inbox drop the copies.
type Relay struct {
	pool  *pgxpool.Pool
	js    jetstream.Publisher
	ns    Namespace
	log   *slog.Logger
	batch int
	idle  time.Duration
	wake  chan struct{}
}

// NewRelay returns a relay for the outbox in pool's schema.
func NewRelay(pool *pgxpool.Pool, js jetstream.Publisher, ns Namespace, log *slog.Logger) *Relay {
	return &Relay{pool: pool, js: js, ns: ns, log: log, batch: 1000, idle: 200 * time.Millisecond, wake: make(chan struct{}, 1)}
}

// Notify wakes the relay after a commit that wrote outbox rows, so they leave within
// milliseconds instead of at the next poll.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends, then returns nil. Before returning it makes one last
// pass, so that what was committed before shutdown leaves.
func (r *Relay) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		n, err := r.publishBatch(context.WithoutCancel(ctx))
		switch {
		case err != nil:
			r.log.Warn("outbox relay: publish failed; will retry", "err", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		case n == r.batch:
			backoff = 100 * time.Millisecond
			continue
		}
		backoff = 100 * time.Millisecond
		select {
		case <-ctx.Done():
			_, _ = r.publishBatch(context.WithoutCancel(ctx))
			return nil
		case <-r.wake:
		case <-time.After(r.idle):
		}
	}
}

// Flush publishes every row present now; tests and shutdown use it.
func (r *Relay) Flush(ctx context.Context) error {
	for {
		n, err := r.publishBatch(ctx)
		if err != nil {
			return err
		}
		if n < r.batch {
			return nil
		}
	}
}

type outboxRow struct {
	id        int64
	eventID   string
	subject   string
	eventType string
	payload   []byte
	headers   map[string][]string
}

func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, `
		SELECT id, event_id::text, subject, event_type, payload, headers
		FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, r.batch)
	if err != nil {
		return 0, err
	}
	batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
		var o outboxRow
		err := row.Scan(&o.id, &o.eventID, &o.subject, &o.eventType, &o.payload, &o.headers)
		return o, err
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	futures := make([]jetstream.PubAckFuture, len(batch))
	ids := make([]int64, len(batch))
	for i, o := range batch {
		msg := &nats.Msg{Subject: r.ns.Subject(o.subject), Data: o.payload, Header: nats.Header{}}
		for k, v := range o.headers {
			msg.Header[k] = v
		}
		msg.Header.Set(HeaderContentType, ContentTypeProto)
		msg.Header.Set(HeaderEventType, o.eventType)
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(o.eventID))
		if err != nil {
			return 0, fmt.Errorf("publish %s: %w", o.subject, err)
		}
		futures[i], ids[i] = f, o.id
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return 0, fmt.Errorf("publish %s: %w", batch[i].subject, err)
		case <-ctx.Done():
			return 0, fmt.Errorf("publish %s: no ack: %w", batch[i].subject, ctx.Err())
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, ids); err != nil {
		return 0, err
	}
	return len(batch), tx.Commit(ctx)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
