package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// Identifiers, profiles, claims and consents: the members' area.

// unmatchedIdentifiers are the identifiers unmatched purchases named, normalised ("" for
// a reference that is no identifier), for InsertUnmatched.
func unmatchedIdentifiers(ps []domain.Purchase) (kinds, values []string) {
	kinds, values = make([]string, len(ps)), make([]string, len(ps))
	for i, p := range ps {
		if r, ok := domain.ParseMemberRef(p.MemberRef); ok && r.MemberID == "" {
			kinds[i], values[i] = string(r.Identifier.Kind), r.Identifier.Value
		}
	}
	return kinds, values
}

func identifierColumns(ids []domain.Identifier) (kinds, values []string) {
	kinds, values = make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		kinds[i], values[i] = string(id.Kind), id.Value
	}
	return kinds, values
}

func (t *ledgerTx) InsertIdentifiers(ctx context.Context, memberID string, ids []domain.Identifier, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	kinds, values := identifierColumns(ids)
	// ON CONFLICT waits for a concurrent insert of the same identifier to commit; the
	// probe after it (a statement of its own, so with a fresh snapshot) then sees who
	// holds it.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO member_identifiers (kind, value, member_id, added_at)
		SELECT k, v, $3, $4 FROM unnest($1::text[], $2::text[]) AS u(k, v)
		ON CONFLICT (kind, value) DO NOTHING`, kinds, values, memberID, at)
	var taken []string
	b.Queue(`SELECT i.kind FROM member_identifiers i JOIN unnest($1::text[], $2::text[]) AS u(k, v) ON i.kind = u.k AND i.value = u.v
		WHERE i.member_id <> $3 ORDER BY i.kind`, kinds, values, memberID).Query(func(rows pgx.Rows) error {
		var err error
		taken, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if len(taken) > 0 {
		return &domain.IdentifierTakenError{Kind: domain.IdentifierKind(taken[0])}
	}
	return nil
}

func (t *ledgerTx) DeleteIdentifier(ctx context.Context, memberID string, id domain.Identifier) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM member_identifiers WHERE kind = $1 AND value = $2 AND member_id = $3`,
		string(id.Kind), id.Value, memberID)
	if err == nil && tag.RowsAffected() == 0 {
		err = domain.ErrIdentifierNotFound
	}
	return err
}

func (t *ledgerTx) ResolveIdentifiers(ctx context.Context, ids []domain.Identifier) (map[domain.Identifier]string, error) {
	out := make(map[domain.Identifier]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	kinds, values := identifierColumns(ids)
	rows, err := t.tx.Query(ctx, `SELECT i.kind, i.value, i.member_id::text
		FROM member_identifiers i JOIN unnest($1::text[], $2::text[]) AS u(k, v) ON i.kind = u.k AND i.value = u.v`, kinds, values)
	if err != nil {
		return nil, err
	}
	var (
		id     domain.Identifier
		member string
	)
	_, err = pgx.ForEachRow(rows, []any{&id.Kind, &id.Value, &member}, func() error {
		out[id] = member
		return nil
	})
	return out, err
}

func (t *ledgerTx) ClaimableReceipts(ctx context.Context, ids []domain.Identifier, since time.Time) ([]domain.ClaimableReceipt, error) {
	kinds, values := identifierColumns(ids)
	rows, err := t.tx.Query(ctx, `SELECT p.store_id, p.transaction_id, p.occurred_at, p.currency, p.total_minor
		FROM unmatched_purchases p JOIN unnest($1::text[], $2::text[]) AS u(k, v)
			ON p.identifier_kind = u.k AND p.identifier_value = u.v
		WHERE p.claimed_at IS NULL AND p.identifier_kind <> '' AND p.occurred_at >= $3
		ORDER BY p.occurred_at, p.store_id, p.transaction_id`, kinds, values, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.ClaimableReceipt, error) {
		var r domain.ClaimableReceipt
		err := row.Scan(&r.Key.StoreID, &r.Key.TransactionID, at(&r.OccurredAt), &r.Currency, &r.TotalMinor)
		return r, err
	})
}

const profileColumns = memberColumns + `, tags, attributes`

// scanProfile reads profileColumns; the identifiers are read apart.
func scanProfile(row pgx.Row) (domain.Profile, error) {
	var p domain.Profile
	m := &p.Member
	err := row.Scan(&m.ID, &m.DisplayName, &m.Email, &m.Locale, &m.SurveyConsent, &m.MarketingConsent,
		&m.Tier, at(&m.EnrolledAt), at(&m.ErasedAt), &m.ErasureReason, &m.TimeZone, &m.ReferralCode, &p.Tags, &p.Attributes)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, domain.ErrMemberNotFound
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if p.Attributes == nil {
		p.Attributes = map[string]string{}
	}
	return p, err
}

// querier is a pool or a transaction: reads (and the tiers' writes) run on either.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// withIdentifiers fills the identifiers of profiles in one query.
func withIdentifiers(ctx context.Context, q querier, ps []domain.Profile) error {
	if len(ps) == 0 {
		return nil
	}
	index := make(map[string]int, len(ps))
	ids := make([]string, len(ps))
	for i, p := range ps {
		index[p.Member.ID], ids[i] = i, p.Member.ID
		ps[i].Identifiers = []domain.Identifier{}
	}
	rows, err := q.Query(ctx, `SELECT member_id::text, kind, value FROM member_identifiers
		WHERE member_id = ANY($1::uuid[]) ORDER BY member_id, kind, value`, ids)
	if err != nil {
		return err
	}
	var (
		member string
		id     domain.Identifier
	)
	_, err = pgx.ForEachRow(rows, []any{&member, &id.Kind, &id.Value}, func() error {
		if i, ok := index[member]; ok {
			ps[i].Identifiers = append(ps[i].Identifiers, id)
		}
		return nil
	})
	return err
}

func profile(ctx context.Context, q querier, memberID string, lock bool) (domain.Profile, error) {
	sql := `SELECT ` + profileColumns + ` FROM members WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	p, err := scanProfile(q.QueryRow(ctx, sql, memberID))
	if err != nil {
		return p, err
	}
	ps := []domain.Profile{p}
	err = withIdentifiers(ctx, q, ps)
	return ps[0], err
}

func (t *ledgerTx) LockProfile(ctx context.Context, memberID string) (domain.Profile, error) {
	return profile(ctx, t.tx, memberID, true)
}

func (t *ledgerTx) SaveProfile(ctx context.Context, p domain.Profile) error {
	tag, err := t.tx.Exec(ctx, `UPDATE members SET display_name = $2, locale = $3, tags = $4, attributes = $5, time_zone = $6 WHERE id = $1`,
		p.Member.ID, p.Member.DisplayName, p.Member.Locale, p.Tags, p.Attributes, p.Member.TimeZone)
	if err == nil && tag.RowsAffected() != 1 {
		err = domain.ErrMemberNotFound
	}
	return err
}

func (t *ledgerTx) InsertConsents(ctx context.Context, rs []domain.ConsentRecord) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([][]any, len(rs))
	for i, r := range rs {
		rows[i] = []any{r.ID, r.MemberID, string(r.Purpose), r.Granted, r.Wording, r.WordingVersion, string(r.Channel),
			r.Actor.Name, r.Actor.KeyID, r.Evidence, r.RecordedAt}
	}
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{"consent_records"},
		[]string{"id", "member_id", "purpose", "granted", "wording", "wording_version", "channel", "actor", "key_id", "evidence", "recorded_at"},
		pgx.CopyFromRows(rows))
	return err
}

func (t *ledgerTx) SaveConsents(ctx context.Context, m domain.Member) error {
	_, err := t.tx.Exec(ctx, `UPDATE members SET survey_consent = $2, marketing_consent = $3 WHERE id = $1`,
		m.ID, m.SurveyConsent, m.MarketingConsent)
	return err
}

func (t *ledgerTx) ClaimByKey(ctx context.Context, key string) (domain.Claim, string, bool, error) {
	var (
		c    domain.Claim
		hash string
	)
	err := t.tx.QueryRow(ctx, `SELECT store_id, transaction_id, member_id::text, points, COALESCE(ledger_tx_id::text, ''),
			channel, actor, claimed_at, request_hash
		FROM purchase_claims WHERE idempotency_key = $1`, key).Scan(&c.Key.StoreID, &c.Key.TransactionID, &c.MemberID,
		&c.Points, &c.LedgerTxID, &c.Channel, &c.Actor.Name, at(&c.ClaimedAt), &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Claim{}, "", false, nil
	}
	return c, hash, err == nil, err
}

func (t *ledgerTx) SaveClaim(ctx context.Context, c domain.Claim, key, hash string) error {
	ledgerTx, err := nullUUID(c.LedgerTxID)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO purchase_claims (store_id, transaction_id, member_id, points, ledger_tx_id, channel, actor, claimed_at, idempotency_key, request_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.Key.StoreID, c.Key.TransactionID, c.MemberID, c.Points, ledgerTx, string(c.Channel), c.Actor.Name, c.ClaimedAt, key, hash)
	b.Queue(`UPDATE purchases SET member_id = $3, points = $4, ledger_tx_id = $5 WHERE store_id = $1 AND transaction_id = $2`,
		c.Key.StoreID, c.Key.TransactionID, c.MemberID, c.Points, ledgerTx)
	b.Queue(`UPDATE unmatched_purchases SET claimed_at = $3, claimed_by = $4 WHERE store_id = $1 AND transaction_id = $2`,
		c.Key.StoreID, c.Key.TransactionID, c.ClaimedAt, c.MemberID)
	return t.tx.SendBatch(ctx, b).Close()
}

func (t *ledgerTx) EraseMemberData(ctx context.Context, memberID string) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM member_identifiers WHERE member_id = $1`, memberID)
	b.Queue(`UPDATE consent_records SET evidence = '' WHERE member_id = $1 AND evidence <> ''`, memberID)
	b.Queue(`UPDATE members SET tags = '{}', attributes = '{}' WHERE id = $1`, memberID)
	// A card, email or phone the POS named the member by identifies them; the id is a
	// pseudonym. These tables have no index on member ids: an erasure is rare.
	b.Queue(`UPDATE purchases SET member_ref = member_id::text WHERE member_id = $1 AND member_ref <> member_id::text`, memberID)
	b.Queue(`UPDATE returns SET member_ref = member_id::text WHERE member_id = $1 AND member_ref <> member_id::text`, memberID)
	b.Queue(`UPDATE unmatched_purchases SET member_ref = $1::text, identifier_kind = '', identifier_value = ''
		WHERE claimed_by = $1`, memberID)
	return t.tx.SendBatch(ctx, b).Close()
}

// LookupIdentifier reads what a till may learn of the member holding id, in one query.
func (s *Store) LookupIdentifier(ctx context.Context, id domain.Identifier) (domain.TillView, error) {
	var (
		v    domain.TillView
		name string
	)
	err := s.db.Pool.QueryRow(ctx, `SELECT m.id::text, m.tier, a.balance, m.display_name
		FROM member_identifiers i JOIN members m ON m.id = i.member_id
			JOIN accounts a ON a.name = 'member:' || m.id::text
		WHERE i.kind = $1 AND i.value = $2 AND m.erased_at IS NULL`, string(id.Kind), id.Value).Scan(&v.MemberID, &v.Tier, &v.Available, &name)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, domain.ErrIdentifierNotFound
	}
	v.NameInitial = domain.NameInitial(name)
	return v, err
}

// SearchMembers finds members by name, email or identifier prefix, in id order (UUIDv7:
// enrolment order). Each way of matching is a union branch of its own, so that each uses
// its prefix index.
func (s *Store) SearchMembers(ctx context.Context, q app.MemberQuery, after string, limit int) ([]domain.Profile, error) {
	var afterID any
	if after != "" {
		afterID = after
	}
	var (
		rows pgx.Rows
		err  error
	)
	if q.Text == "" && len(q.IdentifierPrefixes) == 0 {
		rows, err = s.db.Pool.Query(ctx, `SELECT `+profileColumns+` FROM members
			WHERE $1::uuid IS NULL OR id > $1::uuid ORDER BY id LIMIT $2`, afterID, limit)
	} else {
		prefixes := make([]string, len(q.IdentifierPrefixes))
		for i, p := range q.IdentifierPrefixes {
			prefixes[i] = likePrefix(p)
		}
		rows, err = s.db.Pool.Query(ctx, `
			WITH hits AS (
				SELECT id FROM members WHERE lower(display_name) LIKE $1
				UNION SELECT id FROM members WHERE lower(email) LIKE $1
				UNION SELECT member_id FROM member_identifiers WHERE value LIKE ANY($2::text[])
			)
			SELECT `+profileColumns+` FROM members WHERE id IN (SELECT id FROM hits)
				AND ($3::uuid IS NULL OR id > $3::uuid)
			ORDER BY id LIMIT $4`, likePrefix(q.Text), prefixes, afterID, limit)
	}
	if err != nil {
		return nil, err
	}
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Profile, error) { return scanProfile(row) })
	if err != nil {
		return nil, err
	}
	return ps, withIdentifiers(ctx, s.db.Pool, ps)
}

// likePrefix is the LIKE pattern of what starts with p (its wildcards escaped).
func likePrefix(p string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
}

// Profile reads a member with their identifiers, tags and attributes.
func (s *Store) Profile(ctx context.Context, memberID string) (domain.Profile, error) {
	return profile(ctx, s.db.Pool, memberID, false)
}

// Consents reads the member's consent records, newest first.
func (s *Store) Consents(ctx context.Context, memberID string) ([]domain.ConsentRecord, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT id::text, member_id::text, purpose, granted, wording, wording_version, channel,
			actor, key_id, evidence, recorded_at
		FROM consent_records WHERE member_id = $1 ORDER BY recorded_at DESC, id DESC`, memberID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.ConsentRecord, error) {
		var r domain.ConsentRecord
		err := row.Scan(&r.ID, &r.MemberID, &r.Purpose, &r.Granted, &r.Wording, &r.WordingVersion, &r.Channel,
			&r.Actor.Name, &r.Actor.KeyID, &r.Evidence, at(&r.RecordedAt))
		r.RecordedBy = r.Actor.Name
		return r, err
	})
}
