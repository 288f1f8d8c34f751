package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

func TestGrantGoodwill(t *testing.T) {
	limits := domain.GoodwillLimits{"service_agent": 500, "admin": 5000}
	policy := domain.GoodwillPolicy{Limits: limits}
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	c := domain.Case{ID: "c1", MemberID: "m1"}

	g, err := policy.Grant(c, domain.GoodwillAsk{Points: 500, Reason: "sorry", By: "alice", Roles: []string{"service_agent"}}, at)
	if err != nil || g != (domain.Goodwill{CaseID: "c1", MemberID: "m1", Points: 500, GrantedBy: "alice", Role: "service_agent", Reason: "sorry", GrantedAt: at}) {
		t.Errorf("grant %+v, %v", g, err)
	}
	// The highest limit among the caller's roles applies.
	if g, err := policy.Grant(c, domain.GoodwillAsk{Points: 4000, Reason: "", By: "root", Roles: []string{"service_agent", "admin"}}, at); err != nil || g.Role != "admin" {
		t.Errorf("admin's grant %+v, %v", g, err)
	}
	var le *domain.GoodwillLimitError
	if _, err := policy.Grant(c, domain.GoodwillAsk{Points: 501, Reason: "", By: "alice", Roles: []string{"service_agent"}}, at); !errors.As(err, &le) ||
		!errors.Is(err, domain.ErrGoodwillLimit) || le.Role != "service_agent" || le.Limit != 500 {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := policy.Grant(c, domain.GoodwillAsk{Points: 1, Reason: "", By: "mia", Roles: []string{"marketing"}}, at); !errors.Is(err, domain.ErrGoodwillLimit) {
		t.Errorf("a role without a limit: %v", err)
	}
	if _, err := policy.Grant(domain.Case{ID: "c2"}, domain.GoodwillAsk{Points: 1, Reason: "", By: "alice", Roles: []string{"service_agent"}}, at); !errors.Is(err, domain.ErrGoodwillAnonymous) {
		t.Errorf("anonymous case: %v", err)
	}
}

func TestParseGoodwillLimits(t *testing.T) {
	l, err := domain.ParseGoodwillLimits(" service_agent:500, admin=5000 ,")
	if err != nil || len(l) != 2 || l["service_agent"] != 500 || l["admin"] != 5000 {
		t.Errorf("%v, %v", l, err)
	}
	for _, bad := range []string{"agent", ":5", "agent:-1", "agent:0", "agent:x", "a:1,a:2"} {
		if _, err := domain.ParseGoodwillLimits(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A reason longer than the ledger and the rewards service take is refused before the
// resolution commits, instead of the goodwill being refused after it.
func TestGoodwillReasonBounded(t *testing.T) {
	p := domain.GoodwillPolicy{Limits: domain.GoodwillLimits{"service_agent": 500}}
	c := domain.Case{ID: "c", MemberID: "m"}
	if _, err := p.Grant(c, domain.GoodwillAsk{Points: 10, Reason: strings.Repeat("ä", domain.MaxGoodwillReason), Roles: []string{"service_agent"}}, time.Now()); err != nil {
		t.Errorf("a reason of %d characters: %v", domain.MaxGoodwillReason, err)
	}
	_, err := p.Grant(c, domain.GoodwillAsk{Points: 10, Reason: strings.Repeat("a", domain.MaxGoodwillReason+1), Roles: []string{"service_agent"}}, time.Now())
	var fe *domain.FieldError
	if !errors.As(err, &fe) || fe.Field != "goodwill_reason" {
		t.Errorf("a reason one too long: %v, want a field error naming goodwill_reason", err)
	}
}
