package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

func TestLanguageOf(t *testing.T) {
	for locale, want := range map[string]string{"de-AT": "de", "DE_ch": "de", "en": "en", "": "", " fr-FR": "fr"} {
		if got := domain.LanguageOf(locale); got != want {
			t.Errorf("LanguageOf(%q) = %q, want %q", locale, got, want)
		}
	}
}

func validSpec() domain.RuleSpec {
	return domain.RuleSpec{Name: "r", Condition: "true", Team: "customer-service", TaskType: domain.TaskCallBack,
		Priority: domain.PriorityHigh, FirstContactSLA: time.Hour, ResolutionSLA: 2 * time.Hour}
}

func TestRuleSpecCheck(t *testing.T) {
	if err := validSpec().Check(); err != nil {
		t.Fatal(err)
	}
	for field, change := range map[string]func(*domain.RuleSpec){
		"spec.name":              func(s *domain.RuleSpec) { s.Name = " " },
		"spec.condition":         func(s *domain.RuleSpec) { s.Condition = "" },
		"spec.team":              func(s *domain.RuleSpec) { s.Team = "Customer Service" },
		"spec.task_type":         func(s *domain.RuleSpec) { s.TaskType = domain.TaskNone },
		"spec.priority":          func(s *domain.RuleSpec) { s.Priority = "CRITICAL" },
		"spec.first_contact_sla": func(s *domain.RuleSpec) { s.FirstContactSLA = 3 * time.Hour },
		"spec.resolution_sla":    func(s *domain.RuleSpec) { s.ResolutionSLA = 0 },
	} {
		s := validSpec()
		change(&s)
		var fe *domain.FieldError
		if err := s.Check(); !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, domain.ErrInvalidRule) {
			t.Errorf("%s: %v", field, err)
		}
	}
	r := validSpec().Rule()
	if r.Kind != domain.KindCallback || !r.Active || r.ResolutionSLA != 2*time.Hour {
		t.Errorf("rule %+v", r)
	}
	s := validSpec()
	s.TaskType = domain.TaskReferralRequest
	if s.Rule().Kind != domain.KindReferralRequest {
		t.Error("a referral request is not of kind REFERRAL_REQUEST")
	}
}

func TestResolveRoute(t *testing.T) {
	rule := domain.Rule{ID: 4, Version: 2, Team: "north-care", TaskType: domain.TaskStoreFollowUp}
	none := domain.DefaultRoute{TaskType: domain.TaskNone}
	if rt := domain.Resolve(rule, true, none, domain.RoutingFacts{StoreTeam: "store-7"}); rt.Team != "store-7" || rt.Default || rt.NoCase() {
		t.Errorf("store follow-up with a store team: %+v", rt)
	}
	if rt := domain.Resolve(rule, true, none, domain.RoutingFacts{}); rt.Team != "north-care" {
		t.Errorf("store follow-up without a store team: %+v", rt)
	}
	rule.TaskType = domain.TaskCallBack
	if rt := domain.Resolve(rule, true, none, domain.RoutingFacts{StoreTeam: "store-7"}); rt.Team != "north-care" {
		t.Errorf("a call-back went to the store team: %+v", rt)
	}
	if rt := domain.Resolve(domain.Rule{}, false, none, domain.RoutingFacts{}); !rt.Default || !rt.NoCase() || rt.Rule.ID != 0 {
		t.Errorf("no match, NONE: %+v", rt)
	}
	def := domain.DefaultRoute{TaskType: domain.TaskProductFeedback, Team: "insights", Priority: domain.PriorityLow, FirstContactSLA: time.Hour, ResolutionSLA: time.Hour}
	if rt := domain.Resolve(domain.Rule{}, false, def, domain.RoutingFacts{}); !rt.Default || rt.NoCase() || rt.Team != "insights" || rt.Rule.Kind != domain.KindCallback {
		t.Errorf("no match, default team: %+v", rt)
	}
}

func TestDefaultRouteCheck(t *testing.T) {
	for _, tt := range []struct {
		d     domain.DefaultRoute
		field string
	}{
		{domain.DefaultRoute{TaskType: domain.TaskNone}, ""},
		{domain.DefaultRoute{TaskType: domain.TaskNone, Team: "x"}, "team"},
		{domain.DefaultRoute{TaskType: "SOMETHING"}, "task_type"},
		{domain.DefaultRoute{TaskType: domain.TaskCallBack, Team: "cs", Priority: domain.PriorityNormal}, "resolution_sla"},
		{domain.DefaultRoute{TaskType: domain.TaskCallBack, Team: "cs", Priority: domain.PriorityNormal, FirstContactSLA: -time.Hour, ResolutionSLA: time.Hour}, "first_contact_sla"},
		{domain.DefaultRoute{TaskType: domain.TaskCallBack, Team: "cs", Priority: domain.PriorityNormal, FirstContactSLA: 2 * time.Hour, ResolutionSLA: time.Hour}, "first_contact_sla"},
		// 0: the service's default first-contact target.
		{domain.DefaultRoute{TaskType: domain.TaskCallBack, Team: "cs", Priority: domain.PriorityNormal, ResolutionSLA: time.Hour}, ""},
		{domain.DefaultRoute{TaskType: domain.TaskCallBack, Team: "cs", Priority: domain.PriorityNormal, FirstContactSLA: time.Hour, ResolutionSLA: time.Hour}, ""},
	} {
		err := tt.d.Check()
		var fe *domain.FieldError
		if tt.field == "" && err != nil || tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field) {
			t.Errorf("%+v: %v, want field %q", tt.d, err, tt.field)
		}
	}
}
