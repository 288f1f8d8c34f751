package app

import (
	"context"
	"maps"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

// EarningConfig is the programme's settings of the earning engine.
type EarningConfig struct {
	// Location is the programme's time zone: weekdays and hours in rules, days and months
	// of caps and limits. nil is UTC.
	Location *time.Location
	// DefaultExpiry is the expiry of points a rule does not override (the programme's).
	DefaultExpiry domain.ExpiryPolicy
}

// earning is the engine and its cache of the live rules. The cache is checked once per
// batch against the earning epoch (one row read in the batch's transaction) and reloaded
// only when a rule or campaign changed; compiled programs live in the engine, once per
// rule version.
type earning struct {
	engine *earn.Engine

	mu     sync.Mutex
	loaded bool
	epoch  int64
	set    *earn.RuleSet
	// campaigns are the campaigns the live rules belong to, as they were when the rules
	// were loaded: every change of a campaign's definition moves the epoch, and what a
	// budgeted campaign has spent is read locked per batch.
	campaigns map[string]earn.Campaign
}

func newEarning(cfg Config) (*earning, error) {
	e, err := earn.NewEngine(earn.Config{POS: cfg.POS, Location: cfg.Earning.Location, DefaultExpiry: cfg.Earning.DefaultExpiry})
	if err != nil {
		return nil, err
	}
	return &earning{engine: e}, nil
}

// liveRules returns the compiled live rules and their campaigns, reloading them when the
// epoch moved.
func (b *base) liveRules(ctx context.Context, tx Tx) (*earn.RuleSet, map[string]earn.Campaign, error) {
	epoch, err := tx.EarningEpoch(ctx)
	if err != nil {
		return nil, nil, err
	}
	c := b.earning
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded && c.epoch == epoch {
		return c.set, c.campaigns, nil
	}
	versions, err := tx.LiveRuleVersions(ctx)
	if err != nil {
		return nil, nil, err
	}
	set, errs := c.engine.RuleSet(versions)
	for _, err := range errs {
		b.log.ErrorContext(ctx, "earning rule left out: it does not compile", "err", err)
	}
	var ids []string
	for _, v := range set.Rules() {
		if v.CampaignID != "" {
			ids = append(ids, v.CampaignID)
		}
	}
	campaigns, err := tx.Campaigns(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	c.loaded, c.epoch, c.set, c.campaigns = true, epoch, set, campaigns
	return set, campaigns, nil
}

// earned is what earnPoints computed for a batch: each credited purchase's breakdown,
// and what to store once the fresh purchases are known.
type earned struct {
	explanations map[domain.PurchaseKey]earn.Explanation
	usage        map[domain.PurchaseKey]earn.Usage
	campaigns    map[string]earn.Campaign
}

// earnPoints is the earning step of RecordPurchases: it sets the points of each purchase
// of a known member (MemberID set) by the live rules, with the usage counters of caps
// read for the batch's members in one query and the budgeted campaigns the batch may
// spend from locked in id order, so that concurrent batches neither overspend a budget
// nor deadlock.
func (b *base) earnPoints(ctx context.Context, tx Tx, purchases []domain.Purchase) (earned, error) {
	set, cached, err := b.liveRules(ctx, tx)
	if err != nil {
		return earned{}, err
	}
	sets := make([]*earn.RuleSet, len(purchases))
	for i := range sets {
		sets[i] = set
	}
	return b.earnBy(ctx, tx, purchases, sets, cached)
}

// earnAsOf is earnPoints by the rule versions that were live when each purchase
// happened, not today's: for purchases credited late (a claimed receipt). Caps count
// and budgets spend as of now. Store the result with storeEarnings once the credits
// are applied, as RecordPurchases does.
func (b *base) earnAsOf(ctx context.Context, tx Tx, purchases []domain.Purchase) (earned, error) {
	sets := make([]*earn.RuleSet, len(purchases))
	var ids []string
	for i, p := range purchases {
		versions, err := tx.RuleVersionsLiveAt(ctx, p.OccurredAt)
		if err != nil {
			return earned{}, err
		}
		set, errs := b.earning.engine.RuleSet(versions)
		for _, err := range errs {
			b.log.ErrorContext(ctx, "earning rule left out: it does not compile", "err", err)
		}
		sets[i] = set
		for _, v := range set.Rules() {
			if v.CampaignID != "" {
				ids = append(ids, v.CampaignID)
			}
		}
	}
	campaigns, err := tx.Campaigns(ctx, ids)
	if err != nil {
		return earned{}, err
	}
	return b.earnBy(ctx, tx, purchases, sets, campaigns)
}

// earnBy evaluates each purchase of a known member by its rule set (sets[i]).
func (b *base) earnBy(ctx context.Context, tx Tx, purchases []domain.Purchase, sets []*earn.RuleSet, cached map[string]earn.Campaign) (earned, error) {
	out := earned{explanations: map[domain.PurchaseKey]earn.Explanation{}, usage: map[domain.PurchaseKey]earn.Usage{}}
	eng := b.earning.engine
	var (
		ids      []string
		keys     []earn.UsageKey
		profiles = map[string]earn.Profile{}
		usage    = earn.Usage{}
		anyRules bool
		err      error
	)
	out.campaigns = make(map[string]earn.Campaign, len(cached))
	var lock []string
	for id, c := range cached {
		out.campaigns[id] = c
		if c.Budget > 0 && slices.ContainsFunc(purchases, func(p domain.Purchase) bool {
			return p.MemberID != "" && c.Targets(p.Key.StoreID, p.Channel, p.OccurredAt)
		}) {
			lock = append(lock, id)
		}
	}
	for i, p := range purchases {
		if p.MemberID != "" {
			ids = append(ids, p.MemberID)
			keys = append(keys, eng.UsageKeys(sets[i], p.MemberID, p.OccurredAt)...)
			anyRules = anyRules || sets[i].Len() > 0
		}
	}
	if anyRules {
		if profiles, err = tx.MemberProfiles(ctx, ids); err != nil {
			return out, err
		}
		if usage, err = tx.Usage(ctx, keys); err != nil {
			return out, err
		}
		locked, err := tx.LockCampaigns(ctx, lock)
		if err != nil {
			return out, err
		}
		maps.Copy(out.campaigns, locked)
	}
	for i := range purchases {
		p := &purchases[i]
		if p.MemberID == "" {
			continue
		}
		profile, ok := profiles[p.MemberID]
		if !ok {
			profile = earn.Profile{MemberID: p.MemberID, Tier: domain.DefaultTier}
		}
		x, warnings, err := eng.EvaluatePurchase(sets[i], earn.PurchaseInput{Purchase: *p, Member: profile, Usage: usage, Campaigns: out.campaigns})
		if err != nil {
			return out, refused("purchase", p.Key.Reference(), err)
		}
		for _, w := range warnings {
			b.log.WarnContext(ctx, "earning rule failed to evaluate; treated as not matching", "purchase", p.Key.Reference(), "err", w)
		}
		p.Points = x.Total
		out.explanations[p.Key] = x
		// The next purchase of the batch sees what this one used. A purchase that turns
		// out to be a duplicate only ever makes later ones earn less, never more.
		out.usage[p.Key] = eng.Record(usage, sets[i], p.MemberID, p.OccurredAt, x)
		for id, n := range x.Spent() {
			c := out.campaigns[id]
			c.Spent += n
			out.campaigns[id] = c
		}
	}
	return out, nil
}

// credit is one credit's calculation, to be stored with it.
type credit struct {
	txID, reference string
	x               earn.Explanation
	usage           earn.Usage
}

// storeEarnings records, for the fresh credited purchases, the breakdown of their
// credit, the usage counters and the campaigns' spending; an exhausted budget is
// announced once.
func (b *base) storeEarnings(ctx context.Context, tx Tx, e earned, credited []domain.Purchase) ([]domain.Event, error) {
	credits := make([]credit, 0, len(credited))
	for _, p := range credited {
		if x, ok := e.explanations[p.Key]; ok && p.LedgerTxID != "" {
			credits = append(credits, credit{p.LedgerTxID, p.Key.Reference(), x, e.usage[p.Key]})
		}
	}
	return b.storeCredits(ctx, tx, e.campaigns, credits)
}

// storeCredits stores the breakdowns, usage counters and campaign spending of credits.
func (b *base) storeCredits(ctx context.Context, tx Tx, campaigns map[string]earn.Campaign, credits []credit) ([]domain.Event, error) {
	var (
		parts  []earn.CreditPart
		inc    = earn.Usage{}
		spent  = map[string]int64{}
		events []domain.Event
	)
	n := 0
	for _, c := range credits {
		n += len(c.x.Parts)
	}
	parts = make([]earn.CreditPart, 0, n) // parts are large: growing the slice was a cost
	for _, c := range credits {
		for _, part := range c.x.Parts {
			parts = append(parts, earn.CreditPart{TransactionID: c.txID, Reference: c.reference, Part: part})
		}
		for k, n := range c.usage {
			inc[k] += n
		}
		for id, n := range c.x.Spent() {
			spent[id] += n
		}
	}
	if err := tx.InsertCreditParts(ctx, parts); err != nil {
		return nil, err
	}
	if err := tx.AddUsage(ctx, inc); err != nil {
		return nil, err
	}
	exhausted, err := tx.SpendBudgets(ctx, spent, b.clock())
	if err != nil {
		return nil, err
	}
	for _, id := range exhausted {
		c := campaigns[id]
		events = append(events, domain.CampaignBudgetExhausted{CampaignID: id, Name: c.Name, Budget: c.Budget, At: b.clock()})
	}
	return events, nil
}

// returnPoints is the earning step of RecordReturns: what a return takes back from its
// purchase by the purchase's stored breakdown. For each returned line, the points its
// purchase line earned in every part, in proportion to the amount returned, floored:
// never more than it earned (the caller also caps it at what the purchase credited less
// earlier returns). ok is false when the purchase has no breakdown with lines (credited
// before rules existed, or a receipt without lines): the caller takes back the base rate
// on the refund instead.
func returnPoints(b earn.Breakdown, r domain.Return) (points int64, ok bool) {
	if len(b.Parts) == 0 || len(b.Lines) == 0 || len(r.Lines) == 0 {
		return 0, false
	}
	perLine := make([]int64, len(b.Lines))
	for _, p := range b.Parts {
		for i, n := range p.LinePoints {
			if i < len(perLine) {
				perLine[i] += n
			}
		}
	}
	// Each returned line takes from the purchase lines of its SKU, in order, as much of
	// their amount as it refunds.
	left := make([]int64, len(b.Lines))
	for i, l := range b.Lines {
		left[i] = l.AmountMinor
	}
	for _, rl := range r.Lines {
		want := rl.AmountMinor
		for i, l := range b.Lines {
			if want <= 0 {
				break
			}
			if l.SKU != rl.SKU || left[i] <= 0 {
				continue
			}
			take := min(want, left[i])
			points += mulDiv(perLine[i], take, l.AmountMinor)
			left[i] -= take
			want -= take
		}
	}
	return points, true
}

// mulDiv is floor(a*b/c) for non-negative a and 0 <= b <= c, exact in 128 bits.
func mulDiv(a, b, c int64) int64 {
	if b >= c {
		return a
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c)) // a*b < a*c: no overflow
	return int64(q)
}

// lotParts are the credit of a purchase by expiry, one lot each: a rule's own expiry,
// or the programme's (Config.Earning.DefaultExpiry, the lots' default).
func (e earned) lotParts(key domain.PurchaseKey) []domain.LotPart {
	x, ok := e.explanations[key]
	if !ok {
		return nil
	}
	return lotParts(x)
}

func lotParts(x earn.Explanation) []domain.LotPart {
	var parts []domain.LotPart
	for _, p := range x.ByExpiry() {
		parts = append(parts, domain.LotPart{Points: p.Points, Expiry: p.Expiry, Override: true})
	}
	return parts
}
