package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

func TestParseIdentifier(t *testing.T) {
	for _, c := range []struct {
		kind      domain.IdentifierKind
		raw, want string
	}{
		{domain.IdentifierCard, " 1234 5678-ab ", "12345678AB"},
		{domain.IdentifierCard, "abcd", "ABCD"},
		{domain.IdentifierCard, "12", ""},
		{domain.IdentifierCard, "12#45", ""},
		{domain.IdentifierCard, "1234567890123456789012345678901234567890123456789012345678901234X", ""},
		{domain.IdentifierEmail, " Ada.Lovelace@Example.COM ", "ada.lovelace@example.com"},
		{domain.IdentifierEmail, "ada@", ""},
		{domain.IdentifierEmail, "@example.com", ""},
		{domain.IdentifierEmail, "a@b@c", ""},
		{domain.IdentifierEmail, "a b@c.de", ""},
		{domain.IdentifierPhone, "+49 (151) 234-5678", "+491512345678"},
		{domain.IdentifierPhone, "0049.151.2345678", "+491512345678"},
		{domain.IdentifierPhone, "0151 2345678", ""},      // national: which country?
		{domain.IdentifierPhone, "+49 151", ""},           // too short
		{domain.IdentifierPhone, "+0 151 2345678", ""},    // no country code starts with 0
		{domain.IdentifierPhone, "+49 151 234567a", ""},   // not digits
		{domain.IdentifierPhone, "+1234567890123456", ""}, // 16 digits
		{"iban", "DE89", ""},
	} {
		got, err := domain.ParseIdentifier(c.kind, c.raw)
		switch {
		case c.want == "" && !errors.Is(err, domain.ErrInvalidIdentifier):
			t.Errorf("ParseIdentifier(%s, %q) = %v, %v; want ErrInvalidIdentifier", c.kind, c.raw, got, err)
		case c.want != "" && (err != nil || got != domain.Identifier{Kind: c.kind, Value: c.want}):
			t.Errorf("ParseIdentifier(%s, %q) = %v, %v; want %s", c.kind, c.raw, got, err, c.want)
		}
	}
}

func TestParseMemberRef(t *testing.T) {
	card := func(v string) domain.MemberRef {
		return domain.MemberRef{Identifier: domain.Identifier{Kind: domain.IdentifierCard, Value: v}}
	}
	for _, c := range []struct {
		ref  string
		want domain.MemberRef
		ok   bool
	}{
		{"", domain.MemberRef{}, false},
		{"0190A5E4-7D0B-7C3E-8F00-0123456789AB", domain.MemberRef{MemberID: "0190a5e4-7d0b-7c3e-8f00-0123456789ab"}, true},
		{"card:1234-5678", card("12345678"), true},
		{"CARD:1234 5678", card("12345678"), true},
		{"12345678", card("12345678"), true},
		{"loyalty-card-42", card("LOYALTYCARD42"), true},
		{"email:Ada@Example.com", domain.MemberRef{Identifier: domain.Identifier{Kind: domain.IdentifierEmail, Value: "ada@example.com"}}, true},
		{"phone:0044 20 7946 0018", domain.MemberRef{Identifier: domain.Identifier{Kind: domain.IdentifierPhone, Value: "+442079460018"}}, true},
		{"email:nobody", domain.MemberRef{}, false},
		{"x:1", domain.MemberRef{}, false}, // read as a card, and ":" is no card character
	} {
		got, ok := domain.ParseMemberRef(c.ref)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseMemberRef(%q) = %v, %v; want %v, %v", c.ref, got, ok, c.want, c.ok)
		}
	}
}

func TestParseIdentifiersSortsAndNamesTheField(t *testing.T) {
	got, err := domain.ParseIdentifiers("identifiers", []domain.Identifier{
		{Kind: domain.IdentifierEmail, Value: "B@x.de"}, {Kind: domain.IdentifierCard, Value: "zz-99"}, {Kind: domain.IdentifierEmail, Value: "b@X.de"},
	})
	want := []domain.Identifier{{Kind: domain.IdentifierCard, Value: "ZZ99"}, {Kind: domain.IdentifierEmail, Value: "b@x.de"}}
	if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ParseIdentifiers = %v, %v; want %v", got, err, want)
	}
	_, err = domain.ParseIdentifiers("identifiers", []domain.Identifier{{Kind: domain.IdentifierCard, Value: "ok-123"}, {Kind: domain.IdentifierPhone, Value: "12"}})
	var fe *domain.FieldError
	if !errors.As(err, &fe) || fe.Field != "identifiers[1]" || !errors.Is(err, domain.ErrInvalidIdentifier) {
		t.Errorf("a bad second identifier: %v", err)
	}
}

func TestMaskedIdentifierHidesThePerson(t *testing.T) {
	for _, c := range []struct {
		id   domain.Identifier
		want string
	}{
		{domain.Identifier{Kind: domain.IdentifierEmail, Value: "ada@example.com"}, "a***@example.com"},
		{domain.Identifier{Kind: domain.IdentifierPhone, Value: "+491512345678"}, "***678"},
		{domain.Identifier{Kind: domain.IdentifierCard, Value: "12345678AB"}, "***78AB"},
	} {
		if got := c.id.Masked(); got.Value != c.want || got.Kind != c.id.Kind {
			t.Errorf("%v masked = %v, want %s", c.id, got, c.want)
		}
	}
}

func TestEnrolmentHashCoversIdentifiers(t *testing.T) {
	base := domain.Enrolment{DisplayName: "Ada", Email: "ada@example.com"}
	withCard := base
	withCard.Identifiers = []domain.Identifier{{Kind: domain.IdentifierCard, Value: "1234"}}
	withOther := base
	withOther.Identifiers = []domain.Identifier{{Kind: domain.IdentifierCard, Value: "1235"}}
	withEvidence := base
	withEvidence.ConsentEvidence = domain.ConsentEvidence{WordingVersion: "v2"}
	hashes := map[string]bool{base.Hash(): true, withCard.Hash(): true, withOther.Hash(): true, withEvidence.Hash(): true}
	if len(hashes) != 4 {
		t.Error("identifiers or consent evidence do not change the enrolment's hash")
	}
	// Without identifiers and evidence, the hash is what it was before they existed.
	if base.Hash() != domain.RequestHash("enroll", "Ada", "ada@example.com", "en", "false", "false") {
		t.Error("the hash of a plain enrolment changed")
	}
}

func TestCheckClaim(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	p := domain.Purchase{TotalMinor: 1299, OccurredAt: now.Add(-89 * 24 * time.Hour)}
	window := 90 * 24 * time.Hour
	if err := domain.CheckClaim(p, 1299, now, window); err != nil {
		t.Errorf("a claim inside the window: %v", err)
	}
	if err := domain.CheckClaim(p, 1298, now, window); !errors.Is(err, domain.ErrPurchaseNotFound) {
		t.Errorf("another total: %v", err)
	}
	if err := domain.CheckClaim(p, 1299, now.Add(48*time.Hour), window); !errors.Is(err, domain.ErrClaimWindowClosed) {
		t.Errorf("after the window: %v", err)
	}
	p.MemberID = "someone"
	if err := domain.CheckClaim(p, 1299, now, window); !errors.Is(err, domain.ErrAlreadyClaimed) {
		t.Errorf("credited already: %v", err)
	}
}

func TestApplyConsentFollowsTheLatestRecord(t *testing.T) {
	m := domain.Member{SurveyConsent: true}
	changed, err := m.ApplyConsent(domain.ConsentRecord{Purpose: domain.ConsentSurvey, Granted: false})
	if err != nil || !changed || m.SurveyConsent {
		t.Errorf("withdrawal: changed %v, %v, member %+v", changed, err, m)
	}
	changed, _ = m.ApplyConsent(domain.ConsentRecord{Purpose: domain.ConsentSurvey, Granted: false})
	if changed {
		t.Error("withdrawing a withdrawn consent reported a change")
	}
	if changed, _ = m.ApplyConsent(domain.ConsentRecord{Purpose: domain.ConsentMarketing, Granted: true}); !changed || !m.MarketingConsent {
		t.Error("granting marketing did not set it")
	}
	if _, err := m.ApplyConsent(domain.ConsentRecord{Purpose: "profiling", Granted: true}); !errors.Is(err, domain.ErrConsentPurpose) {
		t.Errorf("an unknown purpose: %v", err)
	}
}
