package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/ledger/internal/app"
)

func (t *ledgerTx) LockGoodwillBudget(ctx context.Context, month time.Time) (int64, error) {
	if _, err := t.tx.Exec(ctx, `INSERT INTO goodwill_budgets (month) VALUES ($1::date) ON CONFLICT DO NOTHING`, month); err != nil {
		return 0, err
	}
	var used int64
	err := t.tx.QueryRow(ctx, `SELECT used FROM goodwill_budgets WHERE month = $1::date FOR UPDATE`, month).Scan(&used)
	return used, err
}

func (t *ledgerTx) GoodwillDecided(ctx context.Context, grantIDs []string) (map[string]bool, error) {
	rows, err := t.tx.Query(ctx, `SELECT grant_id FROM goodwill_grants WHERE grant_id = ANY($1::text[])`, grantIDs)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	var id string
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
		out[id] = true
		return nil
	})
	return out, err
}

func (t *ledgerTx) SaveGoodwill(ctx context.Context, month time.Time, used int64, decided []app.GoodwillDecision) error {
	if len(decided) == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `UPDATE goodwill_budgets SET used = $2 WHERE month = $1::date`, month, used); err != nil {
		return err
	}
	rows := make([][]any, len(decided))
	for i, d := range decided {
		member := d.MemberID
		if member == "" {
			member = d.Grant.MemberRef
		}
		txID, err := nullUUID(d.TransactionID)
		if err != nil {
			return err
		}
		rows[i] = []any{d.Grant.GrantID, d.Grant.CaseID, member, d.Grant.Points, string(d.Outcome), txID, month, d.At}
	}
	return pg.InsertRows(ctx, t.tx, "goodwill_grants",
		[]string{"grant_id", "case_id", "member_id", "points", "outcome", "transaction_id", "month", "decided_at"}, rows)
}
