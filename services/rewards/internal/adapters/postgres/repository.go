// Package postgres is the rewards service's store: catalog, redemptions and coupons in
// the service's schema, with their events written to the outbox in the same transaction.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// Repository implements app.Store on Postgres.
type Repository struct {
	pool *pgxpool.Pool
	// afterEvents runs after a commit that wrote outbox rows (it wakes the relay, so
	// events leave within milliseconds instead of at its next poll).
	afterEvents func()
}

var _ app.Store = (*Repository)(nil)

// New returns a repository on pool; afterEvents may be nil.
func New(pool *pgxpool.Pool, afterEvents func()) *Repository {
	if afterEvents == nil {
		afterEvents = func() {}
	}
	return &Repository{pool: pool, afterEvents: afterEvents}
}

// inTx runs fn in a transaction and, when it committed, wakes the relay.
func (r *Repository) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := pg.InTx(ctx, r.pool, fn); err != nil {
		return err
	}
	r.afterEvents()
	return nil
}

const rewardColumns = `reward_id::text, name, kind, points_price, value_minor, currency, active, valid_days`

func scanReward(row pgx.CollectableRow) (domain.Reward, error) {
	var w domain.Reward
	err := row.Scan(&w.ID, &w.Name, &w.Kind, &w.PointsPrice, &w.ValueMinor, &w.Currency, &w.Active, &w.ValidDays)
	return w, err
}

func (r *Repository) CreateReward(ctx context.Context, w domain.Reward) (domain.Reward, error) {
	rows, err := r.pool.Query(ctx, `
		INSERT INTO rewards (reward_id, name, kind, points_price, value_minor, currency, valid_days, active)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING `+rewardColumns,
		w.ID, w.Name, string(w.Kind), w.PointsPrice, w.ValueMinor, w.Currency, w.ValidDays, w.Active)
	if err != nil {
		return domain.Reward{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanReward)
}

func (r *Repository) ListRewards(ctx context.Context, includeInactive bool) ([]domain.Reward, error) {
	rows, err := r.pool.Query(ctx, `
		SELECT `+rewardColumns+` FROM rewards WHERE $1 OR active ORDER BY created_at, reward_id`, includeInactive)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanReward)
}

// redemptionColumns are read from a relation named r; the coupon's expiry and the time
// of the last change follow them in every query. The sealed code is read only while its
// window is open: the row may keep it a little longer, until the wiper passes.
const redemptionColumns = `r.redemption_id::text, r.idempotency_key, r.request_hash, r.member_id::text,
	r.reward_id::text, r.points, r.value_minor, r.currency, r.valid_days, r.status,
	coalesce(r.hold_id::text, ''), coalesce(r.coupon_id::text, ''), coalesce(r.cancel_reason, ''),
	r.created_at, CASE WHEN r.sealed_code_until > now() THEN r.sealed_code END`

type redemptionRow struct {
	domain.Redemption
	UpdatedAt time.Time
}

func scanRedemption(row pgx.CollectableRow) (redemptionRow, error) {
	var (
		x         redemptionRow
		expiresAt *time.Time
	)
	err := row.Scan(&x.ID, &x.IdempotencyKey, &x.RequestHash, &x.MemberID, &x.RewardID, &x.Points,
		&x.ValueMinor, &x.Currency, &x.ValidDays, &x.Status, &x.HoldID, &x.CouponID, &x.CancelReason,
		&x.CreatedAt, &x.SealedCode, &expiresAt, &x.UpdatedAt)
	if expiresAt != nil {
		x.CouponExpiresAt = *expiresAt
	}
	return x, err
}

// oneRedemption reads the single row of a query, or pgx.ErrNoRows.
func oneRedemption(rows pgx.Rows, err error) (redemptionRow, error) {
	if err != nil {
		return redemptionRow{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanRedemption)
}

// StartRedemption takes one round trip when the redemption is new: the insert copies the
// reward's terms and stands back if the key exists.
func (r *Repository) StartRedemption(ctx context.Context, n app.NewRedemption) (domain.Redemption, bool, error) {
	// Twice at most: a reward activated between the insert and the look-up that explains
	// why nothing was inserted is tried again.
	for range 2 {
		x, err := oneRedemption(r.pool.Query(ctx, `
			INSERT INTO redemptions AS r (redemption_id, idempotency_key, request_hash, member_id, reward_id,
				points, value_minor, currency, valid_days)
			SELECT $1, $2, $3, $4, w.reward_id, w.points_price, w.value_minor, w.currency, w.valid_days
			FROM rewards w WHERE w.reward_id = $5 AND w.active
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING `+redemptionColumns+`, NULL::timestamptz, r.updated_at`,
			n.ID, n.IdempotencyKey, n.RequestHash, n.MemberID, n.RewardID))
		if err == nil {
			return x.Redemption, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return domain.Redemption{}, false, err
		}
		x, err = oneRedemption(r.pool.Query(ctx, redemptionByKey, n.IdempotencyKey))
		if err == nil {
			return x.Redemption, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return domain.Redemption{}, false, err
		}
		var active bool
		err = r.pool.QueryRow(ctx, `SELECT active FROM rewards WHERE reward_id = $1`, n.RewardID).Scan(&active)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return domain.Redemption{}, false, fmt.Errorf("%w: %s", domain.ErrRewardNotFound, n.RewardID)
		case err != nil:
			return domain.Redemption{}, false, err
		case !active:
			return domain.Redemption{}, false, fmt.Errorf("%w: %s", domain.ErrRewardInactive, n.RewardID)
		}
	}
	return domain.Redemption{}, false, fmt.Errorf("redemption %s: reward %s changed while it was being redeemed", n.ID, n.RewardID)
}

const redemptionSelect = `SELECT ` + redemptionColumns + `, c.expires_at, r.updated_at
	FROM redemptions r LEFT JOIN coupons c ON c.coupon_id = r.coupon_id`

var (
	redemptionByKey = redemptionSelect + ` WHERE r.idempotency_key = $1`
	redemptionByID  = redemptionSelect + ` WHERE r.redemption_id = $1`
)

func (r *Repository) Redemption(ctx context.Context, id string) (domain.Redemption, error) {
	x, err := oneRedemption(r.pool.Query(ctx, redemptionByID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Redemption{}, fmt.Errorf("redemption %s not found", id)
	}
	return x.Redemption, err
}

// CompleteRedemption issues the coupon and completes the redemption, with its sealed
// code, in one statement (the coupon is inserted only while the redemption is
// requested), then writes both events: four round trips with BEGIN and COMMIT.
func (r *Repository) CompleteRedemption(ctx context.Context, c app.Completion) (domain.Redemption, error) {
	var done redemptionRow
	err := r.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		done, err = oneRedemption(tx.Query(ctx, `
			WITH c AS (
				INSERT INTO coupons (coupon_id, code_hash, redemption_id, reward_id, member_id, value_minor, currency, expires_at)
				SELECT $2, $3, q.redemption_id, q.reward_id, q.member_id, q.value_minor, q.currency,
					now() + make_interval(days => q.valid_days)
				FROM redemptions q WHERE q.redemption_id = $1 AND q.status = 'requested'
				RETURNING coupon_id, expires_at
			), r AS (
				UPDATE redemptions SET status = 'completed', hold_id = $4, coupon_id = $2, updated_at = now(),
					sealed_code = $5, sealed_code_until = CASE WHEN $5::bytea IS NOT NULL THEN now() + $6 * interval '1 microsecond' END
				WHERE redemption_id = $1 AND status = 'requested'
				RETURNING *
			)
			SELECT `+redemptionColumns+`, c.expires_at, r.updated_at FROM r JOIN c ON c.coupon_id = r.coupon_id`,
			c.RedemptionID, c.CouponID, c.CodeHash, c.HoldID, c.SealedCode, c.ShowFor.Microseconds()))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// The redemption was settled meanwhile; the coupon the statement may have
			// inserted goes with the rollback.
			return app.ErrNotRequested
		case pg.IsUniqueViolation(err, "coupons_redemption_id_key"):
			return app.ErrNotRequested
		case pg.IsUniqueViolation(err, "coupons_code_hash_key"):
			return app.ErrCodeTaken
		case err != nil:
			return err
		}
		return bus.Enqueue(ctx, tx, redemptionCompletedEvent(done), couponIssuedEvent(done))
	})
	return done.Redemption, err
}

func (r *Repository) CancelRedemption(ctx context.Context, redemptionID, holdID, reason string) (domain.Redemption, error) {
	var cancelled redemptionRow
	err := r.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		cancelled, err = oneRedemption(tx.Query(ctx, `
			UPDATE redemptions r SET status = 'cancelled', cancel_reason = $3, updated_at = now(),
				hold_id = coalesce(nullif($2::text, '')::uuid, r.hold_id)
			WHERE r.redemption_id = $1 AND r.status = 'requested'
			RETURNING `+redemptionColumns+`, NULL::timestamptz, r.updated_at`,
			redemptionID, holdID, reason))
		if errors.Is(err, pgx.ErrNoRows) {
			return app.ErrNotRequested
		}
		if err != nil {
			return err
		}
		return bus.Enqueue(ctx, tx, redemptionCancelledEvent(cancelled))
	})
	return cancelled.Redemption, err
}

// ClaimAbandoned claims in one statement: SKIP LOCKED keeps concurrent claims from
// waiting on each other's rows, and the lease in settle_claimed_until from claiming
// them again while a settler works on them.
func (r *Repository) ClaimAbandoned(ctx context.Context, olderThan, lease time.Duration, limit int) ([]domain.Redemption, error) {
	rows, err := r.pool.Query(ctx, `
		WITH due AS (
			SELECT redemption_id FROM redemptions
			WHERE status = 'requested' AND created_at < now() - $1 * interval '1 microsecond'
				AND (settle_claimed_until IS NULL OR settle_claimed_until < now())
			ORDER BY created_at
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		)
		UPDATE redemptions r SET settle_claimed_until = now() + $2 * interval '1 microsecond'
		FROM due WHERE r.redemption_id = due.redemption_id
		RETURNING `+redemptionColumns+`, NULL::timestamptz, r.updated_at`,
		olderThan.Microseconds(), lease.Microseconds(), limit)
	if err != nil {
		return nil, err
	}
	xs, err := pgx.CollectRows(rows, scanRedemption)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Redemption, len(xs))
	for i, x := range xs {
		out[i] = x.Redemption
	}
	return out, nil
}

func (r *Repository) ForgetSealedCodes(ctx context.Context, limit int) (int, error) {
	tag, err := r.pool.Exec(ctx, `
		UPDATE redemptions SET sealed_code = NULL, sealed_code_until = NULL
		WHERE redemption_id IN (
			SELECT redemption_id FROM redemptions
			WHERE sealed_code IS NOT NULL AND sealed_code_until <= now()
			ORDER BY sealed_code_until
			LIMIT $1
			FOR UPDATE SKIP LOCKED)`, limit)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

const couponColumns = `c.coupon_id::text, c.redemption_id::text, c.member_id::text, c.reward_id::text, w.name,
	c.value_minor, c.currency, c.issued_at, c.expires_at, c.redeemed_at,
	coalesce(c.redeemed_store_id, ''), coalesce(c.redeemed_terminal_id, '')`

func scanCoupon(row pgx.CollectableRow) (domain.Coupon, error) {
	var (
		c          domain.Coupon
		redeemedAt *time.Time
	)
	err := row.Scan(&c.ID, &c.RedemptionID, &c.MemberID, &c.RewardID, &c.RewardName, &c.ValueMinor,
		&c.Currency, &c.IssuedAt, &c.ExpiresAt, &redeemedAt, &c.StoreID, &c.TerminalID)
	if redeemedAt != nil {
		c.RedeemedAt = *redeemedAt
	}
	return c, err
}

func (r *Repository) CouponByCodeHash(ctx context.Context, codeHash []byte) (domain.Coupon, error) {
	rows, err := r.pool.Query(ctx, `
		SELECT `+couponColumns+` FROM coupons c JOIN rewards w ON w.reward_id = c.reward_id
		WHERE c.code_hash = $1`, codeHash)
	if err != nil {
		return domain.Coupon{}, err
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanCoupon)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Coupon{}, domain.ErrCouponNotFound
	}
	return c, err
}

// UseCoupon is single use by one conditional statement: it marks the coupon redeemed
// only while it is unused and unexpired, and writes the coupon.redeemed event only if it
// did. Of concurrent attempts on one code, the first to lock the row updates it; the
// others re-check the condition on the updated row and match nothing. The coupon is
// read first, to build the event: two round trips, where a transaction takes four.
func (r *Repository) UseCoupon(ctx context.Context, codeHash []byte, storeID, terminalID string) (domain.Coupon, error) {
	c, err := r.CouponByCodeHash(ctx, codeHash)
	if err != nil {
		return domain.Coupon{}, err
	}
	// One clock judges expiry here and below, the service's.
	now := time.Now().UTC().Truncate(time.Microsecond)
	if c.RedeemedAt.IsZero() {
		c.RedeemedAt, c.StoreID, c.TerminalID = now, storeID, terminalID
		rows, err := bus.OutboxRows(ctx, couponRedeemedEvent(c))
		if err != nil {
			return domain.Coupon{}, err
		}
		ev := rows[0]
		tag, err := r.pool.Exec(ctx, `
			WITH used AS (
				UPDATE coupons SET redeemed_at = $2, redeemed_store_id = $3, redeemed_terminal_id = $4
				WHERE coupon_id = $1 AND redeemed_at IS NULL AND expires_at > $2
				RETURNING coupon_id)
			INSERT INTO outbox (event_id, subject, event_type, payload, headers)
			SELECT $5, $6, $7, $8, $9 FROM used`,
			c.ID, c.RedeemedAt, storeID, terminalID, ev[0], ev[1], ev[2], ev[3], ev[4])
		if err != nil {
			return domain.Coupon{}, err
		}
		if tag.RowsAffected() == 1 {
			r.afterEvents()
			return c, nil
		}
	}
	// Not usable: say why, as of now.
	var redeemed, expired bool
	err = r.pool.QueryRow(ctx, `
		SELECT redeemed_at IS NOT NULL, expires_at <= $2 FROM coupons WHERE code_hash = $1`, codeHash, now).
		Scan(&redeemed, &expired)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return domain.Coupon{}, domain.ErrCouponNotFound
	case err != nil:
		return domain.Coupon{}, err
	case redeemed:
		return domain.Coupon{}, domain.ErrCouponAlreadyRedeemed
	case expired:
		return domain.Coupon{}, domain.ErrCouponExpired
	}
	// Used or expired by the update's time, and neither now, cannot be; a coupon deleted
	// meanwhile is as good as unknown.
	return domain.Coupon{}, domain.ErrCouponNotFound
}
