package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/survey/internal/domain"
)

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// spellings returns token with its last character replaced by each character that
// differs from it only in the low bits a 32-byte signature leaves unused (43 characters
// carry 258 bits, so the last one has two to spare), the token itself excluded.
func spellings(t *testing.T, token string) []string {
	t.Helper()
	i := strings.IndexByte(b64url, token[len(token)-1])
	if i < 0 {
		t.Fatalf("token %q does not end in base64url", token)
	}
	var out []string
	for spare := range 4 {
		if c := i&^3 | spare; c != i {
			out = append(out, token[:len(token)-1]+string(b64url[c]))
		}
	}
	return out
}

func TestLinkTokenHasOneSpelling(t *testing.T) {
	t.Parallel()
	s, err := domain.NewLinkSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	token := s.Sign([16]byte{7, 7, 7}, now.Add(time.Hour))
	if _, err := s.Verify(token, now); err != nil {
		t.Fatalf("the genuine token: %v", err)
	}
	head, sig, _ := strings.Cut(token, ".")
	others := spellings(t, token)
	others = append(others,
		head+"."+sig[:10]+"\n"+sig[10:],
		head+"."+sig+"\r\n",
		head[:8]+"\n"+head[8:]+"."+sig,
	)
	for _, other := range others {
		if _, err := s.Verify(other, now); !errors.Is(err, domain.ErrTokenInvalid) {
			t.Errorf("Verify(%q) = %v, want ErrTokenInvalid: only %q is the token", other, err, token)
		}
	}
}

// FuzzVerifyToken: Verify never panics, refuses with ErrTokenInvalid or accepts, and
// whatever it accepts (expired or not) is exactly the token Sign makes for those claims,
// so no link has a second spelling.
func FuzzVerifyToken(f *testing.F) {
	s, err := domain.NewLinkSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, exp := range []time.Time{now.Add(time.Hour), now.Add(-time.Hour), now, time.Unix(0, 0), now.AddDate(30, 0, 0)} {
		token := s.Sign([16]byte{byte(i), 0xff, 0x10, 0x80}, exp)
		f.Add(token)
		f.Add(token + "=")
		f.Add(strings.Replace(token, ".", "..", 1))
	}
	f.Add("")
	f.Add(".")
	f.Add("!!!!.????")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.Verify(token, now)
		switch {
		case err == nil, errors.Is(err, domain.ErrLinkExpired):
			if again := s.Sign(c.InvitationID, c.ExpiresAt); again != token {
				t.Fatalf("Verify accepted %q (%v), but the token for its claims is %q", token, err, again)
			}
		case !errors.Is(err, domain.ErrTokenInvalid):
			t.Fatalf("Verify(%q) = %v, want ErrTokenInvalid or acceptance", token, err)
		}
	})
}
