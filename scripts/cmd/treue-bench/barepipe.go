package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
)

// barePipe measures the floor the product is compared with: the same purchases through
// JetStream into batched Postgres inserts keyed for idempotency, with no product logic
// (no inbox, no ledger, no outbox). Returns events per second.
func barePipe(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, ns bus.Namespace, msgs [][]byte, publish func() error) (float64, error) {
	if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS barepipe;
		DROP TABLE IF EXISTS barepipe.points;
		CREATE TABLE barepipe.points (idempotency_key text PRIMARY KEY, member text NOT NULL, points bigint NOT NULL)`); err != nil {
		return 0, err
	}
	stream := ns.Stream("BAREPIPE")
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{ns.Subject("bare.>")}, Storage: jetstream.FileStorage}); err != nil {
		return 0, err
	}
	defer func() { _ = js.DeleteStream(context.WithoutCancel(ctx), stream) }()
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: "bare", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 2000, AckWait: time.Minute,
	})
	if err != nil {
		return 0, err
	}

	start := time.Now()
	pubErr := make(chan error, 1)
	go func() { pubErr <- publish() }()

	want := len(msgs)
	done := 0
	batch := make(chan jetstream.Msg, 1000)
	cc, err := cons.Consume(func(m jetstream.Msg) { batch <- m }, jetstream.PullMaxMessages(1000))
	if err != nil {
		return 0, err
	}
	defer cc.Stop()
	for done < want {
		var ms []jetstream.Msg
		select {
		case m := <-batch:
			ms = append(ms, m)
		case err := <-pubErr:
			if err != nil {
				return 0, err
			}
			pubErr = nil
			continue
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	fill:
		for len(ms) < 500 {
			select {
			case m := <-batch:
				ms = append(ms, m)
			default:
				break fill
			}
		}
		keys := make([]string, len(ms))
		members := make([]string, len(ms))
		points := make([]int64, len(ms))
		for i, m := range ms {
			var p posv1.PurchaseRecorded
			if err := proto.Unmarshal(m.Data(), &p); err != nil {
				return 0, err
			}
			keys[i], members[i], points[i] = p.StoreId+"/"+p.TransactionId, p.MemberId, p.TotalMinor/100
		}
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO barepipe.points SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`, keys, members, points)
			return err
		})
		if err != nil {
			return 0, err
		}
		for _, m := range ms {
			_ = m.Ack()
		}
		done += len(ms)
	}
	elapsed := time.Since(start)
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM barepipe.points`).Scan(&n); err != nil {
		return 0, err
	}
	if n != want {
		return 0, fmt.Errorf("bare pipe stored %d of %d", n, want)
	}
	_, _ = pool.Exec(ctx, `DROP SCHEMA barepipe CASCADE`)
	return float64(want) / elapsed.Seconds(), nil
}
