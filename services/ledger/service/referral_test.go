package service_test

import (
	"context"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/migrations"
)

var referralCode = regexp.MustCompile(`^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{8}$`)

// TestReferralCodes: every member gets a code of their own at enrolment; it shows on
// GetMember, the profile, MemberEnrolled and MemberUpdated, and a retried enrolment
// keeps it.
func TestReferralCodes(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	req := &ledgerv1.EnrollRequest{IdempotencyKey: "enroll-ref-1", DisplayName: "Rita", Email: "rita@example.com"}
	first, err := e.ledger("admin").Enroll(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	rita, code := first.GetMember().GetMemberId(), first.GetMember().GetReferralCode()
	if !referralCode.MatchString(code) {
		t.Fatalf("referral code %q", code)
	}
	again, err := e.ledger("admin").Enroll(ctx, req)
	if err != nil || again.GetMember().GetReferralCode() != code {
		t.Errorf("retried enrolment: %q, %v; want %q", again.GetMember().GetReferralCode(), err, code)
	}
	got, err := e.ledger("admin").GetMember(ctx, &ledgerv1.GetMemberRequest{MemberId: rita})
	if err != nil || got.GetMember().GetReferralCode() != code {
		t.Errorf("GetMember: %q, %v", got.GetMember().GetReferralCode(), err)
	}
	profile, err := e.members("auditor").GetMemberProfile(ctx, &ledgerv1.GetMemberProfileRequest{MemberId: rita})
	if err != nil || profile.GetProfile().GetMember().GetReferralCode() != code {
		t.Errorf("profile: %v, %v", profile, err)
	}

	codes := map[string]bool{code: true}
	for range 30 {
		m := e.enroll("M" + uuid.NewString()[:8])
		r, err := e.ledger("admin").GetMember(ctx, &ledgerv1.GetMemberRequest{MemberId: m})
		if err != nil {
			t.Fatal(err)
		}
		if c := r.GetMember().GetReferralCode(); !referralCode.MatchString(c) || codes[c] {
			t.Errorf("code %q: malformed or repeated", c)
		}
		codes[r.GetMember().GetReferralCode()] = true
	}

	if _, err := e.members("admin").UpdateMember(ctx, &ledgerv1.UpdateMemberRequest{MemberId: rita, UpdateMask: []string{"tags"}, Tags: []string{"vip"}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "MemberEnrolled and MemberUpdated with the code", func() bool {
		enrolled, updated := false, false
		for _, ev := range published[*ledgerv1.MemberEnrolled](e) {
			enrolled = enrolled || (ev.GetMemberId() == rita && ev.GetReferralCode() == code)
		}
		for _, ev := range published[*ledgerv1.MemberUpdated](e) {
			updated = updated || (ev.GetMemberId() == rita && ev.GetReferralCode() == code)
		}
		return enrolled && updated
	})
}

// TestReferralCodesBackfilled: the members enrolled before referral codes existed get
// one each when the ledger migrates, all distinct; members written later by SQL alone
// get one from the column's default.
func TestReferralCodesBackfilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testkit.Database(t), "ledger", 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	before := fstest.MapFS{}
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if !strings.HasSuffix(en.Name(), ".sql") || en.Name() >= "00010" {
			continue
		}
		b, err := fs.ReadFile(migrations.FS, en.Name())
		if err != nil {
			t.Fatal(err)
		}
		before[en.Name()] = &fstest.MapFile{Data: b}
	}
	log := testkit.Logger(t)
	if err := pg.Migrate(ctx, pool, "ledger", log, bus.Migrations(), pg.Migration{Name: "ledger", FS: before}); err != nil {
		t.Fatal(err)
	}
	const n = 5000
	if _, err := pool.Exec(ctx, `
		INSERT INTO members (id, display_name, email, locale, survey_consent, marketing_consent, tier, enrolled_at, idempotency_key, request_hash)
		SELECT gen_random_uuid(), 'm' || i, '', 'en', false, false, 'standard', now(), 'seed-' || i, ''
		FROM generate_series(1, $1::int) i`, n); err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx, pool, "ledger", log, bus.Migrations(), pg.Migration{Name: "ledger", FS: migrations.FS}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO members (id, display_name, email, locale, survey_consent, marketing_consent, tier, enrolled_at, idempotency_key, request_hash)
		VALUES (gen_random_uuid(), 'later', '', 'en', false, false, 'standard', now(), 'seed-later', '')`); err != nil {
		t.Fatal(err)
	}
	var count, distinct, wellFormed int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT referral_code),
		count(*) FILTER (WHERE referral_code ~ '^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{8}$') FROM members`).Scan(&count, &distinct, &wellFormed); err != nil {
		t.Fatal(err)
	}
	if count != n+1 || distinct != count || wellFormed != count {
		t.Errorf("%d members, %d distinct codes, %d well formed", count, distinct, wellFormed)
	}
	// The codes use the whole alphabet: the draw is not stuck on a few letters.
	var letters int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT c) FROM members, regexp_split_to_table(referral_code, '') c`).Scan(&letters); err != nil {
		t.Fatal(err)
	}
	if letters != 32 {
		t.Errorf("%d distinct characters in the codes, want 32", letters)
	}
}
