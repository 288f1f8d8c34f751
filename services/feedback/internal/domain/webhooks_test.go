package domain_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

func TestMatchEventType(t *testing.T) {
	for _, tc := range []struct {
		pattern, subject string
		want             bool
	}{
		{"*", "feedback.case.opened", true},
		{"feedback.case.*", "feedback.case.opened", true},
		{"feedback.case.*", "feedback.case.escalated.level2", true},
		{"feedback.case.*", "feedback.case", false},
		{"feedback.case.*", "feedback.cases.opened", false},
		{"feedback.*", "feedback.goodwill.granted", true},
		{"survey.response.submitted", "survey.response.submitted", true},
		{"survey.response.submitted", "survey.response.submitted.x", false},
		{"survey.response", "survey.response.submitted", false},
		{"feedback*", "feedback.case.opened", false},
	} {
		if got := domain.MatchEventType(tc.pattern, tc.subject); got != tc.want {
			t.Errorf("MatchEventType(%q, %q) = %v", tc.pattern, tc.subject, got)
		}
	}
	s := domain.Subscription{EventTypes: []string{"feedback.case.resolved", "survey.*"}}
	if !s.Wants("survey.response.submitted") || !s.Wants("feedback.case.resolved") || s.Wants("feedback.case.opened") {
		t.Error("Wants")
	}
}

func TestValidateEventType(t *testing.T) {
	for _, ok := range []string{"*", "feedback.case.*", "survey.response.submitted", "feedback.goodwill_granted", "x-y"} {
		if err := domain.ValidateEventType(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "feedback..case", "feedback.*.opened", "feedback.case.>", "feedback case", "feedback.case.", "*.*"} {
		if err := domain.ValidateEventType(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestValidateWebhookURL(t *testing.T) {
	for _, tc := range []struct {
		url       string
		loopback  bool
		wantValid bool
	}{
		{"https://hooks.example.com/treue", false, true},
		{"https://127.0.0.1:8443/x", false, true},
		{"http://hooks.example.com/treue", true, false},
		{"http://127.0.0.1:8080/x", false, false},
		{"http://127.0.0.1:8080/x", true, true},
		{"http://[::1]:8080/x", true, true},
		{"http://localhost/x", true, true},
		{"http://10.0.0.1/x", true, false},
		{"ftp://127.0.0.1/x", true, false},
		{"https://user:pw@example.com/", false, false},
		{"https://example.com/#frag", false, false},
		{"/relative", false, false},
		{"https://", false, false},
	} {
		err := domain.ValidateWebhookURL(tc.url, tc.loopback)
		var fe *domain.FieldError
		if (err == nil) != tc.wantValid || err != nil && (!errors.As(err, &fe) || fe.Field != "url") {
			t.Errorf("ValidateWebhookURL(%q, %v) = %v", tc.url, tc.loopback, err)
		}
	}
}

func TestWebhookBackoff(t *testing.T) {
	got := []time.Duration{}
	for n := 1; n <= 6; n++ {
		got = append(got, domain.WebhookBackoff(n, time.Second, 10*time.Second))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("back-off after attempt %d = %s, want %s", i+1, got[i], want[i])
		}
	}
	if d := domain.WebhookBackoff(1000, time.Second, time.Hour); d != time.Hour {
		t.Errorf("many attempts: %s", d)
	}
}

func TestSubscriptionSecrets(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := domain.Subscription{Secret: "whsec_new"}
	if got := s.Secrets(now); len(got) != 1 || got[0] != "whsec_new" {
		t.Errorf("secrets %v", got)
	}
	s.PreviousSecret, s.PreviousUntil = "whsec_old", now.Add(domain.PreviousSecretValidity)
	if got := s.Secrets(now.Add(23 * time.Hour)); len(got) != 2 || got[0] != "whsec_new" || got[1] != "whsec_old" {
		t.Errorf("secrets during the rotation %v", got)
	}
	if got := s.Secrets(now.Add(24 * time.Hour)); len(got) != 1 {
		t.Errorf("secrets after the rotation %v", got)
	}
}

func TestWebhookBody(t *testing.T) {
	b, err := domain.WebhookBody(domain.HookEvent{ID: "e1", Subject: "feedback.case.opened", Data: json.RawMessage(`{"case_id":"c1"}`)},
		time.Date(2026, 5, 1, 12, 0, 0, 123, time.FixedZone("CEST", 7200)))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"feedback.case.opened","timestamp":"2026-05-01T10:00:00Z","data":{"case_id":"c1"}}`; string(b) != want {
		t.Errorf("body %s, want %s", b, want)
	}
}

func TestCRMUpdateRequestHash(t *testing.T) {
	u := domain.CRMUpdate{IdempotencyKey: "k", CaseID: "c", ExternalSystem: "crm", ExternalReference: "r", Note: "n", Status: "resolved", Outcome: "CONTACTED_RESOLVED"}
	v := u
	v.ReceivedAt, v.UpdatedBy = time.Now(), "someone"
	if u.RequestHash() != v.RequestHash() {
		t.Error("the hash depends on when and by whom")
	}
	for _, change := range []func(*domain.CRMUpdate){
		func(x *domain.CRMUpdate) { x.Note = "m" },
		func(x *domain.CRMUpdate) { x.ExternalReference = "s" },
		func(x *domain.CRMUpdate) { x.Status = "" },
		func(x *domain.CRMUpdate) { x.CaseID = "d" },
		func(x *domain.CRMUpdate) { x.Outcome = "UNREACHABLE" },
		// Separators cannot make two requests one.
		func(x *domain.CRMUpdate) { x.ExternalSystem, x.ExternalReference = `crm"|"r`, "" },
	} {
		w := u
		change(&w)
		if w.RequestHash() == u.RequestHash() {
			t.Errorf("%+v has the hash of %+v", w, u)
		}
	}
}
