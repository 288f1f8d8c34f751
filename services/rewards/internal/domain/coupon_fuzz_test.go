package domain_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// FuzzParseCouponCode: whatever a till sends, the parser answers without panicking; it
// accepts only ASCII (a code is printed and typed in ASCII, so anything else is a typo
// or a probe); and what it accepts is canonical: CodeLength symbols of the alphabet, a
// fixed point of parsing, and the same code whether typed canonical, displayed, in lower
// case or with the look-alikes a member might type.
func FuzzParseCouponCode(f *testing.F) {
	for _, seed := range []string{
		"ABCD0123EFGH4567", "ABCD-0123-EFGH-4567", "abcd 0123 efgh 4567", "oOiI-lL00-1111-ZZZZ",
		"\tABCD-0123 EFGH-4567 ", "UBCD-0123-EFGH-4567", "ÄBCD-0123-EFGH-4567", "", "----------------",
		"ABCD-0123-EFGH-45678", "\x00ABCD0123EFGH4567", "ABCD0123EFGH456\xff", "ǅABCD0123EFGH456",
		"ſBCD0123EFGH4567", "ıBCD-0123-EFGH-4567", "\u212a" + strings.Repeat("1", 15), "ﬀ",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		code, err := domain.ParseCouponCode(input)
		if err != nil {
			if code != "" {
				t.Fatalf("ParseCouponCode(%q) = %q with error %v; want no code", input, code, err)
			}
			return
		}
		for i := range len(input) {
			if input[i] > 0x7f {
				t.Fatalf("ParseCouponCode(%q) = %q: accepted a non-ASCII input", input, code)
			}
		}
		if len(code) != domain.CodeLength || !utf8.ValidString(string(code)) {
			t.Fatalf("ParseCouponCode(%q) = %q: not %d symbols", input, code, domain.CodeLength)
		}
		for _, r := range string(code) {
			if !strings.ContainsRune(domain.CodeAlphabet, r) {
				t.Fatalf("ParseCouponCode(%q) = %q: symbol %q is not in the alphabet", input, code, r)
			}
		}
		for _, again := range []string{
			string(code), code.Display(), strings.ToLower(code.Display()),
			strings.NewReplacer("0", "O", "1", "I").Replace(string(code)),
			strings.NewReplacer("0", "o", "1", "l").Replace(code.Display()),
		} {
			if back, err := domain.ParseCouponCode(again); err != nil || back != code {
				t.Fatalf("ParseCouponCode(%q) = %q, %v; want %q (from %q)", again, back, err, code, input)
			}
		}
		if string(code.Hash()) != string(domain.CouponCode(code).Hash()) {
			t.Fatal("Hash is not deterministic")
		}
	})
}
