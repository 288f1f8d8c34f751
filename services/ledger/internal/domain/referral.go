package domain

import (
	"crypto/rand"
	"strings"
)

// ReferralCodeAlphabet is Crockford's base32: digits and letters without I, L, O and
// U, so that a code read aloud or typed from paper has one spelling.
const ReferralCodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ReferralCodeLength is the length of a referral code: 32^8 (about 10^12) codes.
const ReferralCodeLength = 8

// NewReferralCode returns a random referral code.
func NewReferralCode() string {
	var b [ReferralCodeLength]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	for i := range b {
		b[i] = ReferralCodeAlphabet[b[i]&31]
	}
	return string(b[:])
}

// NormalizeReferralCode reads a code as a person typed it: case, spaces and hyphens do
// not matter, and the letters Crockford's base32 leaves out read as what they look like
// (O as 0, I and L as 1). It reports false for anything else.
func NormalizeReferralCode(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-':
			return -1
		case 'o', 'O':
			return '0'
		case 'i', 'I', 'l', 'L':
			return '1'
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
	if len(s) != ReferralCodeLength {
		return "", false
	}
	for _, r := range s {
		if !strings.ContainsRune(ReferralCodeAlphabet, r) {
			return "", false
		}
	}
	return s, true
}
