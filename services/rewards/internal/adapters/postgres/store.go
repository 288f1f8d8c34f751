// Package postgres is the rewards service's store: catalog, redemptions and coupons in
// the service's schema, and the events the application emits written to the outbox in
// the same transaction. SQL only: what to change and what to emit is the application's.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/convert"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// Store implements app.Store on Postgres.
type Store struct {
	db     *pg.DB
	outbox *bus.Outbox
	// committed wakes the outbox relay after a statement that committed outbox rows on
	// its own, outside InTx (whose commits db reports itself), so that their events
	// leave within milliseconds instead of at the relay's next poll.
	committed func()
	// policy is the coupon attempts' failure limit and lockout (CountCouponFailure).
	policy domain.AttemptPolicy
}

var _ app.Store = (*Store)(nil)

// WithAttemptPolicy returns the store counting coupon failures under p.
func (s *Store) WithAttemptPolicy(p domain.AttemptPolicy) *Store {
	c := *s
	c.policy = p
	return &c
}

// New returns the store over db (which wakes the relay after its commits) writing
// events to outbox; committed (may be nil) is called after UseCoupon's own commit.
func New(db *pg.DB, outbox *bus.Outbox, committed func()) *Store {
	if committed == nil {
		committed = func() {}
	}
	return &Store{db: db, outbox: outbox, committed: committed}
}

// InTx runs fn in the transaction ctx carries (a consumer's batch) or in a new one.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return fn(ctx, &Tx{tx: tx, outbox: s.outbox, policy: s.policy})
	})
}

// Tx implements app.Tx in one transaction.
type Tx struct {
	tx     pgx.Tx
	outbox *bus.Outbox
	policy domain.AttemptPolicy
}

var _ app.Tx = (*Tx)(nil)

// Emit converts the events and writes them to the outbox in one statement.
func (t *Tx) Emit(ctx context.Context, events ...domain.Event) error {
	msgs, err := convert.Events(events)
	if err != nil {
		return err
	}
	return t.outbox.Enqueue(ctx, t.tx, msgs...)
}

const rewardColumns = `reward_id::text, name, kind, points_price, value_minor, currency, active, valid_days`

func scanReward(row pgx.CollectableRow) (domain.Reward, error) {
	var w domain.Reward
	err := row.Scan(&w.ID, &w.Name, &w.Kind, &w.PointsPrice, &w.ValueMinor, &w.Currency, &w.Active, &w.ValidDays)
	return w, err
}

func (t *Tx) CreateReward(ctx context.Context, w domain.Reward) (domain.Reward, error) {
	rows, err := t.tx.Query(ctx, `
		INSERT INTO rewards (reward_id, name, kind, points_price, value_minor, currency, valid_days, active)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING `+rewardColumns,
		w.ID, w.Name, string(w.Kind), w.PointsPrice, w.ValueMinor, w.Currency, w.ValidDays, w.Active)
	if err != nil {
		return domain.Reward{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanReward)
}

func (s *Store) ListRewards(ctx context.Context, includeInactive bool) ([]domain.Reward, error) {
	rows, err := s.db.Pool.Query(ctx, `
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
	r.created_at, CASE WHEN r.sealed_code_until > now() THEN r.sealed_code END, r.goodwill_case_id, r.goodwill_reason`

func scanRedemption(row pgx.CollectableRow) (domain.Redemption, error) {
	var (
		x         domain.Redemption
		expiresAt *time.Time
	)
	err := row.Scan(&x.ID, &x.IdempotencyKey, &x.RequestHash, &x.MemberID, &x.RewardID, &x.Points,
		&x.ValueMinor, &x.Currency, &x.ValidDays, &x.Status, &x.HoldID, &x.CouponID, &x.CancelReason,
		&x.CreatedAt, &x.SealedCode, &x.GoodwillCaseID, &x.GoodwillReason, &expiresAt, &x.UpdatedAt)
	if expiresAt != nil {
		x.CouponExpiresAt = *expiresAt
	}
	return x, err
}

// oneRedemption reads the single row of a query, or pgx.ErrNoRows.
func oneRedemption(rows pgx.Rows, err error) (domain.Redemption, error) {
	if err != nil {
		return domain.Redemption{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanRedemption)
}

// StartRedemption takes one round trip when the redemption is new: the insert copies the
// reward's terms and stands back if the key exists.
func (s *Store) StartRedemption(ctx context.Context, n app.NewRedemption) (domain.Redemption, bool, error) {
	// Twice at most: a reward activated between the insert and the look-up that explains
	// why nothing was inserted is tried again.
	for range 2 {
		x, err := oneRedemption(s.db.Pool.Query(ctx, `
			INSERT INTO redemptions AS r (redemption_id, idempotency_key, request_hash, member_id, reward_id,
				points, value_minor, currency, valid_days, goodwill_case_id, goodwill_reason)
			SELECT $1, $2, $3, $4, w.reward_id, CASE WHEN $6::text = '' THEN w.points_price ELSE 0 END,
				w.value_minor, w.currency, w.valid_days, $6::text, $7::text
			FROM rewards w WHERE w.reward_id = $5 AND w.active
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING `+redemptionColumns+`, NULL::timestamptz, r.updated_at`,
			n.ID, n.IdempotencyKey, n.RequestHash, n.MemberID, n.RewardID, n.GoodwillCaseID, n.GoodwillReason))
		if err == nil {
			return x, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return domain.Redemption{}, false, err
		}
		x, err = oneRedemption(s.db.Pool.Query(ctx, redemptionByKey, n.IdempotencyKey))
		if err == nil {
			return x, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return domain.Redemption{}, false, err
		}
		var active bool
		err = s.db.Pool.QueryRow(ctx, `SELECT active FROM rewards WHERE reward_id = $1`, n.RewardID).Scan(&active)
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

func (s *Store) Redemption(ctx context.Context, id string) (domain.Redemption, error) {
	x, err := oneRedemption(s.db.Pool.Query(ctx, redemptionByID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Redemption{}, fmt.Errorf("redemption %s not found", id)
	}
	return x, err
}

// CompleteRedemption issues the coupon and completes the redemption, with its sealed
// code, in one statement (the coupon is inserted only while the redemption is
// requested). The code is not kept for a member erased meanwhile: a redemption that a
// crashed call left behind may be settled after its member's erasure.
func (t *Tx) CompleteRedemption(ctx context.Context, c app.Completion) (domain.Redemption, error) {
	done, err := oneRedemption(t.tx.Query(ctx, `
		WITH c AS (
			INSERT INTO coupons (coupon_id, code_hash, redemption_id, reward_id, member_id, value_minor, currency, expires_at)
			SELECT $2, $3, q.redemption_id, q.reward_id, q.member_id, q.value_minor, q.currency,
				now() + make_interval(days => q.valid_days)
			FROM redemptions q WHERE q.redemption_id = $1 AND q.status = 'requested'
			RETURNING coupon_id, expires_at
		), kept AS (
			SELECT $5::bytea AS code WHERE NOT EXISTS (
				SELECT FROM erased_members e JOIN redemptions q USING (member_id) WHERE q.redemption_id = $1)
		), r AS (
			UPDATE redemptions SET status = 'completed', hold_id = nullif($4, '')::uuid, coupon_id = $2, updated_at = now(),
				sealed_code = (SELECT code FROM kept),
				sealed_code_until = CASE WHEN (SELECT code FROM kept) IS NOT NULL THEN now() + $6 * interval '1 microsecond' END
			WHERE redemption_id = $1 AND status = 'requested'
			RETURNING *
		)
		SELECT `+redemptionColumns+`, c.expires_at, r.updated_at FROM r JOIN c ON c.coupon_id = r.coupon_id`,
		c.RedemptionID, c.CouponID, c.CodeHash, c.HoldID, c.SealedCode, c.ShowFor.Microseconds()))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// The redemption was settled meanwhile; the coupon the statement may have
		// inserted goes with the rollback.
		return domain.Redemption{}, app.ErrNotRequested
	case pg.IsUniqueViolation(err, "coupons_redemption_id_key"):
		return domain.Redemption{}, app.ErrNotRequested
	case pg.IsUniqueViolation(err, "coupons_code_hash_key"):
		return domain.Redemption{}, app.ErrCodeTaken
	}
	return done, err
}

func (t *Tx) CancelRedemption(ctx context.Context, redemptionID, holdID, reason string) (domain.Redemption, error) {
	cancelled, err := oneRedemption(t.tx.Query(ctx, `
		UPDATE redemptions r SET status = 'cancelled', cancel_reason = $3, updated_at = now(),
			hold_id = coalesce(nullif($2::text, '')::uuid, r.hold_id)
		WHERE r.redemption_id = $1 AND r.status = 'requested'
		RETURNING `+redemptionColumns+`, NULL::timestamptz, r.updated_at`,
		redemptionID, holdID, reason))
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Redemption{}, app.ErrNotRequested
	}
	return cancelled, err
}

// ClaimAbandoned claims in one statement: SKIP LOCKED keeps concurrent claims from
// waiting on each other's rows, and the lease in settle_claimed_until from claiming
// them again while a settler works on them.
func (t *Tx) ClaimAbandoned(ctx context.Context, olderThan, lease time.Duration, limit int) ([]domain.Redemption, error) {
	rows, err := t.tx.Query(ctx, `
		WITH due AS (
			SELECT redemption_id FROM redemptions
			WHERE status = 'requested' AND created_at < now() - $1 * interval '1 microsecond'
				-- a goodwill coupon has no hold to settle: its caller's retry completes it.
				AND goodwill_case_id = ''
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
	return pgx.CollectRows(rows, scanRedemption)
}

func (t *Tx) ForgetSealedCodes(ctx context.Context, limit int) (int, error) {
	tag, err := t.tx.Exec(ctx, `
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

func (s *Store) CouponByCodeHash(ctx context.Context, codeHash []byte) (domain.Coupon, error) {
	rows, err := s.db.Pool.Query(ctx, `
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

// UseCoupon writes the coupon's use and its event in one statement, committed on its
// own: the outbox row is inserted only if the update matched.
func (s *Store) UseCoupon(ctx context.Context, c domain.Coupon, ev domain.Event) (bool, error) {
	msg, err := convert.Event(ev)
	if err != nil {
		return false, err
	}
	rows, err := s.outbox.Rows(ctx, msg)
	if err != nil {
		return false, err
	}
	row := rows[0]
	tag, err := s.db.Pool.Exec(ctx, `
		WITH used AS (
			UPDATE coupons SET redeemed_at = $2, redeemed_store_id = $3, redeemed_terminal_id = $4
			WHERE coupon_id = $1 AND redeemed_at IS NULL AND expires_at > $2
			RETURNING coupon_id)
		INSERT INTO outbox (event_id, subject, event_type, payload, headers)
		SELECT $5, $6, $7, $8, $9 FROM used`,
		c.ID, c.RedeemedAt, c.StoreID, c.TerminalID, row[0], row[1], row[2], row[3], row[4])
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	s.committed()
	return true, nil
}

// EraseMembers records the erasures and wipes the members' sealed codes, in two
// statements for the whole batch.
func (t *Tx) EraseMembers(ctx context.Context, erasures []domain.MemberErasure) error {
	ids := make([]string, len(erasures))
	at := make([]time.Time, len(erasures))
	for i, e := range erasures {
		ids[i], at[i] = e.MemberID, e.ErasedAt
	}
	// The first erasure of a member is the one that counts; a later one (the ledger
	// erasing again) changes nothing.
	if _, err := t.tx.Exec(ctx, `
		INSERT INTO erased_members (member_id, erased_at)
		SELECT * FROM unnest($1::uuid[], $2::timestamptz[])
		ON CONFLICT (member_id) DO NOTHING`, ids, at); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `
		UPDATE redemptions SET sealed_code = NULL, sealed_code_until = NULL, goodwill_reason = ''
		WHERE member_id = ANY($1::uuid[]) AND (sealed_code IS NOT NULL OR goodwill_reason <> '')`, ids)
	return err
}

// MemberRecords reads the member's redemptions and coupons, oldest first, and their
// erasure, in one round trip.
func (s *Store) MemberRecords(ctx context.Context, memberID string) (domain.MemberRecords, error) {
	out := domain.MemberRecords{MemberID: memberID}
	b := &pgx.Batch{}
	b.Queue(redemptionSelect+` WHERE r.member_id = $1 ORDER BY r.created_at, r.redemption_id`, memberID).
		Query(func(rows pgx.Rows) error {
			var err error
			out.Redemptions, err = pgx.CollectRows(rows, scanRedemption)
			return err
		})
	b.Queue(`SELECT `+couponColumns+` FROM coupons c JOIN rewards w ON w.reward_id = c.reward_id
		WHERE c.member_id = $1 ORDER BY c.issued_at, c.coupon_id`, memberID).
		Query(func(rows pgx.Rows) error {
			var err error
			out.Coupons, err = pgx.CollectRows(rows, scanCoupon)
			return err
		})
	b.Queue(`SELECT erased_at FROM erased_members WHERE member_id = $1`, memberID).
		Query(func(rows pgx.Rows) error {
			at, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
			if len(at) == 1 {
				out.ErasedAt = at[0]
			}
			return err
		})
	if err := s.db.Pool.SendBatch(ctx, b).Close(); err != nil {
		return domain.MemberRecords{}, err
	}
	return out, nil
}
