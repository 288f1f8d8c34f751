package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

var (
	_ app.EarnTx    = (*ledgerTx)(nil)
	_ app.EarnStore = (*Store)(nil)
)

// ruleJSON is a rule version as rule_versions.definition keeps it. Rates are kept as
// their exact fraction.
type ruleJSON struct {
	Name       string    `json:"name"`
	CampaignID string    `json:"campaign_id,omitempty"`
	Trigger    string    `json:"trigger"`
	Condition  string    `json:"condition,omitempty"`
	LineFilter string    `json:"line_filter,omitempty"`
	AwardKind  string    `json:"award_kind"`
	RateNum    int64     `json:"rate_num,omitempty"`
	RateDen    int64     `json:"rate_den,omitempty"`
	Points     int64     `json:"points,omitempty"`
	Per        string    `json:"per"`
	On         string    `json:"on"`
	Priority   int       `json:"priority"`
	Stacking   string    `json:"stacking"`
	Group      string    `json:"group,omitempty"`
	ValidFrom  time.Time `json:"valid_from,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	Caps       earn.Caps `json:"caps"`
	Expiry     string    `json:"expiry,omitempty"`
	EventLimit string    `json:"event_limit,omitempty"`
}

func ruleDefinition(v earn.RuleVersion) ([]byte, error) {
	num, den := v.Award.Rate.Fraction()
	return json.Marshal(ruleJSON{Name: v.Name, CampaignID: v.CampaignID, Trigger: v.Trigger, Condition: v.Condition,
		LineFilter: v.LineFilter, AwardKind: string(v.Award.Kind), RateNum: num, RateDen: den, Points: v.Award.Points,
		Per: string(v.Award.Per), On: string(v.Award.On), Priority: v.Priority, Stacking: string(v.Stacking),
		Group: v.Group, ValidFrom: v.ValidFrom, ValidUntil: v.ValidUntil, Caps: v.Caps, Expiry: v.Expiry,
		EventLimit: string(v.EventLimit)})
}

func parseRuleDefinition(id string, version int, b []byte) (earn.RuleVersion, error) {
	var j ruleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return earn.RuleVersion{}, fmt.Errorf("rule %s version %d: %w", id, version, err)
	}
	v := earn.RuleVersion{RuleID: id, Version: version, Name: j.Name, CampaignID: j.CampaignID, Trigger: j.Trigger,
		Condition: j.Condition, LineFilter: j.LineFilter,
		Award:    earn.Award{Kind: earn.AwardKind(j.AwardKind), Points: j.Points, Per: earn.Scope(j.Per), On: earn.Target(j.On)},
		Priority: j.Priority, Stacking: earn.Stacking(j.Stacking), Group: j.Group, ValidFrom: j.ValidFrom.UTC(),
		ValidUntil: j.ValidUntil.UTC(), Caps: j.Caps, Expiry: j.Expiry, EventLimit: earn.Limit(j.EventLimit)}
	if j.RateDen > 0 {
		r, err := domain.NewRate(j.RateNum, j.RateDen)
		if err != nil {
			return earn.RuleVersion{}, fmt.Errorf("rule %s version %d: %w", id, version, err)
		}
		v.Award.Rate = r
	}
	if v.ValidFrom.Equal(time.Time{}.UTC()) {
		v.ValidFrom = time.Time{}
	}
	if v.ValidUntil.Equal(time.Time{}.UTC()) {
		v.ValidUntil = time.Time{}
	}
	return v, nil
}

func (t *ledgerTx) EarningEpoch(ctx context.Context) (int64, error) {
	var n int64
	err := t.tx.QueryRow(ctx, `SELECT epoch FROM earning_epoch`).Scan(&n)
	return n, err
}

func (t *ledgerTx) BumpEarningEpoch(ctx context.Context) error {
	_, err := t.tx.Exec(ctx, `UPDATE earning_epoch SET epoch = epoch + 1`)
	return err
}

const ruleColumns = `r.id::text, r.state, r.current_version, v.version, v.definition, v.created_at, v.created_by`

func scanRules(rows pgx.Rows) ([]earn.StoredRule, error) {
	var (
		out []earn.StoredRule
		r   earn.StoredRule
		id  string
		def []byte
	)
	_, err := pgx.ForEachRow(rows, []any{&id, &r.State, &r.Current, &r.Version.Version, &def, at(&r.CreatedAt), &r.CreatedBy}, func() error {
		v, err := parseRuleDefinition(id, r.Version.Version, def)
		if err != nil {
			return err
		}
		r.Version = v
		out = append(out, r)
		return nil
	})
	return out, err
}

func (t *ledgerTx) LiveRuleVersions(ctx context.Context) ([]earn.RuleVersion, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+ruleColumns+` FROM rules r
		JOIN rule_versions v ON v.rule_id = r.id AND v.version = r.current_version
		WHERE r.state = 'active' ORDER BY r.id`)
	if err != nil {
		return nil, err
	}
	rs, err := scanRules(rows)
	out := make([]earn.RuleVersion, len(rs))
	for i, r := range rs {
		out[i] = r.Version
	}
	return out, err
}

func (t *ledgerTx) InsertRule(ctx context.Context, r earn.StoredRule) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO rules (id, current_version, state, updated_at) VALUES ($1, $2, $3, $4)`,
		r.Version.RuleID, r.Version.Version, r.State, r.CreatedAt); err != nil {
		return err
	}
	return t.insertVersion(ctx, r)
}

func (t *ledgerTx) insertVersion(ctx context.Context, r earn.StoredRule) error {
	def, err := ruleDefinition(r.Version)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO rule_versions (rule_id, version, definition, created_at, created_by) VALUES ($1, $2, $3, $4, $5)`,
		r.Version.RuleID, r.Version.Version, def, r.CreatedAt, r.CreatedBy)
	return err
}

func (t *ledgerTx) LockRule(ctx context.Context, id string) (earn.StoredRule, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+ruleColumns+` FROM rules r
		JOIN rule_versions v ON v.rule_id = r.id AND v.version = r.current_version
		WHERE r.id = $1 FOR UPDATE OF r`, id)
	if err != nil {
		return earn.StoredRule{}, err
	}
	rs, err := scanRules(rows)
	if err == nil && len(rs) == 0 {
		err = earn.ErrRuleNotFound
	}
	if err != nil {
		return earn.StoredRule{}, err
	}
	return rs[0], nil
}

func (t *ledgerTx) InsertRuleVersion(ctx context.Context, r earn.StoredRule) error {
	if err := t.insertVersion(ctx, r); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `UPDATE rules SET current_version = $2, state = $3, updated_at = $4 WHERE id = $1`,
		r.Version.RuleID, r.Version.Version, r.State, r.CreatedAt)
	return err
}

func (t *ledgerTx) SetRuleState(ctx context.Context, id string, state earn.RuleState, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE rules SET state = $2, updated_at = $3 WHERE id = $1`, id, state, at)
	return err
}

func (t *ledgerTx) SetLivePeriod(ctx context.Context, id string, version int, at time.Time) error {
	// Two statements: in one, the insert would still see the open period's index entry.
	if _, err := t.tx.Exec(ctx, `UPDATE rule_live_periods SET live_until = $2 WHERE rule_id = $1 AND live_until IS NULL`, id, at); err != nil || version == 0 {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO rule_live_periods (rule_id, version, live_from) VALUES ($1, $2, $3)`, id, version, at)
	return err
}

const campaignColumns = `id::text, name, starts_at, ends_at, stores, channels, active, budget_points, spent_points,
	exhausted_at, updated_at`

func campaignFields(c *earn.Campaign) []any {
	return []any{&c.ID, &c.Name, at(&c.From), at(&c.Until), &c.Stores, &c.Channels, &c.Active, &c.Budget, &c.Spent,
		at(&c.ExhaustedAt), at(&c.UpdatedAt)}
}

func scanCampaigns(rows pgx.Rows) ([]earn.Campaign, error) {
	var (
		out []earn.Campaign
		c   earn.Campaign
	)
	_, err := pgx.ForEachRow(rows, campaignFields(&c), func() error {
		out = append(out, c)
		return nil
	})
	return out, err
}

func (t *ledgerTx) InsertCampaign(ctx context.Context, c earn.Campaign, now time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO campaigns (id, name, starts_at, ends_at, stores, channels, active, budget_points,
		spent_points, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)`,
		c.ID, c.Name, nullTime(c.From), nullTime(c.Until), nonNil(c.Stores), nonNil(c.Channels), c.Active, c.Budget, now)
	return err
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func (t *ledgerTx) LockCampaign(ctx context.Context, id string) (earn.Campaign, error) {
	cs, err := t.LockCampaigns(ctx, []string{id})
	if err != nil {
		return earn.Campaign{}, err
	}
	c, ok := cs[id]
	if !ok {
		return earn.Campaign{}, earn.ErrCampaignNotFound
	}
	return c, nil
}

// SaveCampaign leaves spent_points alone: only SpendBudgets moves it.
func (t *ledgerTx) SaveCampaign(ctx context.Context, c earn.Campaign, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE campaigns SET name = $2, starts_at = $3, ends_at = $4, stores = $5, channels = $6,
		active = $7, budget_points = $8, updated_at = $9,
		exhausted_at = CASE WHEN $8 > 0 AND spent_points >= $8 THEN COALESCE(exhausted_at, $9) END
		WHERE id = $1`,
		c.ID, c.Name, nullTime(c.From), nullTime(c.Until), nonNil(c.Stores), nonNil(c.Channels), c.Active, c.Budget, now)
	return err
}

func (t *ledgerTx) LockCampaigns(ctx context.Context, ids []string) (map[string]earn.Campaign, error) {
	out := map[string]earn.Campaign{}
	if len(ids) == 0 {
		return out, nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	rows, err := t.tx.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, slices.Compact(ids))
	if err != nil {
		return nil, err
	}
	cs, err := scanCampaigns(rows)
	for _, c := range cs {
		out[c.ID] = c
	}
	return out, err
}

// ErrBudgetOverspent: a spend would have taken a campaign beyond its budget. The engine
// never asks for that when the campaigns were locked first; this is the guard.
var ErrBudgetOverspent = errors.New("campaign budget would be overspent")

func (t *ledgerTx) SpendBudgets(ctx context.Context, spent map[string]int64, now time.Time) ([]string, error) {
	if len(spent) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(spent))
	for id := range spent {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	amounts := make([]int64, len(ids))
	for i, id := range ids {
		amounts[i] = spent[id]
	}
	// Conditional: a row that would go over its budget is not updated, and the count
	// tells. exhausted_at is set once, by the spend that reaches the budget.
	rows, err := t.tx.Query(ctx, `
		UPDATE campaigns c SET spent_points = c.spent_points + u.n,
			exhausted_at = CASE WHEN c.budget_points > 0 AND c.spent_points + u.n >= c.budget_points
				THEN COALESCE(c.exhausted_at, $3::timestamptz) ELSE c.exhausted_at END
		FROM unnest($1::uuid[], $2::int8[]) AS u(id, n)
		WHERE c.id = u.id AND (c.budget_points = 0 OR c.spent_points + u.n <= c.budget_points)
		RETURNING c.id::text, c.budget_points > 0 AND c.spent_points >= c.budget_points AND c.spent_points - u.n < c.budget_points`,
		ids, amounts, now)
	if err != nil {
		return nil, err
	}
	var (
		id        string
		exhausted bool
		n         int
		out       []string
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &exhausted}, func() error {
		n++
		if exhausted {
			out = append(out, id)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if n != len(ids) {
		return nil, ErrBudgetOverspent
	}
	return out, nil
}

func (t *ledgerTx) MemberProfiles(ctx context.Context, ids []string) (map[string]earn.Profile, error) {
	out := map[string]earn.Profile{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT id::text, tier, tags, attributes FROM members WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	var (
		p     earn.Profile
		attrs map[string]any
	)
	_, err = pgx.ForEachRow(rows, []any{&p.MemberID, &p.Tier, &p.Tags, &attrs}, func() error {
		// Attributes are strings by contract; anything else is shown to rules as its JSON
		// text rather than failing every purchase of the member.
		p.Attributes = make(map[string]string, len(attrs))
		for k, v := range attrs {
			if str, ok := v.(string); ok {
				p.Attributes[k] = str
			} else if b, err := json.Marshal(v); err == nil {
				p.Attributes[k] = string(b)
			}
		}
		out[p.MemberID] = p
		p, attrs = earn.Profile{}, nil
		return nil
	})
	return out, err
}

func (t *ledgerTx) Usage(ctx context.Context, keys []earn.UsageKey) (earn.Usage, error) {
	out := earn.Usage{}
	if len(keys) == 0 {
		return out, nil
	}
	members, rules, periods := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		members[i], rules[i], periods[i] = k.MemberID, k.RuleID, k.Period
	}
	rows, err := t.tx.Query(ctx, `SELECT u.member_id::text, u.rule_id::text, u.period, u.amount
		FROM earning_usage u JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(m, r, p)
			ON u.member_id = k.m AND u.rule_id = k.r AND u.period = k.p`, members, rules, periods)
	if err != nil {
		return nil, err
	}
	var (
		k earn.UsageKey
		n int64
	)
	_, err = pgx.ForEachRow(rows, []any{&k.MemberID, &k.RuleID, &k.Period, &n}, func() error {
		out[k] = n
		return nil
	})
	return out, err
}

func (t *ledgerTx) AddUsage(ctx context.Context, inc earn.Usage) error {
	if len(inc) == 0 {
		return nil
	}
	keys := make([]earn.UsageKey, 0, len(inc))
	for k := range inc {
		keys = append(keys, k)
	}
	// In key order, so that two batches upserting the same counters cannot deadlock.
	slices.SortFunc(keys, func(a, b earn.UsageKey) int {
		if c := compareStrings(a.MemberID, b.MemberID); c != 0 {
			return c
		}
		if c := compareStrings(a.RuleID, b.RuleID); c != 0 {
			return c
		}
		return compareStrings(a.Period, b.Period)
	})
	members, rules, periods, amounts := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		members[i], rules[i], periods[i], amounts[i] = k.MemberID, k.RuleID, k.Period, inc[k]
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO earning_usage (member_id, rule_id, period, amount)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int8[])
		ON CONFLICT (member_id, rule_id, period) DO UPDATE SET amount = earning_usage.amount + EXCLUDED.amount`,
		members, rules, periods, amounts)
	return err
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// partJSON is a part of a credit as credit_breakdowns.parts keeps it.
type partJSON struct {
	RuleID           string  `json:"rule_id"`
	Version          int     `json:"version,omitempty"`
	Name             string  `json:"name"`
	CampaignID       string  `json:"campaign_id,omitempty"`
	MatchedLines     []int   `json:"matched_lines"`
	LinePoints       []int64 `json:"line_points"`
	Uncapped         int64   `json:"uncapped"`
	Points           int64   `json:"points"`
	Cap              string  `json:"cap,omitempty"`
	Expiry           string  `json:"expiry"`
	ExpiryOverridden bool    `json:"expiry_overridden,omitempty"`
}

func (t *ledgerTx) InsertCreditParts(ctx context.Context, parts []earn.CreditPart) error {
	if len(parts) == 0 {
		return nil
	}
	g := groupParts(parts)
	rows := make([][]any, 0, len(g.ids))
	var buf []byte
	for o, id := range g.ids {
		txid, err := binaryUUID(id)
		if err != nil {
			return fmt.Errorf("credit breakdown of %s: %w", g.refs[o], err)
		}
		buf = appendParts(buf[:0], g.parts[g.bounds[o]:g.bounds[o+1]])
		rows = append(rows, []any{txid, g.refs[o], string(buf)})
	}
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{"credit_breakdowns"}, []string{"transaction_id", "reference", "parts"},
		pgx.CopyFromRows(rows))
	return err
}

// creditGroups are parts grouped by credit: credit o (ids[o], refs[o]) has
// parts[bounds[o]:bounds[o+1]].
type creditGroups struct {
	ids, refs []string
	parts     []partJSON
	bounds    []int
}

// groupParts groups parts by credit, each credit's in their order, the credits in the
// order they first appear: a counting sort into one slice, as a batch has thousands.
func groupParts(parts []earn.CreditPart) creditGroups {
	var (
		g       creditGroups
		ordinal = make(map[string]int, len(parts)/4)
		credit  = make([]int, len(parts)) // the credit of each part, by ordinal
	)
	for i, p := range parts {
		o, seen := ordinal[p.TransactionID]
		if !seen {
			o = len(g.ids)
			ordinal[p.TransactionID] = o
			g.ids, g.refs, g.bounds = append(g.ids, p.TransactionID), append(g.refs, p.Reference), append(g.bounds, 0)
		}
		credit[i] = o
		g.bounds[o]++ // a count, until the sums below
	}
	next := 0
	for o, n := range g.bounds {
		g.bounds[o] = next
		next += n
	}
	g.bounds = append(g.bounds, next)
	fill := slices.Clone(g.bounds)
	g.parts = make([]partJSON, len(parts))
	for i, p := range parts {
		g.parts[fill[credit[i]]] = partJSON{RuleID: p.RuleID, Version: p.Version, Name: p.Name,
			CampaignID: p.CampaignID, MatchedLines: nonNilIdx(p.MatchedLines), LinePoints: nonNilInts(p.LinePoints),
			Uncapped: p.Uncapped, Points: p.Points, Cap: string(p.Cap), Expiry: p.Expiry.String(), ExpiryOverridden: p.ExpiryOverridden}
		fill[credit[i]]++
	}
	return g
}

func nonNilIdx(xs []int) []int {
	if xs == nil {
		return []int{}
	}
	return xs
}

func nonNilInts(xs []int64) []int64 {
	if xs == nil {
		return []int64{}
	}
	return xs
}

const creditColumns = `transaction_id::text, reference, parts::text`

func scanCreditParts(rows pgx.Rows) ([]earn.CreditPart, error) {
	var (
		out       []earn.CreditPart
		txID, ref string
		partsJSON string
	)
	_, err := pgx.ForEachRow(rows, []any{&txID, &ref, &partsJSON}, func() error {
		var ps []partJSON
		if err := json.Unmarshal([]byte(partsJSON), &ps); err != nil {
			return fmt.Errorf("credit breakdown of %s: %w", ref, err)
		}
		for _, p := range ps {
			expiry, err := domain.ParseExpiryPolicy(p.Expiry)
			if err != nil {
				return err
			}
			out = append(out, earn.CreditPart{TransactionID: txID, Reference: ref, Part: earn.Part{
				RuleID: p.RuleID, Version: p.Version, Name: p.Name, CampaignID: p.CampaignID, MatchedLines: p.MatchedLines,
				LinePoints: p.LinePoints, Uncapped: p.Uncapped, Points: p.Points, Cap: earn.CapKind(p.Cap),
				Expiry: expiry, ExpiryOverridden: p.ExpiryOverridden}})
		}
		return nil
	})
	return out, err
}

func (t *ledgerTx) Breakdowns(ctx context.Context, keys []domain.PurchaseKey) (map[domain.PurchaseKey]earn.Breakdown, error) {
	out := map[domain.PurchaseKey]earn.Breakdown{}
	if len(keys) == 0 {
		return out, nil
	}
	refs := make([]string, len(keys))
	byRef := make(map[string]domain.PurchaseKey, len(keys))
	for i, k := range keys {
		refs[i] = k.Reference()
		byRef[refs[i]] = k
	}
	// The parts name their purchase by reference; the lines come from the purchase.
	rows, err := t.tx.Query(ctx, `SELECT `+creditColumns+` FROM credit_breakdowns WHERE reference = ANY($1)
		ORDER BY transaction_id`, refs)
	if err != nil {
		return nil, err
	}
	ps, err := scanCreditParts(rows)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		k := byRef[p.Reference]
		b := out[k]
		b.Parts = append(b.Parts, p)
		out[k] = b
	}
	if len(out) == 0 {
		return out, nil
	}
	stores, txids := make([]string, 0, len(out)), make([]string, 0, len(out))
	for k := range out {
		stores, txids = append(stores, k.StoreID), append(txids, k.TransactionID)
	}
	rows, err = t.tx.Query(ctx, `SELECT store_id, transaction_id, lines FROM purchases
		WHERE (store_id, transaction_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, stores, txids)
	if err != nil {
		return nil, err
	}
	var (
		k     domain.PurchaseKey
		lines []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&k.StoreID, &k.TransactionID, &lines}, func() error {
		b := out[k]
		b.Lines = nil
		if err := json.Unmarshal(lines, &b.Lines); err != nil {
			return fmt.Errorf("purchase %s: lines: %w", k.Reference(), err)
		}
		out[k] = b
		return nil
	})
	return out, err
}

func (s *Store) Rule(ctx context.Context, id string, version int) (earn.StoredRule, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+ruleColumns+` FROM rules r
		JOIN rule_versions v ON v.rule_id = r.id AND v.version = CASE WHEN $2 > 0 THEN $2 ELSE r.current_version END
		WHERE r.id = $1`, id, version)
	if err != nil {
		return earn.StoredRule{}, err
	}
	rs, err := scanRules(rows)
	if err == nil && len(rs) == 0 {
		err = earn.ErrRuleNotFound
	}
	if err != nil {
		return earn.StoredRule{}, err
	}
	return rs[0], nil
}

func (s *Store) Rules(ctx context.Context, after string, limit int) ([]earn.StoredRule, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+ruleColumns+` FROM rules r
		JOIN rule_versions v ON v.rule_id = r.id AND v.version = r.current_version
		WHERE $1 = '' OR r.id > $1::uuid ORDER BY r.id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	return scanRules(rows)
}

func (s *Store) Campaign(ctx context.Context, id string) (earn.Campaign, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id)
	if err != nil {
		return earn.Campaign{}, err
	}
	cs, err := scanCampaigns(rows)
	if err == nil && len(cs) == 0 {
		err = earn.ErrCampaignNotFound
	}
	if err != nil {
		return earn.Campaign{}, err
	}
	return cs[0], nil
}

func (s *Store) Campaigns(ctx context.Context, after string, limit int) ([]earn.Campaign, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns
		WHERE $1 = '' OR id > $1::uuid ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	return scanCampaigns(rows)
}

func (s *Store) CreditParts(ctx context.Context, transactionID string) ([]earn.CreditPart, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+creditColumns+` FROM credit_breakdowns WHERE transaction_id = $1`, transactionID)
	if err != nil {
		return nil, err
	}
	ps, err := scanCreditParts(rows)
	if err == nil && len(ps) == 0 {
		err = earn.ErrNoBreakdown
	}
	return ps, err
}

func (t *ledgerTx) RuleVersionsLiveAt(ctx context.Context, at time.Time) ([]earn.RuleVersion, error) {
	rows, err := t.tx.Query(ctx, `SELECT r.id::text, 'active', v.version, v.version, v.definition, v.created_at, v.created_by
		FROM rule_live_periods l
		JOIN rules r ON r.id = l.rule_id
		JOIN rule_versions v ON v.rule_id = l.rule_id AND v.version = l.version
		WHERE l.live_from <= $1 AND (l.live_until IS NULL OR l.live_until > $1)
		ORDER BY r.id`, at)
	if err != nil {
		return nil, err
	}
	rs, err := scanRules(rows)
	out := make([]earn.RuleVersion, len(rs))
	for i, r := range rs {
		out[i] = r.Version
	}
	return out, err
}

func (t *ledgerTx) Campaigns(ctx context.Context, ids []string) (map[string]earn.Campaign, error) {
	out := map[string]earn.Campaign{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	cs, err := scanCampaigns(rows)
	for _, c := range cs {
		out[c.ID] = c
	}
	return out, err
}
