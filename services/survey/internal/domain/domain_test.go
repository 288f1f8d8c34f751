package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

func TestClassifyNPS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		score int
		want  domain.NPSClass
		err   error
	}{
		{-1, "", domain.ErrScoreOutOfRange},
		{0, domain.Detractor, nil},
		{3, domain.Detractor, nil},
		{6, domain.Detractor, nil},
		{7, domain.Passive, nil},
		{8, domain.Passive, nil},
		{9, domain.Promoter, nil},
		{10, domain.Promoter, nil},
		{11, "", domain.ErrScoreOutOfRange},
	}
	for _, tt := range tests {
		got, err := domain.ClassifyNPS(tt.score)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ClassifyNPS(%d) = %q, %v; want %q, %v", tt.score, got, err, tt.want, tt.err)
		}
	}
}

func TestLinkSigner(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("k", 32))
	s, err := domain.NewLinkSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := domain.NewLinkSigner([]byte(strings.Repeat("x", 32)))
	id := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)
	token := s.Sign(id, exp)
	if strings.ContainsAny(token, "+/=") {
		t.Errorf("token %q is not base64url without padding", token)
	}

	tamperedSig := token[:len(token)-2] + flip(token[len(token)-2:])
	head, sig, _ := strings.Cut(token, ".")
	tamperedHead := flip(head[:1]) + head[1:] + "." + sig
	// A genuine signature over a later expiry can only come from the secret.
	longer := s.Sign(id, exp.Add(24*time.Hour))
	_, longerSig, _ := strings.Cut(longer, ".")
	forged := head + "." + longerSig

	tests := []struct {
		name  string
		token string
		now   time.Time
		err   error
	}{
		{"valid", token, now, nil},
		{"one second before expiry", token, exp.Add(-time.Second), nil},
		{"at expiry", token, exp, domain.ErrLinkExpired},
		{"after expiry", token, exp.Add(time.Minute), domain.ErrLinkExpired},
		{"tampered signature", tamperedSig, now, domain.ErrTokenInvalid},
		{"tampered payload", tamperedHead, now, domain.ErrTokenInvalid},
		{"signature of another token", forged, now, domain.ErrTokenInvalid},
		{"other secret", other.Sign(id, exp), now, domain.ErrTokenInvalid},
		{"no dot", strings.ReplaceAll(token, ".", ""), now, domain.ErrTokenInvalid},
		{"empty", "", now, domain.ErrTokenInvalid},
		{"not base64", "!!!!.????", now, domain.ErrTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.Verify(tt.token, tt.now)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Verify = %v, want %v", err, tt.err)
			}
			if err == nil && (c.InvitationID != id || !c.ExpiresAt.Equal(exp)) {
				t.Errorf("claims = %+v, want id %v expiry %v", c, id, exp)
			}
		})
	}
}

func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestNewLinkSignerRejectsShortSecret(t *testing.T) {
	t.Parallel()
	if _, err := domain.NewLinkSigner([]byte("short")); err == nil {
		t.Fatal("want an error for a short secret")
	}
}

func TestSurveyVersionLanguage(t *testing.T) {
	t.Parallel()
	v := domain.SurveyVersion{DefaultLocale: "en", Texts: map[string]domain.SurveyText{
		"en": {Title: "Your opinion"},
		"de": {Title: "Ihre Meinung"},
	}}
	tests := []struct{ locale, lang, title string }{
		{"de", "de", "Ihre Meinung"},
		{"de-AT", "de", "Ihre Meinung"},
		{"DE_de", "de", "Ihre Meinung"},
		{"en-GB", "en", "Your opinion"},
		{"fr-FR", "en", "Your opinion"},
		{"", "en", "Your opinion"},
	}
	for _, tt := range tests {
		lang := v.Language(tt.locale)
		if lang != tt.lang || v.Text(lang).Title != tt.title {
			t.Errorf("Language(%q) = %q (%q); want %q, %q", tt.locale, lang, v.Text(lang).Title, tt.lang, tt.title)
		}
	}
}

func TestLatestPerMember(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := []domain.Trigger{
		{EventID: "e1", MemberID: "b", OccurredAt: t0},
		{EventID: "e2", MemberID: "a", OccurredAt: t0.Add(time.Hour)},
		{EventID: "e3", MemberID: "b", OccurredAt: t0.Add(2 * time.Hour)},
		{EventID: "e4", MemberID: "a", OccurredAt: t0},
		{EventID: "e6", MemberID: "c", OccurredAt: t0},
		{EventID: "e5", MemberID: "c", OccurredAt: t0},
	}
	got := domain.LatestPerMember(in)
	want := []string{"e2", "e3", "e6"}
	if len(got) != len(want) {
		t.Fatalf("got %d triggers, want %d", len(got), len(want))
	}
	for i, tr := range got {
		if tr.EventID != want[i] {
			t.Errorf("trigger %d = %s, want %s", i, tr.EventID, want[i])
		}
	}
}

func TestContactPolicy(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	p := domain.ContactPolicy{Interval: 30 * 24 * time.Hour}
	if got, want := p.NotAfter(now), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", got, want)
	}
}

func TestTriggersKeys(t *testing.T) {
	t.Parallel()
	at := time.Now()
	a := domain.PurchaseTrigger("ev-1", "S1", "T-9", "m", at)
	b := domain.PurchaseTrigger("ev-2", "S1", "T-9", "m", at)
	if a.Key != b.Key || a.Touchpoint != domain.TouchpointPurchase {
		t.Errorf("one purchase under two event ids must have one key: %q, %q", a.Key, b.Key)
	}
	c := domain.ContactTrigger("ev-3", "m", domain.TouchpointServiceCall, "", at)
	if c.Key == a.Key || c.Touchpoint != domain.TouchpointServiceCall {
		t.Errorf("contact trigger = %+v", c)
	}
}

func TestNewResponse(t *testing.T) {
	t.Parallel()
	now := time.Now()
	inv := domain.Invitation{ID: "i", SurveyID: "s", MemberID: "m", Touchpoint: domain.TouchpointPurchase, StoreID: "S1"}
	tests := []struct {
		name    string
		score   int
		comment string
		want    string
		err     error
	}{
		{"plain", 9, "  great  ", "great", nil},
		{"cleaned", 5, "a\x00b\xffc", "abc", nil},
		{"4000 characters", 7, strings.Repeat("ü", domain.MaxCommentLen), strings.Repeat("ü", domain.MaxCommentLen), nil},
		{"too long", 7, strings.Repeat("ü", domain.MaxCommentLen+1), "", domain.ErrCommentTooLong},
		{"bad score", 11, "", "", domain.ErrScoreOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := domain.NewScoreResponse("r", inv, npsVersion(), tt.score, tt.comment, "en", now)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && (r.Comment != tt.want || r.MemberID != "m" || r.InvitationID != "i" || r.StoreID != "S1") {
				t.Errorf("response = %+v", r)
			}
		})
	}
}

func TestNewInvitationExpiryHasWholeSeconds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 999_999_999, time.UTC)
	inv := domain.NewInvitation("i", "s", domain.Trigger{MemberID: "m"}, "de", now, time.Hour)
	if inv.ExpiresAt.Nanosecond() != 0 || !inv.ExpiresAt.Equal(time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("ExpiresAt = %v", inv.ExpiresAt)
	}
	if !inv.Open(now) || inv.Open(inv.ExpiresAt) {
		t.Error("Open is wrong around the expiry")
	}
}
