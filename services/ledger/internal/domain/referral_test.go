package domain_test

import (
	"strings"
	"testing"

	"github.com/treue/treue/services/ledger/internal/domain"
)

func TestNewReferralCode(t *testing.T) {
	seen := map[string]bool{}
	for range 10_000 {
		c := domain.NewReferralCode()
		if len(c) != domain.ReferralCodeLength || strings.ContainsAny(c, "ILOU") {
			t.Fatalf("code %q", c)
		}
		if n, ok := domain.NormalizeReferralCode(c); !ok || n != c {
			t.Fatalf("%q normalises to %q, %v", c, n, ok)
		}
		seen[c] = true
	}
	if len(seen) < 9_990 {
		t.Errorf("%d distinct codes of 10000", len(seen))
	}
}

func TestNormalizeReferralCode(t *testing.T) {
	for in, want := range map[string]string{"7k3q-9xmz": "7K3Q9XMZ", "ol1i abcd": "0111ABCD", " 12345678 ": "12345678"} {
		if got, ok := domain.NormalizeReferralCode(in); !ok || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "1234567", "123456789", "ABCDEFGU", "ABC$EFGH", "ÄBCDEFGH"} {
		if got, ok := domain.NormalizeReferralCode(bad); ok {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}
