package domain_test

import (
	"testing"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

func TestCheckTimeZone(t *testing.T) {
	for tz, ok := range map[string]bool{
		"": true, "Europe/Berlin": true, "UTC": true, "America/Argentina/Buenos_Aires": true,
		"Local": false, "Europe/Nowhere": false, " Europe/Berlin": false, "../../etc/passwd": false, "+02:00": false,
	} {
		if err := domain.CheckTimeZone(tz); (err == nil) != ok {
			t.Errorf("CheckTimeZone(%q) = %v, want ok %v", tz, err, ok)
		}
	}
}

func TestMemberUpdatedOf(t *testing.T) {
	at := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	p := domain.Profile{
		Member: domain.Member{ID: "m1", Locale: "de", TimeZone: "Europe/Berlin", Tier: "gold"},
		Identifiers: []domain.Identifier{
			{Kind: domain.IdentifierCard, Value: "1234"}, {Kind: domain.IdentifierEmail, Value: "a@example.com"},
			{Kind: domain.IdentifierPhone, Value: "+4917012345"},
		},
		Tags: []string{"vip"},
	}
	got := domain.MemberUpdatedOf(p, at)
	if got.Email != "a@example.com" || got.Phone != "+4917012345" || got.TimeZone != "Europe/Berlin" || got.Tier != "gold" ||
		got.Locale != "de" || !got.UpdatedAt.Equal(at) || len(got.Tags) != 1 {
		t.Errorf("without an enrolment email: %+v", got)
	}
	p.Member.Email = "enrolled@example.com"
	if got := domain.MemberUpdatedOf(p, at); got.Email != "enrolled@example.com" {
		t.Errorf("the enrolment's email comes first: %q", got.Email)
	}
}

func TestPurchaseMatchedByIdentifier(t *testing.T) {
	const id = "0190a0b0-0000-7000-8000-000000000001"
	for _, c := range []struct {
		ref, member string
		want        bool
	}{
		{"card:1234 5678", id, true}, {"12345678", id, true}, {"email:a@example.com", id, true}, {"phone:+4917012345", id, true},
		{id, id, false}, {"card:1234 5678", "", false}, {"", "", false},
	} {
		p := domain.Purchase{MemberRef: c.ref, MemberID: c.member}
		if got := p.MatchedByIdentifier(); got != c.want {
			t.Errorf("%q matched to %q: %v, want %v", c.ref, c.member, got, c.want)
		}
	}
}
