package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
)

const lotColumns = `id::text, member_id::text, COALESCE(credit_tx::text, ''), reference, points, remaining, pending,
	earned_at, matures_at, expires_at, expired`

func scanLots(rows pgx.Rows) ([]domain.Lot, error) {
	var l domain.Lot
	var out []domain.Lot
	_, err := pgx.ForEachRow(rows, []any{&l.ID, &l.MemberID, &l.CreditTx, &l.Reference, &l.Points, &l.Remaining, &l.Pending,
		at(&l.EarnedAt), at(&l.MaturesAt), at(&l.ExpiresAt), &l.Expired}, func() error {
		out = append(out, l)
		return nil
	})
	return out, err
}

func (t *ledgerTx) InsertLots(ctx context.Context, lots []domain.Lot) error {
	if len(lots) == 0 {
		return nil
	}
	rows := make([][]any, len(lots))
	for i, l := range lots {
		id, err := binaryUUID(l.ID)
		if err != nil {
			return err
		}
		member, err := binaryUUID(l.MemberID)
		if err != nil {
			return err
		}
		credit, err := nullUUID(l.CreditTx)
		if err != nil {
			return err
		}
		rows[i] = []any{id, member, credit, l.Reference, l.Points, l.Remaining, l.Pending, l.EarnedAt,
			nullTime(l.MaturesAt), nullTime(l.ExpiresAt)}
	}
	return pg.InsertRows(ctx, t.tx, "lots", []string{"id", "member_id", "credit_tx", "reference", "points", "remaining",
		"pending", "earned_at", "matures_at", "expires_at"}, rows)
}

func (t *ledgerTx) MemberLots(ctx context.Context, memberIDs []string) ([]domain.Lot, error) {
	if len(memberIDs) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT `+lotColumns+` FROM lots WHERE member_id = ANY($1::uuid[]) AND remaining > 0`, memberIDs)
	if err != nil {
		return nil, err
	}
	return scanLots(rows)
}

func (t *ledgerTx) SaveLots(ctx context.Context, lots []domain.Lot, at time.Time) error {
	if len(lots) == 0 {
		return nil
	}
	n := len(lots)
	ids := make([]string, n)
	remaining, expired := make([]int64, n), make([]int64, n)
	pending := make([]bool, n)
	for i, l := range lots {
		ids[i], remaining[i], expired[i], pending[i] = l.ID, l.Remaining, l.Expired, l.Pending
	}
	_, err := t.tx.Exec(ctx, `
		UPDATE lots l SET remaining = u.remaining, pending = u.pending, expired = u.expired,
			expired_at = CASE WHEN u.expired > l.expired THEN $5 ELSE l.expired_at END
		FROM unnest($1::uuid[], $2::int8[], $3::bool[], $4::int8[]) AS u(id, remaining, pending, expired)
		WHERE l.id = u.id`, ids, remaining, pending, expired, at)
	return err
}

func (t *ledgerTx) InsertHoldLots(ctx context.Context, holdID string, burns []domain.LotBurn) error {
	if len(burns) == 0 {
		return nil
	}
	ids, points := make([]string, len(burns)), make([]int64, len(burns))
	for i, b := range burns {
		ids[i], points[i] = b.LotID, b.Points
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO hold_lots (hold_id, lot_id, points)
		SELECT $1, u.lot, u.points FROM unnest($2::uuid[], $3::int8[]) AS u(lot, points)`, holdID, ids, points)
	return err
}

func (t *ledgerTx) HoldLots(ctx context.Context, holdIDs []string) (map[string][]domain.LotBurn, map[string]domain.Lot, error) {
	burns := map[string][]domain.LotBurn{}
	lots := map[string]domain.Lot{}
	if len(holdIDs) == 0 {
		return burns, lots, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT hold_id::text, lot_id::text, points FROM hold_lots WHERE hold_id = ANY($1::uuid[])`, holdIDs)
	if err != nil {
		return nil, nil, err
	}
	var (
		hold string
		b    domain.LotBurn
	)
	var lotIDs []string
	if _, err := pgx.ForEachRow(rows, []any{&hold, &b.LotID, &b.Points}, func() error {
		burns[hold] = append(burns[hold], b)
		lotIDs = append(lotIDs, b.LotID)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if len(lotIDs) == 0 {
		return burns, lots, nil
	}
	rows, err = t.tx.Query(ctx, `SELECT `+lotColumns+` FROM lots WHERE id = ANY($1::uuid[])`, lotIDs)
	if err != nil {
		return nil, nil, err
	}
	ls, err := scanLots(rows)
	for _, l := range ls {
		lots[l.ID] = l
	}
	return burns, lots, err
}

func (t *ledgerTx) Debts(ctx context.Context, memberIDs []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(memberIDs) == 0 {
		return out, nil
	}
	names := make([]string, len(memberIDs))
	for i, id := range memberIDs {
		names[i] = domain.DebtAccount(id)
	}
	rows, err := t.tx.Query(ctx, `SELECT member_id::text, balance FROM accounts WHERE name = ANY($1) AND balance > 0`, names)
	if err != nil {
		return nil, err
	}
	var (
		id string
		n  int64
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		out[id] = n
		return nil
	})
	return out, err
}

func (t *ledgerTx) RecordDebts(ctx context.Context, debts []app.Debt, since time.Time) (map[string]int, error) {
	out := map[string]int{}
	if len(debts) == 0 {
		return out, nil
	}
	n := len(debts)
	keys, members, refs := make([]string, n), make([]string, n), make([]string, n)
	points := make([]int64, n)
	ats := make([]time.Time, n)
	for i, d := range debts {
		keys[i], members[i], refs[i], points[i], ats[i] = d.Key, d.MemberID, d.Reference, d.Points, d.At
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO debts (idempotency_key, member_id, points, reference, at)
		SELECT * FROM unnest($1::text[], $2::uuid[], $3::int8[], $4::text[], $5::timestamptz[])
		ON CONFLICT DO NOTHING`, keys, members, points, refs, ats); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, `SELECT member_id::text, count(*) FROM debts
		WHERE member_id = ANY($1::uuid[]) AND at >= $2 GROUP BY member_id`, members, since)
	if err != nil {
		return nil, err
	}
	var (
		id string
		c  int
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &c}, func() error {
		out[id] = c
		return nil
	})
	return out, err
}

func (t *ledgerTx) FlagDebtors(ctx context.Context, memberIDs []string, at time.Time) error {
	if len(memberIDs) == 0 {
		return nil
	}
	_, err := t.tx.Exec(ctx, `UPDATE members SET debt_flagged_at = $2 WHERE id = ANY($1::uuid[]) AND debt_flagged_at IS NULL`, memberIDs, at)
	return err
}

func (t *ledgerTx) MaturingCredits(ctx context.Context, now time.Time, limit int) ([]string, []string, error) {
	rows, err := t.tx.Query(ctx, `SELECT DISTINCT credit_tx::text, member_id::text FROM (
			SELECT credit_tx, member_id FROM lots WHERE pending AND matures_at <= $1 ORDER BY matures_at LIMIT $2) due`, now, limit)
	if err != nil {
		return nil, nil, err
	}
	var credits, members []string
	var c, m string
	_, err = pgx.ForEachRow(rows, []any{&c, &m}, func() error {
		credits, members = append(credits, c), append(members, m)
		return nil
	})
	return credits, members, err
}

func (t *ledgerTx) PendingLotsOf(ctx context.Context, credits []string, now time.Time) ([]domain.Lot, error) {
	if len(credits) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT `+lotColumns+` FROM lots
		WHERE credit_tx = ANY($1::uuid[]) AND pending AND matures_at <= $2`, credits, now)
	if err != nil {
		return nil, err
	}
	return scanLots(rows)
}

func (t *ledgerTx) ExpiringLots(ctx context.Context, now time.Time, limit int) ([]string, []string, error) {
	rows, err := t.tx.Query(ctx, `SELECT id::text, member_id::text FROM lots
		WHERE remaining > 0 AND NOT pending AND expires_at IS NOT NULL AND expires_at <= $1
		ORDER BY expires_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, nil, err
	}
	var ids, members []string
	var id, m string
	_, err = pgx.ForEachRow(rows, []any{&id, &m}, func() error {
		ids, members = append(ids, id), append(members, m)
		return nil
	})
	return ids, members, err
}

func (t *ledgerTx) ExpireLots(ctx context.Context, lotIDs []string, now time.Time) ([]domain.Lot, error) {
	if len(lotIDs) == 0 {
		return nil, nil
	}
	// One statement reads and empties the due lots; it returns them as they were.
	rows, err := t.tx.Query(ctx, `
		WITH due AS (
			SELECT id, remaining, expired FROM lots
			WHERE id = ANY($1::uuid[]) AND remaining > 0 AND NOT pending AND expires_at <= $2
			FOR UPDATE)
		UPDATE lots l SET remaining = 0, expired = due.expired + due.remaining, expired_at = $2
		FROM due WHERE l.id = due.id
		RETURNING l.id::text, l.member_id::text, COALESCE(l.credit_tx::text, ''), l.reference, l.points, due.remaining, l.pending,
			l.earned_at, l.matures_at, l.expires_at, due.expired`, lotIDs, now)
	if err != nil {
		return nil, err
	}
	return scanLots(rows)
}

func (t *ledgerTx) LotsToAnnounce(ctx context.Context, now, until time.Time, limit int) ([]domain.Lot, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+lotColumns+` FROM lots
		WHERE notified_at IS NULL AND remaining > 0 AND NOT pending AND expires_at IS NOT NULL
			AND expires_at > $1 AND expires_at <= $2
		ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED`, now, until, limit)
	if err != nil {
		return nil, err
	}
	return scanLots(rows)
}

func (t *ledgerTx) MarkAnnounced(ctx context.Context, lotIDs []string, at time.Time) error {
	if len(lotIDs) == 0 {
		return nil
	}
	_, err := t.tx.Exec(ctx, `UPDATE lots SET notified_at = $2 WHERE id = ANY($1::uuid[])`, lotIDs, at)
	return err
}
