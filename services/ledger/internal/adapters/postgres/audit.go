package postgres

import (
	"context"

	"github.com/treue/treue/services/ledger/internal/domain"
)

func (t *ledgerTx) Audit(ctx context.Context, entries ...domain.AuditEntry) error {
	for _, e := range entries {
		if _, err := t.tx.Exec(ctx, `
			INSERT INTO audit_log (id, at, actor, key_id, action, object_kind, object_id, before, after, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			e.ID, e.At, e.Actor.Name, e.Actor.KeyID, e.Action, e.ObjectKind, e.ObjectID,
			nullJSON(e.Before), nullJSON(e.After), e.Note); err != nil {
			return err
		}
	}
	return nil
}

// nullJSON is SQL NULL for an absent object, so that "did not exist" differs from "{}".
func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
