package bus

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PruneInbox deletes inbox rows older than retention, a slice at a time so that no
// long transaction holds locks, and returns how many it deleted. The inbox guards
// against redeliveries and re-publishes, which come within minutes; past the retention,
// the services' business keys (a purchase's store and transaction id, a response's id)
// are what keeps an event from counting twice.
func PruneInbox(ctx context.Context, pool *pgxpool.Pool, retention time.Duration) (int64, error) {
	var total int64
	for {
		tag, err := pool.Exec(ctx, `
			DELETE FROM inbox WHERE ctid = ANY (ARRAY(
				SELECT ctid FROM inbox WHERE processed_at < now() - make_interval(secs => $1) LIMIT 10000))`,
			retention.Seconds())
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < 10000 {
			return total, nil
		}
	}
}
