package domain_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

func shortSigner(t testing.TB, secret string) *domain.LinkSigner {
	t.Helper()
	s, err := domain.NewLinkSigner([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestShortCode(t *testing.T) {
	t.Parallel()
	s := shortSigner(t, strings.Repeat("k", 32))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	id := [16]byte{0x01, 0x92, 0xf0, 0xc8, 0x5a, 0x1e, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 9}
	exp := now.Add(7 * 24 * time.Hour)
	code := s.SignShort(id, exp)

	if len(code) != domain.ShortCodeChars || domain.ShortCodeChars > 40 {
		t.Fatalf("code %q has %d characters, want %d (at most 40)", code, len(code), domain.ShortCodeChars)
	}
	if strings.Trim(code, b64url) != "" {
		t.Errorf("code %q is not base64url", code)
	}
	if again := s.SignShort(id, exp); again != code {
		t.Errorf("signing twice: %q and %q", code, again)
	}
	c, err := s.VerifyShort(code, now)
	if err != nil || c.InvitationID != id || !c.ExpiresAt.Equal(exp) {
		t.Fatalf("VerifyShort = %+v, %v; want %x until %s", c, err, id, exp)
	}

	// Expiry: the last second is still valid, the expiry itself is not; the claims come
	// with the error.
	if _, err := s.VerifyShort(code, exp.Add(-time.Second)); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
	if c, err := s.VerifyShort(code, exp); !errors.Is(err, domain.ErrLinkExpired) || c.InvitationID != id {
		t.Errorf("at expiry: %+v, %v; want ErrLinkExpired with the claims", c, err)
	}

	// Every single-character change is refused, as is every other length.
	for i := range code {
		for _, r := range b64url {
			if byte(r) == code[i] {
				continue
			}
			forged := code[:i] + string(r) + code[i+1:]
			if _, err := s.VerifyShort(forged, now); !errors.Is(err, domain.ErrTokenInvalid) {
				t.Fatalf("VerifyShort(%q) = %v, want ErrTokenInvalid", forged, err)
			}
		}
	}
	for _, bad := range []string{"", code[:39], code + "A", code[:20] + "." + code[21:], code[:39] + "=", strings.Repeat("!", 40), code[:10] + "\n" + code[11:]} {
		if _, err := s.VerifyShort(bad, now); !errors.Is(err, domain.ErrTokenInvalid) {
			t.Errorf("VerifyShort(%q) = %v, want ErrTokenInvalid", bad, err)
		}
	}

	// Another secret, and the long token of the same claims, are refused.
	other := shortSigner(t, strings.Repeat("o", 32))
	if _, err := other.VerifyShort(code, now); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("a code of another secret: %v", err)
	}
	long := s.Sign(id, exp)
	if _, err := s.VerifyShort(long, now); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("a long token as a short code: %v", err)
	}
	if _, err := s.Verify(code, now); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("a short code as a long token: %v", err)
	}
	if domain.IsShortCode(long) || !domain.IsShortCode(code) {
		t.Errorf("IsShortCode: long %v, short %v", domain.IsShortCode(long), domain.IsShortCode(code))
	}
}

// The MAC of a short code is keyed for its purpose: the same bytes MACed with the link
// secret itself (the key of long tokens) do not verify.
func TestShortCodeKeyIsNotTheTokenKey(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("k", 32)
	s := shortSigner(t, secret)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	code := s.SignShort([16]byte{1}, now.Add(time.Hour))
	raw, err := base64.RawURLEncoding.DecodeString(code)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(raw[:20])
	naive := base64.RawURLEncoding.EncodeToString(append(raw[:20:20], m.Sum(nil)[:10]...))
	if naive == code {
		t.Fatal("the short code is MACed with the link secret itself")
	}
	if _, err := s.VerifyShort(naive, now); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("a code MACed with the token key: %v, want ErrTokenInvalid", err)
	}
}

func TestShortCodeClampsItsExpiry(t *testing.T) {
	t.Parallel()
	s := shortSigner(t, strings.Repeat("k", 32))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c, err := s.VerifyShort(s.SignShort([16]byte{3}, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)), now)
	if err != nil || !c.ExpiresAt.Equal(domain.MaxShortExpiry) {
		t.Errorf("far expiry: %v, %v; want %v", c.ExpiresAt, err, domain.MaxShortExpiry)
	}
	if _, err := s.VerifyShort(s.SignShort([16]byte{3}, time.Unix(-5, 0)), now); !errors.Is(err, domain.ErrLinkExpired) {
		t.Errorf("expiry before 1970: %v, want ErrLinkExpired", err)
	}
}

// FuzzVerifyShortCode: VerifyShort never panics, refuses with ErrTokenInvalid or
// accepts, and whatever it accepts (expired or not) is exactly the code SignShort makes
// for those claims, so no receipt link has a second spelling.
func FuzzVerifyShortCode(f *testing.F) {
	s := shortSigner(f, strings.Repeat("k", 32))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, exp := range []time.Time{now.Add(time.Hour), now.Add(-time.Hour), now, time.Unix(0, 0), domain.MaxShortExpiry} {
		code := s.SignShort([16]byte{byte(i), 0xff, 0x10, 0x80}, exp)
		f.Add(code)
		f.Add(code + "=")
		f.Add(code[:39])
		f.Add(s.Sign([16]byte{byte(i)}, exp))
	}
	f.Add("")
	f.Add(strings.Repeat("A", 40))
	f.Add(strings.Repeat("_", 40))
	f.Fuzz(func(t *testing.T, code string) {
		c, err := s.VerifyShort(code, now)
		switch {
		case err == nil, errors.Is(err, domain.ErrLinkExpired):
			if again := s.SignShort(c.InvitationID, c.ExpiresAt); again != code {
				t.Fatalf("VerifyShort accepted %q (%v), but the code for its claims is %q", code, err, again)
			}
		case !errors.Is(err, domain.ErrTokenInvalid):
			t.Fatalf("VerifyShort(%q) = %v, want ErrTokenInvalid or acceptance", code, err)
		}
	})
}
