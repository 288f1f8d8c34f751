package codeseal_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/treue/treue/services/rewards/internal/adapters/codeseal"
	"github.com/treue/treue/services/rewards/internal/domain"
)

const redemption = "0190a000-0000-7000-8000-0000000000aa"

func sealer(t *testing.T) *codeseal.Sealer {
	t.Helper()
	s, err := codeseal.New(codeseal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpens(t *testing.T) {
	t.Parallel()
	s := sealer(t)
	code, err := domain.NewCouponCode(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(redemption, code)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(code)) || bytes.Contains(bytes.ToUpper(sealed), []byte(code.Display())) {
		t.Fatal("the sealed code contains the code")
	}
	got, err := s.Open(redemption, sealed)
	if err != nil || got != code {
		t.Fatalf("Open = %q, %v; want %q", got, err, code)
	}
	// The id as Postgres prints it or as a client typed it: one redemption.
	if got, err := s.Open(strings.ToUpper(redemption), sealed); err != nil || got != code {
		t.Fatalf("Open with the id in upper case = %q, %v", got, err)
	}
	again, _ := s.Seal(redemption, code)
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of one code are equal: the nonce is not fresh")
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	s := sealer(t)
	code := domain.CouponCode("ABCD0123EFGH4567")
	sealed, err := s.Seal(redemption, code)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	other := sealer(t)
	tests := []struct {
		name   string
		sealer *codeseal.Sealer
		id     string
		sealed []byte
	}{
		{"another redemption", s, "0190a000-0000-7000-8000-0000000000bb", sealed},
		{"another key", other, redemption, sealed},
		{"a flipped ciphertext bit", s, redemption, flip(len(sealed) - 20)},
		{"a flipped nonce bit", s, redemption, flip(3)},
		{"another format", s, redemption, flip(0)},
		{"truncated", s, redemption, sealed[:len(sealed)-1]},
		{"empty", s, redemption, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(tt.id, tt.sealed)
			if !errors.Is(err, codeseal.ErrUnreadable) || got != "" {
				t.Fatalf("Open = %q, %v; want ErrUnreadable", got, err)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	key := codeseal.NewKey()
	for name, s := range map[string]string{
		"hex":              hex.EncodeToString(key),
		"upper-case hex":   strings.ToUpper(hex.EncodeToString(key)),
		"base64":           base64.StdEncoding.EncodeToString(key),
		"unpadded base64":  base64.RawStdEncoding.EncodeToString(key),
		"base64url":        base64.URLEncoding.EncodeToString(key),
		"with a line feed": base64.StdEncoding.EncodeToString(key) + "\n",
	} {
		got, err := codeseal.ParseKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s: ParseKey = %x, %v", name, got, err)
		}
	}
	for name, s := range map[string]string{
		"empty":          "",
		"16 bytes hex":   hex.EncodeToString(key[:16]),
		"31 bytes b64":   base64.StdEncoding.EncodeToString(key[:31]),
		"33 bytes b64":   base64.StdEncoding.EncodeToString(append(bytes.Clone(key), 1)),
		"a passphrase":   "correct horse battery staple",
		"63 hex digits":  hex.EncodeToString(key)[:63],
		"non-hex digits": strings.Repeat("g", 64),
	} {
		if got, err := codeseal.ParseKey(s); err == nil {
			t.Errorf("%s: ParseKey(%q) = %x, want an error", name, s, got)
		} else if len(s) > 8 && strings.Contains(err.Error(), s) {
			t.Errorf("%s: the error repeats the key: %v", name, err)
		}
	}
	if _, err := codeseal.New(key[:16]); err == nil {
		t.Error("New accepted a 16-byte key")
	}
}
