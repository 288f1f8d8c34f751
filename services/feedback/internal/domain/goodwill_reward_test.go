package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

func TestGoodwillPolicyRewards(t *testing.T) {
	p := domain.GoodwillPolicy{Limits: domain.GoodwillLimits{"service_agent": 500, "admin": 5000}, RewardRoles: []string{"admin", "team_lead"}}
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	c := domain.Case{ID: "c1", MemberID: "m1"}

	g, err := p.Grant(c, domain.GoodwillAsk{RewardID: "r1", Reason: "sorry", By: "lena", Roles: []string{"service_agent", "team_lead"}}, at)
	if err != nil || g != (domain.Goodwill{CaseID: "c1", MemberID: "m1", RewardID: "r1", GrantedBy: "lena", Role: "team_lead", Reason: "sorry", GrantedAt: at}) {
		t.Errorf("a reward only: %+v, %v", g, err)
	}
	// Points and a reward: the points' role is recorded; each needs its permission.
	if g, err := p.Grant(c, domain.GoodwillAsk{Points: 300, RewardID: "r1", Roles: []string{"service_agent", "team_lead"}}, at); err != nil ||
		g.Role != "service_agent" || g.Points != 300 || g.RewardID != "r1" {
		t.Errorf("points and a reward: %+v, %v", g, err)
	}
	if _, err := p.Grant(c, domain.GoodwillAsk{RewardID: "r1", Roles: []string{"service_agent"}}, at); !errors.Is(err, domain.ErrGoodwillRewardNotAllowed) {
		t.Errorf("an agent's reward: %v", err)
	}
	if _, err := p.Grant(c, domain.GoodwillAsk{Points: 501, RewardID: "r1", Roles: []string{"service_agent", "team_lead"}}, at); !errors.Is(err, domain.ErrGoodwillLimit) {
		t.Errorf("points over the limit with a reward: %v", err)
	}
	if _, err := p.Grant(domain.Case{ID: "c2"}, domain.GoodwillAsk{RewardID: "r1", Roles: []string{"admin"}}, at); !errors.Is(err, domain.ErrGoodwillAnonymous) {
		t.Errorf("an anonymous case: %v", err)
	}
	if (domain.GoodwillAsk{}).Any() || !(domain.GoodwillAsk{RewardID: "r"}).Any() || !(domain.GoodwillAsk{Points: 1}).Any() {
		t.Error("Any")
	}
}

func TestParseRoles(t *testing.T) {
	if got := domain.ParseRoles(" admin, team_lead,,admin ,manager"); !slices.Equal(got, []string{"admin", "team_lead", "manager"}) {
		t.Errorf("%q", got)
	}
	if got := domain.ParseRoles(""); got != nil {
		t.Errorf("%q", got)
	}
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		minor         int64
		currency, loc string
		want          string
	}{
		{500, "EUR", "de", "5,00 EUR"}, {500, "EUR", "en", "5.00 EUR"}, {1999, "EUR", "de-AT", "19,99 EUR"},
		{7, "GBP", "", "0.07 GBP"}, {-250, "EUR", "en", "-2.50 EUR"}, {100, "EUR", "dexx", "1.00 EUR"},
	} {
		if got := domain.Money(tc.minor, tc.currency, tc.loc); got != tc.want {
			t.Errorf("Money(%d, %s, %s) = %q, want %q", tc.minor, tc.currency, tc.loc, got, tc.want)
		}
	}
}

func TestCouponMail(t *testing.T) {
	m := domain.CouponMail{Locale: "de", Name: "Eva", RewardName: "Kaffee", ValueMinor: 500, Currency: "EUR",
		Code: "ABCD-EFGH-JKMN-PQRS", ExpiresAt: time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)}
	subject, body := m.Render()
	if subject != "Ein Gutschein als Entschuldigung" || !strings.Contains(body, "Guten Tag Eva,") ||
		!strings.Contains(body, "Kaffee (5,00 EUR)") || !strings.Contains(body, "Code: ABCD-EFGH-JKMN-PQRS") || !strings.Contains(body, "30.06.2026") {
		t.Errorf("German: %q\n%s", subject, body)
	}
	m.Locale, m.Name = "en-GB", ""
	subject, body = m.Render()
	if subject != "A coupon to say sorry" || !strings.HasPrefix(body, "Hello,\n") || !strings.Contains(body, "Kaffee (5.00 EUR)") ||
		!strings.Contains(body, "Code: ABCD-EFGH-JKMN-PQRS") || !strings.Contains(body, "2026-06-30") {
		t.Errorf("English: %q\n%s", subject, body)
	}
}

func TestGoodwillRewardNote(t *testing.T) {
	r := domain.GoodwillReward{CaseID: "c1", RewardName: "Kaffee", ValueMinor: 500, Currency: "EUR",
		ExpiresAt: time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC), Status: domain.RewardEmailed}
	if r.IdempotencyKey() != "goodwill:c1" || !strings.Contains(r.Note(), "emailed to the member") || !r.Status.Issued() {
		t.Errorf("emailed: %q", r.Note())
	}
	r.Status, r.Error = domain.RewardNotEmailed, "the member has no email address"
	if !strings.Contains(r.Note(), "NOT emailed: the member has no email address") || !r.Status.Issued() {
		t.Errorf("not emailed: %q", r.Note())
	}
	r.Status, r.Error = domain.RewardRefused, "REWARD_INACTIVE"
	if !strings.Contains(r.Note(), "refused") || r.Status.Issued() || domain.RewardPending.Issued() {
		t.Errorf("refused: %q", r.Note())
	}
}
