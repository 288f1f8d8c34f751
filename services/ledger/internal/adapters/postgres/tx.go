package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/ledger/internal/convert"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// ledgerTx implements app.Tx. Every method taking a slice is one statement, whatever the
// slice's length.
type ledgerTx struct {
	tx     pgx.Tx
	outbox *bus.Outbox
	// locked lists the accounts this transaction has locked, in account order, so that
	// Apply locks only the others (and in that order too).
	locked map[string]bool
}

func (t *ledgerTx) InsertMember(ctx context.Context, m domain.Member, key, requestHash string) (bool, domain.Member, string, error) {
	// The referral code: m's, or else the first of a few fresh ones that no member holds
	// (a collision, about one in 10^12 per member, is retried here; one that races a
	// concurrent enrolment fails the transaction on the unique index, and the caller's
	// retry with its idempotency key draws again).
	candidates := []string{m.ReferralCode, domain.NewReferralCode(), domain.NewReferralCode(), domain.NewReferralCode()}
	err := t.tx.QueryRow(ctx, `
		INSERT INTO members (id, display_name, email, locale, survey_consent, marketing_consent, tier, enrolled_at, idempotency_key, request_hash, time_zone, referral_code)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
			(SELECT c FROM unnest($12::text[]) WITH ORDINALITY AS u(c, i)
			 WHERE c <> '' AND NOT EXISTS (SELECT FROM members WHERE referral_code = u.c) ORDER BY i LIMIT 1))
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING referral_code`,
		m.ID, m.DisplayName, m.Email, m.Locale, m.SurveyConsent, m.MarketingConsent, m.Tier, m.EnrolledAt, key, requestHash, m.TimeZone,
		candidates).Scan(&m.ReferralCode)
	if errors.Is(err, pgx.ErrNoRows) {
		var hash string
		existing, err := scanMember(t.tx.QueryRow(ctx, `SELECT `+memberColumns+`, request_hash FROM members WHERE idempotency_key = $1`, key), &hash)
		return false, existing, hash, err
	}
	if err != nil {
		return false, domain.Member{}, "", err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO accounts (name, member_id, balance) SELECT unnest($1::text[]), $2, 0`,
		domain.MemberAccounts(m.ID), m.ID)
	return true, m, requestHash, err
}

func (t *ledgerTx) LockMember(ctx context.Context, id string) (domain.Member, error) {
	return scanMember(t.tx.QueryRow(ctx, `SELECT `+memberColumns+` FROM members WHERE id = $1 FOR UPDATE`, id))
}

func (t *ledgerTx) SaveErasure(ctx context.Context, m domain.Member) error {
	tag, err := t.tx.Exec(ctx, `
		UPDATE members SET display_name = $2, email = $3, survey_consent = $4, marketing_consent = $5,
			erased_at = $6, erasure_reason = $7, request_hash = ''
		WHERE id = $1`,
		m.ID, m.DisplayName, m.Email, m.SurveyConsent, m.MarketingConsent, m.ErasedAt, m.ErasureReason)
	if err == nil && tag.RowsAffected() != 1 {
		err = domain.ErrMemberNotFound
	}
	return err
}

func (t *ledgerTx) LockMembers(ctx context.Context, ids []string) (map[string]int64, error) {
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		names = append(names, domain.AvailableAccount(id))
	}
	slices.Sort(names)
	names = slices.Compact(names)
	out := make(map[string]int64, len(names))
	if len(names) == 0 {
		return out, nil
	}
	// LockRows runs above the Sort: rows are locked in name order, the one order every
	// writer of balances uses, so two transactions cannot wait for each other. Erased
	// members are left out (the partial index of erased ids keeps that cheap); one erased
	// while this runs is credited as if the batch had come just before.
	rows, err := t.tx.Query(ctx, `SELECT a.name, a.member_id::text, a.balance FROM accounts a
		WHERE a.name = ANY($1)
			AND NOT EXISTS (SELECT FROM members m WHERE m.id = a.member_id AND m.erased_at IS NOT NULL)
		ORDER BY a.name FOR UPDATE OF a`, names)
	if err != nil {
		return nil, err
	}
	var (
		name, id string
		balance  int64
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &id, &balance}, func() error {
		out[id] = balance
		t.locked[name] = true
		return nil
	})
	return out, err
}

func (t *ledgerTx) Apply(ctx context.Context, txs []domain.Transaction) error {
	if len(txs) == 0 {
		return nil
	}
	// Plain inserts (COPY for a batch): the journal is append-only and these keys are
	// new, so no conflict handling is needed. A key used before is a unique violation,
	// and the whole database transaction fails.
	rows := make([][]any, len(txs))
	for i, x := range txs {
		id, err := binaryUUID(x.ID)
		if err != nil {
			return fmt.Errorf("transaction %s: id: %w", x.IdempotencyKey, err)
		}
		member, err := nullUUID(x.MemberID)
		if err != nil {
			return fmt.Errorf("transaction %s: member: %w", x.IdempotencyKey, err)
		}
		rows[i] = []any{id, x.IdempotencyKey, string(x.Kind), string(x.Reason), x.Reference, member, x.CreatedAt}
	}
	// The journal, postings and balances go in one round trip (COPY first for a batch).
	var p pg.Pipeline
	if err := p.Insert(ctx, t.tx, "transactions",
		[]string{"id", "idempotency_key", "kind", "reason", "reference", "member_id", "created_at"}, rows); err != nil {
		return err
	}
	if err := t.post(ctx, &p, txs); err != nil {
		return err
	}
	return p.Send(ctx, t.tx)
}

func (t *ledgerTx) ApplyOnce(ctx context.Context, txs []domain.Transaction) ([]domain.Transaction, error) {
	if len(txs) == 0 {
		return nil, nil
	}
	n := len(txs)
	ids, keys, kinds, reasons, refs, members := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at := make([]time.Time, n)
	for i, x := range txs {
		ids[i], keys[i], kinds[i], reasons[i], refs[i], members[i], at[i] = x.ID, x.IdempotencyKey, string(x.Kind), string(x.Reason), x.Reference, x.MemberID, x.CreatedAt
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO transactions (id, idempotency_key, kind, reason, reference, member_id, created_at)
		SELECT u.id::uuid, u.key, u.kind, u.reason, u.ref, NULLIF(u.member, '')::uuid, u.at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
			AS u(id, key, kind, reason, ref, member, at)
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING id::text`, ids, keys, kinds, reasons, refs, members, at)
	if err != nil {
		return nil, err
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	applied := txs
	if len(inserted) < n {
		isNew := make(map[string]bool, len(inserted))
		for _, id := range inserted {
			isNew[id] = true
		}
		applied = make([]domain.Transaction, 0, len(inserted))
		for _, x := range txs {
			if isNew[x.ID] {
				applied = append(applied, x)
			}
		}
	}
	if len(applied) == 0 {
		return nil, nil
	}
	var p pg.Pipeline
	if err := t.post(ctx, &p, applied); err != nil {
		return nil, err
	}
	return applied, p.Send(ctx, t.tx)
}

// post writes (or queues in p) the postings of transactions just written and queues the
// moves of the member balances.
func (t *ledgerTx) post(ctx context.Context, p *pg.Pipeline, txs []domain.Transaction) error {
	var rows [][]any
	for _, x := range txs {
		if len(x.Postings) == 0 {
			return fmt.Errorf("transaction %s has no postings", x.IdempotencyKey)
		}
		id, err := binaryUUID(x.ID)
		if err != nil {
			return fmt.Errorf("transaction %s: id: %w", x.IdempotencyKey, err)
		}
		for i, p := range x.Postings {
			if p.Amount <= 0 || p.Source == p.Destination {
				return fmt.Errorf("transaction %s: invalid posting %+v", x.IdempotencyKey, p)
			}
			rows = append(rows, []any{id, int16(i), p.Source, p.Destination, p.Amount})
		}
	}
	if err := p.Insert(ctx, t.tx, "postings",
		[]string{"transaction_id", "seq", "source", "destination", "amount"}, rows); err != nil {
		return err
	}
	t.moveBalances(p, domain.BalanceChanges(txs))
	return nil
}

// moveBalances queues in p the changes to the stored balances of member accounts.
// Accounts not yet locked by this transaction are locked first, in name order.
func (t *ledgerTx) moveBalances(p *pg.Pipeline, changes map[string]int64) {
	if len(changes) == 0 {
		return
	}
	names := make([]string, 0, len(changes))
	for name := range changes {
		names = append(names, name)
	}
	slices.Sort(names)
	var unlocked []string
	for _, name := range names {
		if !t.locked[name] {
			unlocked = append(unlocked, name)
		}
	}
	if len(unlocked) > 0 {
		p.Queue(nil, `SELECT FROM accounts WHERE name = ANY($1) ORDER BY name FOR UPDATE`, unlocked)
		for _, name := range unlocked {
			t.locked[name] = true
		}
	}
	deltas := make([]int64, len(names))
	for i, name := range names {
		deltas[i] = changes[name]
	}
	p.Queue(func(tag pgconn.CommandTag) error {
		if int(tag.RowsAffected()) != len(names) {
			return fmt.Errorf("postings name %d member accounts but %d exist", len(names), tag.RowsAffected())
		}
		return nil
	}, `
		UPDATE accounts a SET balance = a.balance + d.delta
		FROM unnest($1::text[], $2::int8[]) AS d(name, delta)
		WHERE a.name = d.name AND a.member_id IS NOT NULL`, names, deltas)
}

func (t *ledgerTx) Emit(ctx context.Context, events ...domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	msgs := make([]proto.Message, len(events))
	for i, e := range events {
		m, err := convert.Event(e)
		if err != nil {
			return err
		}
		msgs[i] = m
	}
	return t.outbox.Enqueue(ctx, t.tx, msgs...)
}

func linesJSON(lines []domain.Line) ([]byte, error) {
	if len(lines) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(lines)
}

func (t *ledgerTx) InsertPurchases(ctx context.Context, ps []domain.Purchase) (map[domain.PurchaseKey]int64, error) {
	fresh := make(map[domain.PurchaseKey]int64, len(ps))
	if len(ps) == 0 {
		return fresh, nil
	}
	stores, txids := make([]string, len(ps)), make([]string, len(ps))
	for i, p := range ps {
		stores[i], txids[i] = p.Key.StoreID, p.Key.TransactionID
	}
	// One probe finds the purchases recorded before and the points that returns booked
	// before their purchase took back. Then the new ones go in with plain inserts (COPY
	// for a batch), much cheaper than INSERT ... ON CONFLICT (no speculative insertion).
	// Should a concurrent transaction record one of them in between, the insert hits the
	// primary key, this transaction fails and its retry finds the purchase recorded.
	rows, err := t.tx.Query(ctx, `
		SELECT u.store, u.txid,
			EXISTS (SELECT FROM purchases p WHERE p.store_id = u.store AND p.transaction_id = u.txid),
			COALESCE((SELECT sum(r.points) FROM returns r
				WHERE r.orphan AND r.store_id = u.store AND r.original_transaction_id = u.txid), 0)::int8
		FROM unnest($1::text[], $2::text[]) AS u(store, txid)`, stores, txids)
	if err != nil {
		return nil, err
	}
	known := map[domain.PurchaseKey]bool{}
	returned := map[domain.PurchaseKey]int64{}
	var (
		k      domain.PurchaseKey
		exists bool
		n      int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.StoreID, &k.TransactionID, &exists, &n}, func() error {
		if exists {
			known[k] = true
		} else if n > 0 {
			returned[k] = n
		}
		return nil
	}); err != nil {
		return nil, err
	}
	newRows := make([][]any, 0, len(ps))
	for _, p := range ps {
		if known[p.Key] {
			continue
		}
		lines, err := linesJSON(p.Lines)
		if err != nil {
			return nil, err
		}
		member, err := nullUUID(p.MemberID)
		if err != nil {
			return nil, err
		}
		ledgerTx, err := nullUUID(p.LedgerTxID)
		if err != nil {
			return nil, err
		}
		newRows = append(newRows, []any{p.Key.StoreID, p.Key.TransactionID, p.EventID, p.MemberRef, member,
			p.OccurredAt, p.Currency, p.TotalMinor, p.Points, returned[p.Key], lines, ledgerTx})
		fresh[p.Key] = returned[p.Key]
	}
	if len(newRows) == 0 {
		return fresh, nil
	}
	return fresh, pg.InsertRows(ctx, t.tx, "purchases",
		[]string{"store_id", "transaction_id", "event_id", "member_ref", "member_id", "occurred_at", "currency",
			"total_minor", "points", "points_returned", "lines", "ledger_tx_id"}, newRows)
}

// binaryUUID parses s for binary encoding. A plain [16]byte, not uuid.UUID: pgx would
// encode the latter through its driver.Valuer, as text, several times slower.
func binaryUUID(s string) ([16]byte, error) {
	id, err := uuid.Parse(s)
	return [16]byte(id), err
}

// nullUUID is nil (NULL) for "", else binaryUUID(s).
func nullUUID(s string) (any, error) {
	if s == "" {
		return nil, nil
	}
	return binaryUUID(s)
}

func (t *ledgerTx) LockPurchases(ctx context.Context, keys []domain.PurchaseKey) (map[domain.PurchaseKey]domain.Purchase, error) {
	out := make(map[domain.PurchaseKey]domain.Purchase, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	stores, txids := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		stores[i], txids[i] = k.StoreID, k.TransactionID
	}
	rows, err := t.tx.Query(ctx, `SELECT `+purchaseColumns+`, lines FROM purchases
		WHERE (store_id, transaction_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
		ORDER BY store_id, transaction_id FOR UPDATE`, stores, txids)
	if err != nil {
		return nil, err
	}
	var p domain.Purchase
	_, err = pgx.ForEachRow(rows, append(purchaseFields(&p), &p.Lines), func() error {
		out[p.Key] = p
		p.Lines = nil // the next row's lines decode into a slice of their own
		return nil
	})
	return out, err
}

const purchaseColumns = `store_id, transaction_id, event_id, member_ref, COALESCE(member_id::text, ''), occurred_at,
	currency, total_minor, points, points_returned, COALESCE(ledger_tx_id::text, '')`

// purchaseFields are the destinations of purchaseColumns.
func purchaseFields(p *domain.Purchase) []any {
	return []any{&p.Key.StoreID, &p.Key.TransactionID, &p.EventID, &p.MemberRef, &p.MemberID,
		at(&p.OccurredAt), &p.Currency, &p.TotalMinor, &p.Points, &p.PointsReturned, &p.LedgerTxID}
}

func (t *ledgerTx) SetPointsReturned(ctx context.Context, returned map[domain.PurchaseKey]int64) error {
	if len(returned) == 0 {
		return nil
	}
	var (
		stores, txids []string
		points        []int64
	)
	for k, n := range returned {
		stores, txids, points = append(stores, k.StoreID), append(txids, k.TransactionID), append(points, n)
	}
	_, err := t.tx.Exec(ctx, `
		UPDATE purchases p SET points_returned = u.points
		FROM unnest($1::text[], $2::text[], $3::int8[]) AS u(store, txid, points)
		WHERE p.store_id = u.store AND p.transaction_id = u.txid`, stores, txids, points)
	return err
}

func (t *ledgerTx) InsertUnmatched(ctx context.Context, ps []domain.Purchase) error {
	if len(ps) == 0 {
		return nil
	}
	n := len(ps)
	stores, txids, refs, currencies := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at := make([]time.Time, n)
	totals := make([]int64, n)
	kinds, values := unmatchedIdentifiers(ps)
	for i, p := range ps {
		stores[i], txids[i], refs[i], currencies[i], at[i], totals[i] = p.Key.StoreID, p.Key.TransactionID, p.MemberRef, p.Currency, p.OccurredAt, p.TotalMinor
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO unmatched_purchases (store_id, transaction_id, member_ref, occurred_at, currency, total_minor, identifier_kind, identifier_value)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::int8[], $7::text[], $8::text[])
		ON CONFLICT DO NOTHING`, stores, txids, refs, at, currencies, totals, kinds, values)
	return err
}

func (t *ledgerTx) InsertReturns(ctx context.Context, rs []domain.Return) (map[domain.ReturnKey]bool, error) {
	fresh := make(map[domain.ReturnKey]bool, len(rs))
	if len(rs) == 0 {
		return fresh, nil
	}
	n := len(rs)
	stores, ids, originals, events, refs, currencies := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at := make([]time.Time, n)
	totals := make([]int64, n)
	lines := make([][]byte, n)
	for i, r := range rs {
		b, err := linesJSON(r.Lines)
		if err != nil {
			return nil, err
		}
		stores[i], ids[i], originals[i], events[i], refs[i], currencies[i] = r.Key.StoreID, r.Key.ReturnID, r.OriginalTransactionID, r.EventID, r.MemberRef, r.Currency
		at[i], totals[i], lines[i] = r.OccurredAt, r.TotalMinor, b
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO returns (store_id, return_id, original_transaction_id, event_id, member_ref, occurred_at, currency, total_minor, lines)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::int8[], $9::json[])
		ON CONFLICT (store_id, return_id) DO NOTHING
		RETURNING store_id, return_id`, stores, ids, originals, events, refs, at, currencies, totals, lines)
	if err != nil {
		return nil, err
	}
	var k domain.ReturnKey
	_, err = pgx.ForEachRow(rows, []any{&k.StoreID, &k.ReturnID}, func() error {
		fresh[k] = true
		return nil
	})
	return fresh, err
}

func (t *ledgerTx) SaveReturnOutcomes(ctx context.Context, rs []domain.Return) error {
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	stores, ids, members, ledgerTx := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	points, debited, shortfall := make([]int64, n), make([]int64, n), make([]int64, n)
	orphan := make([]bool, n)
	for i, r := range rs {
		stores[i], ids[i], members[i], ledgerTx[i] = r.Key.StoreID, r.Key.ReturnID, r.MemberID, r.LedgerTxID
		points[i], debited[i], shortfall[i], orphan[i] = r.Points, r.Debited, r.Shortfall, r.Orphan
	}
	_, err := t.tx.Exec(ctx, `
		UPDATE returns r SET member_id = NULLIF(u.member, '')::uuid, points = u.points, debited = u.debited,
			shortfall = u.shortfall, orphan = u.orphan, ledger_tx_id = NULLIF(u.ltx, '')::uuid
		FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::bool[], $8::text[])
			AS u(store, id, member, points, debited, shortfall, orphan, ltx)
		WHERE r.store_id = u.store AND r.return_id = u.id`,
		stores, ids, members, points, debited, shortfall, orphan, ledgerTx)
	return err
}

const holdColumns = `id::text, member_id::text, points, reference, status, expires_at, created_at,
	closed_at, void_reason, request_hash`

func scanHold(row pgx.Row) (domain.Hold, error) {
	var h domain.Hold
	err := row.Scan(&h.ID, &h.MemberID, &h.Points, &h.Reference, &h.Status, at(&h.ExpiresAt), at(&h.CreatedAt), at(&h.ClosedAt),
		&h.VoidReason, &h.RequestHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, domain.ErrHoldNotFound
	}
	return h, err
}

func (t *ledgerTx) InsertHold(ctx context.Context, h domain.Hold, key string) (bool, domain.Hold, error) {
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO holds (id, member_id, points, reference, status, expires_at, created_at, idempotency_key, request_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (idempotency_key) DO NOTHING`,
		h.ID, h.MemberID, h.Points, h.Reference, string(h.Status), h.ExpiresAt, h.CreatedAt, key, h.RequestHash)
	if err != nil {
		return false, domain.Hold{}, err
	}
	if tag.RowsAffected() == 1 {
		return true, h, nil
	}
	existing, err := scanHold(t.tx.QueryRow(ctx, `SELECT `+holdColumns+` FROM holds WHERE idempotency_key = $1`, key))
	return false, existing, err
}

func (t *ledgerTx) LockHolds(ctx context.Context, ids []string) (map[string]domain.Hold, error) {
	out := make(map[string]domain.Hold, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	// In id order, the one order every locker of several holds uses.
	rows, err := t.tx.Query(ctx, `SELECT `+holdColumns+` FROM holds WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
		h, err := scanHold(row)
		out[h.ID] = h
		return struct{}{}, err
	})
	return out, err
}

func (t *ledgerTx) LockExpiredHolds(ctx context.Context, now time.Time, limit int) ([]domain.Hold, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+holdColumns+` FROM holds
		WHERE status = 'placed' AND expires_at <= $1
		ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Hold, error) { return scanHold(row) })
}

func (t *ledgerTx) SaveHolds(ctx context.Context, hs []domain.Hold) error {
	if len(hs) == 0 {
		return nil
	}
	n := len(hs)
	ids, statuses, reasons := make([]string, n), make([]string, n), make([]string, n)
	closed := make([]time.Time, n)
	for i, h := range hs {
		ids[i], statuses[i], reasons[i], closed[i] = h.ID, string(h.Status), h.VoidReason, h.ClosedAt
	}
	_, err := t.tx.Exec(ctx, `
		UPDATE holds h SET status = u.status, closed_at = u.closed, void_reason = u.reason
		FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) AS u(id, status, closed, reason)
		WHERE h.id = u.id::uuid`, ids, statuses, closed, reasons)
	return err
}
