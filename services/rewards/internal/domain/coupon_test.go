package domain_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// decode is the inverse of the encoding, written independently: 16 symbols back to the
// 10 bytes they were drawn from.
func decode(t *testing.T, c domain.CouponCode) []byte {
	t.Helper()
	var out []byte
	var acc uint64
	bits := 0
	for _, r := range string(c) {
		i := strings.IndexRune(domain.CodeAlphabet, r)
		if i < 0 {
			t.Fatalf("symbol %q of %s is not in the alphabet", r, c)
		}
		acc = acc<<5 | uint64(i)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out
}

func TestNewCouponCodeCarriesEveryRandomBit(t *testing.T) {
	t.Parallel()
	for _, seed := range [][]byte{
		bytes.Repeat([]byte{0x00}, 10),
		bytes.Repeat([]byte{0xff}, 10),
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab},
	} {
		code, err := domain.NewCouponCode(bytes.NewReader(seed))
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != domain.CodeLength {
			t.Fatalf("code %q has %d symbols, want %d", code, len(code), domain.CodeLength)
		}
		if got := decode(t, code); !bytes.Equal(got, seed) {
			t.Errorf("code %s decodes to %x, want %x", code, got, seed)
		}
	}
	zero, _ := domain.NewCouponCode(bytes.NewReader(make([]byte, 10)))
	if zero != "0000000000000000" {
		t.Errorf("all-zero bytes give %s", zero)
	}
	ones, _ := domain.NewCouponCode(bytes.NewReader(bytes.Repeat([]byte{0xff}, 10)))
	if ones != "ZZZZZZZZZZZZZZZZ" {
		t.Errorf("all-one bytes give %s", ones)
	}
}

func TestNewCouponCodeEntropyAndAlphabet(t *testing.T) {
	t.Parallel()
	if domain.CodeBits < 80 {
		t.Fatalf("codes carry %d bits, want at least 80", domain.CodeBits)
	}
	if len(domain.CodeAlphabet) != 32 {
		t.Fatalf("alphabet has %d symbols, want 32", len(domain.CodeAlphabet))
	}
	for _, r := range "ILOU" {
		if strings.ContainsRune(domain.CodeAlphabet, r) {
			t.Errorf("alphabet contains the ambiguous %q", r)
		}
	}
	const draws = 20000
	seen := make(map[domain.CouponCode]bool, draws)
	counts := map[rune]int{}
	for range draws {
		code, err := domain.NewCouponCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if seen[code] {
			t.Fatalf("code %s drawn twice in %d draws", code, draws)
		}
		seen[code] = true
		for _, r := range string(code) {
			counts[r]++
		}
	}
	// Every symbol is uniform: 20000*16/32 = 10000 expected per symbol; 5% either way
	// is more than 10 standard deviations (sd ~ 98).
	if len(counts) != 32 {
		t.Fatalf("%d distinct symbols used, want 32", len(counts))
	}
	for r, n := range counts {
		if n < 9500 || n > 10500 {
			t.Errorf("symbol %q appeared %d times, want about 10000", r, n)
		}
	}
}

func TestNewCouponCodeFailsWithoutRandomness(t *testing.T) {
	t.Parallel()
	if _, err := domain.NewCouponCode(iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Fatal("want an error when the random source fails")
	}
	if _, err := domain.NewCouponCode(bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Fatal("want an error when the random source runs dry")
	}
}

func TestParseCouponCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  domain.CouponCode
		err   bool
	}{
		{"canonical", "ABCD0123EFGH4567", "ABCD0123EFGH4567", false},
		{"displayed", "ABCD-0123-EFGH-4567", "ABCD0123EFGH4567", false},
		{"lower case with spaces", "abcd 0123 efgh 4567", "ABCD0123EFGH4567", false},
		{"look-alikes read as digits", "oOiI-lL00-1111-ZZZZ", "00111100" + "1111ZZZZ", false},
		{"tabs and mixed separators", "\tABCD-0123 EFGH-4567 ", "ABCD0123EFGH4567", false},
		{"U is not in the alphabet", "UBCD-0123-EFGH-4567", "", true},
		{"punctuation", "ABCD.0123.EFGH.4567", "", true},
		{"too short", "ABCD-0123-EFGH-456", "", true},
		{"too long", "ABCD-0123-EFGH-45678", "", true},
		{"non-ASCII", "ÄBCD-0123-EFGH-4567", "", true},
		{"non-ASCII that upper-cases to ASCII", "ſBCD-0123-EFGH-4567", "", true},
		{"dotless i", "ıBCD-0123-EFGH-4567", "", true},
		{"Kelvin sign", "\u212aBCD-0123-EFGH-4567", "", true},
		{"empty", "", "", true},
		{"only separators", "----------------", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.ParseCouponCode(tt.input)
			if tt.err {
				if !errors.Is(err, domain.ErrMalformedCode) {
					t.Fatalf("ParseCouponCode(%q) = %q, %v; want ErrMalformedCode", tt.input, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseCouponCode(%q) = %q, %v; want %q", tt.input, got, err, tt.want)
			}
		})
	}
}

func TestDisplayRoundTripsAndHash(t *testing.T) {
	t.Parallel()
	code, err := domain.NewCouponCode(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	shown := code.Display()
	if len(shown) != 19 || shown[4] != '-' || shown[9] != '-' || shown[14] != '-' {
		t.Fatalf("Display() = %q, want XXXX-XXXX-XXXX-XXXX", shown)
	}
	back, err := domain.ParseCouponCode(strings.ToLower(shown))
	if err != nil || back != code {
		t.Fatalf("ParseCouponCode(Display()) = %q, %v; want %q", back, err, code)
	}
	want := sha256.Sum256([]byte(code))
	if !bytes.Equal(code.Hash(), want[:]) || !bytes.Equal(back.Hash(), code.Hash()) {
		t.Fatal("Hash is not the SHA-256 of the canonical code")
	}
}

func TestCouponUsable(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		coupon domain.Coupon
		want   error
	}{
		{"fresh", domain.Coupon{ExpiresAt: now.Add(time.Hour)}, nil},
		{"expires now", domain.Coupon{ExpiresAt: now}, domain.ErrCouponExpired},
		{"expired", domain.Coupon{ExpiresAt: now.Add(-time.Hour)}, domain.ErrCouponExpired},
		{"redeemed", domain.Coupon{ExpiresAt: now.Add(time.Hour), RedeemedAt: now.Add(-time.Minute)}, domain.ErrCouponAlreadyRedeemed},
		{"redeemed and expired", domain.Coupon{ExpiresAt: now.Add(-time.Hour), RedeemedAt: now.Add(-2 * time.Hour)}, domain.ErrCouponAlreadyRedeemed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.coupon.Usable(now); !errors.Is(got, tt.want) {
				t.Fatalf("Usable() = %v, want %v", got, tt.want)
			}
		})
	}
}
