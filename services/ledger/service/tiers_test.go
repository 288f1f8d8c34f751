package service_test

import (
	"path"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/service"
)

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func (e *env) tiers(role string) ledgerv1.TierServiceClient {
	return ledgerv1.NewTierServiceClient(e.Conn(e.cur.Service.GRPCAddr(), role))
}

const grace = 30 * 24 * time.Hour

// startedWithTiers starts a ledger on clock whose evaluation runs often.
func startedWithTiers(t *testing.T, clock *testClock) *env {
	return started(t, func(c *service.Config) {
		c.Now = clock.Now
		c.TierEvaluationInterval = 50 * time.Millisecond
	})
}

// bronzeSilverGold: silver at 1,000 points or 500.00 EUR, gold at 5,000 points; rolling
// 12 months, 30 days' grace.
func bronzeSilverGold() *ledgerv1.DefineTiersRequest {
	return &ledgerv1.DefineTiersRequest{
		Basis: ledgerv1.TierBasis_TIER_BASIS_ROLLING, WindowMonths: 12, GracePeriod: durationpb.New(grace),
		Tiers: []*ledgerv1.Tier{
			{Code: "bronze", Name: "Bronze", Rank: 1},
			{Code: "silver", Name: "Silver", Rank: 2, MinPoints: 1000, MinSpendMinor: 50_000},
			{Code: "gold", Name: "Gold", Rank: 3, MinPoints: 5000},
		},
	}
}

func (e *env) defineTiers(req *ledgerv1.DefineTiersRequest) {
	e.t.Helper()
	if _, err := e.tiers("marketing").DefineTiers(testkit.Ctx(e.t), req); err != nil {
		e.t.Fatalf("DefineTiers: %v", err)
	}
}

func (e *env) tierStatus(member string) *ledgerv1.TierStatus {
	e.t.Helper()
	resp, err := e.tiers("service_agent").GetTierStatus(testkit.Ctx(e.t), &ledgerv1.GetTierStatusRequest{MemberId: member})
	if err != nil {
		e.t.Fatalf("GetTierStatus: %v", err)
	}
	return resp.GetStatus()
}

func (e *env) waitTier(member, tier string) {
	e.t.Helper()
	var last *ledgerv1.TierStatus
	defer func() {
		if e.t.Failed() {
			e.t.Logf("last status of %s: %v", member, last)
		}
	}()
	testkit.Eventually(e.t, 10*time.Second, member+" in tier "+tier, func() bool {
		last = e.tierStatus(member)
		return last.GetTier() == tier
	})
}

// tierChanges are the ledger.member.tier_changed events of member, in order.
func (e *env) tierChanges(member string) []*ledgerv1.MemberTierChanged {
	var out []*ledgerv1.MemberTierChanged
	for _, ev := range published[*ledgerv1.MemberTierChanged](e) {
		if ev.GetMemberId() == member {
			out = append(out, ev)
		}
	}
	return out
}

// waitTierChanges waits until the ledger has published exactly these tier changes of
// member (from>to:REASON), in order: the outbox publishes after the commit.
func (e *env) waitTierChanges(member string, want ...string) {
	e.t.Helper()
	var got string
	testkit.Eventually(e.t, 10*time.Second, "tier changes "+strings.Join(want, " "), func() bool {
		var s []string
		for _, ev := range e.tierChanges(member) {
			s = append(s, ev.GetFromTier()+">"+ev.GetToTier()+":"+ev.GetReason().String())
		}
		got = strings.Join(s, " ")
		return got == strings.Join(want, " ")
	})
	// No more than these: a change published twice would show up by now.
	time.Sleep(100 * time.Millisecond)
	var s []string
	for _, ev := range e.tierChanges(member) {
		s = append(s, ev.GetFromTier()+">"+ev.GetToTier()+":"+ev.GetReason().String())
	}
	if strings.Join(s, " ") != strings.Join(want, " ") {
		e.t.Fatalf("tier changes %v, want %v", s, want)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), field) {
		t.Fatalf("got %v, want InvalidArgument naming %s", err, field)
	}
}

func TestTierDefinitions(t *testing.T) {
	clock := &testClock{}
	e := startedWithTiers(t, clock)
	ctx := testkit.Ctx(t)
	before := e.enroll("Early") // enrolled while no tier is defined
	if got := e.tierStatus(before).GetTier(); got != "standard" {
		t.Fatalf("tier without a programme %q, want standard", got)
	}

	// Bad definitions name their field.
	c := e.tiers("marketing")
	bad := func(edit func(*ledgerv1.DefineTiersRequest)) error {
		req := bronzeSilverGold()
		edit(req)
		_, err := c.DefineTiers(ctx, req)
		return err
	}
	wantField(t, bad(func(r *ledgerv1.DefineTiersRequest) { r.Basis = ledgerv1.TierBasis_TIER_BASIS_UNSPECIFIED }), "basis")
	wantField(t, bad(func(r *ledgerv1.DefineTiersRequest) { r.Basis = 9 }), "basis")
	wantField(t, bad(func(r *ledgerv1.DefineTiersRequest) { r.WindowMonths = 0 }), "window_months")
	wantField(t, bad(func(r *ledgerv1.DefineTiersRequest) { r.Tiers[2].MinPoints = 800 }), "tiers[2].min_points")
	wantField(t, bad(func(r *ledgerv1.DefineTiersRequest) { r.Tiers[2].MinPoints = 1000 }), "tiers[2].min_points")
	wantField(t, bad(func(r *ledgerv1.DefineTiersRequest) { r.Tiers[2].Rank = 2 }), "tiers[2].rank")
	wantField(t, bad(func(r *ledgerv1.DefineTiersRequest) { r.Tiers[0].MinSpendMinor = 1 }), "tiers[0].min_points")
	wantField(t, bad(func(r *ledgerv1.DefineTiersRequest) { r.Tiers[1].Code = "Silver" }), "tiers[1].code")
	testkit.WantCode(t, func() error { _, err := e.tiers("service_agent").DefineTiers(ctx, bronzeSilverGold()); return err }(), codes.PermissionDenied)

	// Defined in any order, listed by rank.
	req := bronzeSilverGold()
	req.Tiers[0], req.Tiers[2] = req.Tiers[2], req.Tiers[0]
	e.defineTiers(req)
	list, err := e.tiers("auditor").ListTiers(ctx, &ledgerv1.ListTiersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	p := list.GetProgramme()
	if len(p.GetTiers()) != 3 || p.GetTiers()[0].GetCode() != "bronze" || p.GetTiers()[2].GetCode() != "gold" ||
		p.GetCurrency() != "EUR" || p.GetGracePeriod().AsDuration() != grace || p.GetWindowMonths() != 12 {
		t.Fatalf("ListTiers = %v", p)
	}

	// UpdateTier: a new threshold, checked against the others; unknown codes are NotFound.
	_, err = c.UpdateTier(ctx, &ledgerv1.UpdateTierRequest{Code: "gold", Name: "Gold", MinPoints: 900})
	wantField(t, err, "min_points")
	_, err = c.UpdateTier(ctx, &ledgerv1.UpdateTierRequest{Code: "platinum", Name: "Platinum", MinPoints: 9000})
	testkit.WantCode(t, err, codes.NotFound)
	up, err := c.UpdateTier(ctx, &ledgerv1.UpdateTierRequest{Code: "gold", Name: "Gold", MinPoints: 4000})
	if err != nil || up.GetProgramme().GetTiers()[2].GetMinPoints() != 4000 || up.GetProgramme().GetTiers()[2].GetRank() != 3 {
		t.Fatalf("UpdateTier = %v, %v", up, err)
	}
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE object_kind IN ('tier_programme', 'tier') AND actor <> ''`); n != 2 {
		t.Errorf("%d audit entries of tier changes, want 2 (define, update)", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE action = 'tiers.define' AND before IS NULL AND after->'tiers'->0->>'code' = 'bronze'`); n != 1 {
		t.Errorf("the definition's audit entry is not as defined (%d)", n)
	}

	// A new member starts in the base tier; the earlier one is placed by the evaluation.
	if got := e.tierStatus(e.enroll("Late")).GetTier(); got != "bronze" {
		t.Errorf("new member in %q, want bronze", got)
	}
	e.waitTier(before, "bronze")
	e.waitTierChanges(before, "standard>bronze:TIER_CHANGE_REASON_REDEFINED")
}

func TestTierUpgradeAtOnceDowngradeAfterGrace(t *testing.T) {
	clock := &testClock{}
	e := startedWithTiers(t, clock)
	ctx := testkit.Ctx(t)
	e.defineTiers(bronzeSilverGold())
	m := e.enroll("Tove")

	// 1,200 points: silver at once, in the purchase's transaction.
	e.publishPurchase(purchase("S1", "T1", m, 120_000))
	e.waitTier(m, "silver")
	e.waitTierChanges(m, "bronze>silver:TIER_CHANGE_REASON_UPGRADE")

	got, err := e.ledger("service_agent").GetMember(ctx, &ledgerv1.GetMemberRequest{MemberId: m})
	if err != nil {
		t.Fatal(err)
	}
	pr := got.GetMember().GetTierProgress()
	if got.GetMember().GetTier() != "silver" || pr.GetNextTier() != "gold" || pr.GetPointsNeeded() != 3800 || pr.SpendNeededMinor != nil ||
		pr.GetQualifyingPoints() != 1200 || pr.GetQualifyingSpendMinor() != 120_000 {
		t.Fatalf("GetMember progress: %v", got.GetMember())
	}
	// The purchase counts through the 12 months after its own: the tier is safe until
	// then, plus the grace.
	now := clock.Now()
	if want := monthStart(now).AddDate(0, 13, 0).Add(grace); !got.GetMember().GetTierSafeUntil().AsTime().Equal(want) {
		t.Fatalf("safe until %v, want %v", got.GetMember().GetTierSafeUntil().AsTime(), want)
	}

	// The purchase is returned: the figures fall, the tier does not, until the
	// evaluation schedules the downgrade a grace period later.
	e.publishReturn(posReturn("S1", "R1", "T1", m, 120_000))
	testkit.Eventually(t, 10*time.Second, "downgrade scheduled", func() bool {
		return e.tierStatus(m).GetDowngradeDueAt() != nil
	})
	st := e.tierStatus(m)
	if st.GetTier() != "silver" || st.GetProgress().GetQualifyingPoints() != 0 || st.GetProgress().GetQualifyingSpendMinor() != 0 {
		t.Fatalf("after the return: %v", st)
	}
	due := st.GetDowngradeDueAt().AsTime()
	if d := due.Sub(clock.Now()); d > grace || d < grace-time.Minute {
		t.Fatalf("downgrade due in %v, want the grace %v", d, grace)
	}
	if !st.GetSafeUntil().AsTime().Equal(due) {
		t.Errorf("safe until %v, want the downgrade date %v", st.GetSafeUntil().AsTime(), due)
	}

	// Inside the grace nothing happens; after it, the evaluation downgrades.
	clock.Advance(grace - time.Hour)
	time.Sleep(300 * time.Millisecond) // several evaluations
	if got := e.tierStatus(m).GetTier(); got != "silver" {
		t.Fatalf("downgraded to %s inside the grace", got)
	}
	clock.Advance(2 * time.Hour)
	e.waitTier(m, "bronze")
	e.waitTierChanges(m, "bronze>silver:TIER_CHANGE_REASON_UPGRADE", "silver>bronze:TIER_CHANGE_REASON_DOWNGRADE")
	if st := e.tierStatus(m); st.GetDowngradeDueAt() != nil || st.GetSafeUntil() != nil {
		t.Errorf("after the downgrade: %v", st)
	}
}

// Figures age out of the rolling period; two replicas evaluate at once.
func TestTierFiguresAgeOut(t *testing.T) {
	clock := &testClock{}
	e := startedWithTiers(t, clock)
	e.defineTiers(bronzeSilverGold())
	// A second replica evaluates too: each change is still made, and announced, once.
	cfg := e.config()
	cfg.Now, cfg.TierEvaluationInterval = clock.Now, 50*time.Millisecond
	testkit.Start(t, service.New, cfg)
	m := e.enroll("Ragna")
	// 600.00 EUR: silver on spend (and points).
	e.publishPurchase(purchase("S1", "T1", m, 60_000))
	e.waitTier(m, "silver")
	if st := e.tierStatus(m); st.GetProgress().GetQualifyingSpendMinor() != 60_000 || st.GetDowngradeDueAt() != nil {
		t.Fatalf("status %v", st)
	}
	// 14 months on, the purchase is out of the period: downgrade scheduled, then done.
	clock.Advance(14 * 31 * 24 * time.Hour)
	testkit.Eventually(t, 10*time.Second, "downgrade scheduled", func() bool {
		return e.tierStatus(m).GetDowngradeDueAt() != nil
	})
	if st := e.tierStatus(m); st.GetTier() != "silver" || st.GetProgress().GetQualifyingSpendMinor() != 0 {
		t.Fatalf("status %v", st)
	}
	clock.Advance(grace)
	e.waitTier(m, "bronze")
	e.waitTierChanges(m, "bronze>silver:TIER_CHANGE_REASON_UPGRADE", "silver>bronze:TIER_CHANGE_REASON_DOWNGRADE")
}

func TestManualTier(t *testing.T) {
	clock := &testClock{}
	e := startedWithTiers(t, clock)
	ctx := testkit.Ctx(t)
	e.defineTiers(bronzeSilverGold())
	m, witness := e.enroll("Mette"), e.enroll("Witness")
	until := clock.Now().Add(60 * 24 * time.Hour)

	c := e.tiers("service_agent")
	_, err := c.SetManualTier(ctx, &ledgerv1.SetManualTierRequest{MemberId: m, Tier: "platinum", ExpiresAt: timestamppb.New(until), Note: "goodwill"})
	wantField(t, err, "tier")
	_, err = c.SetManualTier(ctx, &ledgerv1.SetManualTierRequest{MemberId: m, Tier: "gold", Note: "goodwill"})
	wantField(t, err, "expires_at")
	_, err = e.tiers("marketing").SetManualTier(ctx, &ledgerv1.SetManualTierRequest{MemberId: m, Tier: "gold", ExpiresAt: timestamppb.New(until), Note: "goodwill"})
	testkit.WantCode(t, err, codes.PermissionDenied)

	resp, err := c.SetManualTier(ctx, &ledgerv1.SetManualTierRequest{MemberId: m, Tier: "gold", ExpiresAt: timestamppb.New(until), Note: "complaint 4711"})
	if err != nil {
		t.Fatal(err)
	}
	st := resp.GetStatus()
	if st.GetTier() != "gold" || st.GetManualTier() != "gold" || !st.GetManualTierExpiresAt().AsTime().Equal(until.UTC().Truncate(time.Microsecond)) ||
		!st.GetSafeUntil().AsTime().Equal(st.GetManualTierExpiresAt().AsTime()) {
		t.Fatalf("SetManualTier = %v", st)
	}
	e.waitTierChanges(m, "bronze>gold:TIER_CHANGE_REASON_MANUAL")
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE action = 'tier.set_manual' AND object_id = $1
		AND note = 'complaint 4711' AND before->>'tier' = 'bronze' AND after->>'manual_tier' = 'gold'`, m); n != 1 {
		t.Errorf("%d audit entries of the manual tier, want 1", n)
	}

	// The floor holds while it lasts: the witness, gold on no figures too, is given a
	// downgrade date by the evaluation; the member under the floor is not.
	e.setTierInSQL(witness, "gold")
	testkit.Eventually(t, 10*time.Second, "the witness's downgrade scheduled", func() bool {
		return e.tierStatus(witness).GetDowngradeDueAt() != nil
	})
	if st := e.tierStatus(m); st.GetTier() != "gold" || st.GetDowngradeDueAt() != nil {
		t.Fatalf("under the floor: %v", st)
	}

	// It expires: the member falls to where the figures are, at once.
	clock.Advance(61 * 24 * time.Hour)
	e.waitTier(m, "bronze")
	e.waitTierChanges(m, "bronze>gold:TIER_CHANGE_REASON_MANUAL", "gold>bronze:TIER_CHANGE_REASON_MANUAL_EXPIRED")
	if st := e.tierStatus(m); st.GetManualTier() != "" || st.GetManualTierExpiresAt() != nil {
		t.Fatalf("after the floor: %v", st)
	}
}

// setTierInSQL puts a member in a tier behind the programme's back, as a member whose
// figures have all aged out would be.
func (e *env) setTierInSQL(member, tier string) {
	e.t.Helper()
	if _, err := e.db.Exec(testkit.Ctx(e.t), `UPDATE members SET tier = $2 WHERE id = $1`, member, tier); err != nil {
		e.t.Fatal(err)
	}
}

// The upgrade happens in the purchase batch's transaction: with no evaluation running,
// the member is in the new tier as soon as the purchase's points are.
func TestTierUpgradeInThePurchaseBatch(t *testing.T) {
	clock := &testClock{}
	e := started(t, func(c *service.Config) {
		c.Now = clock.Now
		c.TierEvaluationInterval = time.Hour // never during the test
	})
	e.defineTiers(bronzeSilverGold())
	m := e.enroll("Sune")
	// 600.00 EUR: 600 points, short of silver's 1,000, but silver's spend of 500.00.
	e.publishPurchase(purchase("S1", "T1", m, 60_000))
	e.waitAvailable(m, 600)
	if st := e.tierStatus(m); st.GetTier() != "silver" || st.GetProgress().GetQualifyingSpendMinor() != 60_000 {
		t.Fatalf("with the points booked: %v", st)
	}
	// 4,400 more points in two purchases: gold.
	e.publishPurchase(purchase("S1", "T2", m, 200_000))
	e.publishPurchase(purchase("S1", "T3", m, 240_000))
	e.waitAvailable(m, 5000)
	if got := e.tierStatus(m).GetTier(); got != "gold" {
		t.Fatalf("tier %s with 5,000 points, want gold", got)
	}
	e.waitTierChanges(m, "bronze>silver:TIER_CHANGE_REASON_UPGRADE", "silver>gold:TIER_CHANGE_REASON_UPGRADE")
	// A member the ledger does not know earns nothing and counts nothing.
	e.publishPurchase(purchase("S1", "T4", uuid.NewString(), 100_000))
	e.publishPurchase(purchase("S1", "T5", m, 100))
	e.waitAvailable(m, 5001)
	if n := e.db.Count(`SELECT count(*) FROM tier_qualifying WHERE member_id <> $1`, m); n != 0 {
		t.Errorf("%d qualifying rows of other members", n)
	}
	if n := e.db.Count(`SELECT count(*) FROM tier_qualifying WHERE member_id = $1`, m); n != 1 {
		t.Errorf("%d qualifying rows of the member in one month, want 1", n)
	}
}

// TestTierServiceAccess checks, for every TierService method, that a malformed request
// is InvalidArgument naming the field, that a call without a key is Unauthenticated, and
// that a key without one of the method's roles is PermissionDenied.
func TestTierServiceAccess(t *testing.T) {
	e := started(t)
	m := e.enroll("Hana")
	until := timestamppb.New(time.Now().Add(time.Hour))
	tests := []struct {
		method         string
		valid, invalid proto.Message
		invalidField   string
		deniedRole     string
	}{
		{ledgerv1.TierService_DefineTiers_FullMethodName, bronzeSilverGold(),
			&ledgerv1.DefineTiersRequest{Basis: ledgerv1.TierBasis_TIER_BASIS_ROLLING, WindowMonths: 12}, "tiers", "service_agent"},
		{ledgerv1.TierService_UpdateTier_FullMethodName,
			&ledgerv1.UpdateTierRequest{Code: "gold", Name: "Gold", MinPoints: 1},
			&ledgerv1.UpdateTierRequest{Code: "Gold!", Name: "Gold"}, "code", "pos"},
		{ledgerv1.TierService_ListTiers_FullMethodName, &ledgerv1.ListTiersRequest{}, nil, "", "pos"},
		{ledgerv1.TierService_SetManualTier_FullMethodName,
			&ledgerv1.SetManualTierRequest{MemberId: m, Tier: "gold", ExpiresAt: until, Note: "access"},
			&ledgerv1.SetManualTierRequest{MemberId: m, Tier: "gold", ExpiresAt: until}, "note", "marketing"},
		{ledgerv1.TierService_GetTierStatus_FullMethodName,
			&ledgerv1.GetTierStatusRequest{MemberId: m}, &ledgerv1.GetTierStatusRequest{MemberId: "42"}, "member_id", "pos"},
	}
	for _, tt := range tests {
		t.Run(path.Base(tt.method), func(t *testing.T) {
			ctx := testkit.Ctx(t)
			call := func(role string, req proto.Message) error {
				return e.Conn(e.cur.Service.GRPCAddr(), role).Invoke(ctx, tt.method, req, &emptypb.Empty{})
			}
			if tt.invalid != nil {
				wantField(t, call("admin", tt.invalid), tt.invalidField)
			}
			testkit.WantCode(t, call("", tt.valid), codes.Unauthenticated)
			testkit.WantCode(t, call(tt.deniedRole, tt.valid), codes.PermissionDenied)
		})
	}
}
