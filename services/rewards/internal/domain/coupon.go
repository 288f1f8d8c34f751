package domain

import (
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"time"
)

// CodeAlphabet is Crockford's base32: no I, L, O or U, so that a code read aloud, printed
// or typed at a till is hard to get wrong.
const CodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

const (
	// CodeLength is the number of symbols of a code. Each carries 5 bits: 80 bits of
	// entropy, drawn from crypto/rand.
	CodeLength = 16
	// CodeBits is the entropy of a code.
	CodeBits  = CodeLength * 5
	codeBytes = CodeBits / 8
	codeGroup = 4
)

// ErrMalformedCode: the input cannot be a code this service issued.
var ErrMalformedCode = errors.New("malformed coupon code")

// CouponCode is a code in its canonical form: CodeLength symbols of CodeAlphabet, no
// separators. It is a secret: shown to the member once, never stored or logged; only its
// Hash is kept.
type CouponCode string

// NewCouponCode draws a code from random (crypto/rand.Reader in production). 10 random
// bytes are exactly 16 symbols of 5 bits, so every symbol is uniform: no modulo bias.
func NewCouponCode(random io.Reader) (CouponCode, error) {
	var b [codeBytes]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", err
	}
	var out [CodeLength]byte
	var acc uint32
	bits, n := 0, 0
	for _, x := range b {
		acc = acc<<8 | uint32(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[n] = CodeAlphabet[(acc>>bits)&31]
			n++
		}
		acc &= 1<<bits - 1
	}
	return CouponCode(out[:]), nil
}

// ParseCouponCode normalises what a member or a till typed: upper case, dashes and
// spaces removed, and Crockford's look-alikes read as digits (O as 0, I and L as 1).
// Anything else that is not in the alphabet, or the wrong length, is ErrMalformedCode.
// Case is folded byte by byte in ASCII only: Unicode upper-casing would read ſ as S and
// ı as I, accepting input no code was ever printed in.
func ParseCouponCode(input string) (CouponCode, error) {
	var b strings.Builder
	b.Grow(CodeLength)
	for i := range len(input) {
		c := input[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch {
		case c == '-' || c == ' ' || c == '\t':
			continue
		case c == 'O':
			c = '0'
		case c == 'I' || c == 'L':
			c = '1'
		case strings.IndexByte(CodeAlphabet, c) < 0:
			// Also every byte of a non-ASCII character: the alphabet is ASCII.
			return "", ErrMalformedCode
		}
		if b.Len() == CodeLength {
			return "", ErrMalformedCode
		}
		b.WriteByte(c)
	}
	if b.Len() != CodeLength {
		return "", ErrMalformedCode
	}
	return CouponCode(b.String()), nil
}

// Display groups the code for people: XXXX-XXXX-XXXX-XXXX.
func (c CouponCode) Display() string {
	var b strings.Builder
	for i := 0; i < len(c); i += codeGroup {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(string(c[i:min(i+codeGroup, len(c))]))
	}
	return b.String()
}

// Hash is what the database keeps and looks codes up by.
//
// A plain SHA-256 is enough, no slow hash (bcrypt, argon2) is needed: slow hashes protect
// low-entropy secrets such as passwords, which an attacker guesses from a dictionary. A
// code is 80 uniformly random bits: there is no dictionary, and finding any one of a
// million live coupons from a stolen table takes about 2^60 SHA-256 evaluations, GPU-years
// for a coupon worth a few euros that expires within months. The lookup also needs a
// deterministic hash (a unique index on it), which rules out per-row salts, so a slow hash
// would add only a constant factor, paid on every till request.
func (c CouponCode) Hash() []byte {
	sum := sha256.Sum256([]byte(c))
	return sum[:]
}

// Coupon is an issued code's record (the code itself is not in it).
type Coupon struct {
	ID           string
	RedemptionID string
	MemberID     string
	RewardID     string
	RewardName   string
	ValueMinor   int64
	Currency     string
	IssuedAt     time.Time
	ExpiresAt    time.Time
	RedeemedAt   time.Time // zero until used
	StoreID      string
	TerminalID   string
}

// CouponStatus is where a coupon stands at a given time.
type CouponStatus string

const (
	CouponStatusUsable   CouponStatus = "usable"
	CouponStatusRedeemed CouponStatus = "redeemed"
	CouponStatusExpired  CouponStatus = "expired"
)

// StatusAt says where the coupon stands at now; a redeemed coupon stays redeemed after
// its expiry.
func (c Coupon) StatusAt(now time.Time) CouponStatus {
	switch {
	case !c.RedeemedAt.IsZero():
		return CouponStatusRedeemed
	case !now.Before(c.ExpiresAt):
		return CouponStatusExpired
	}
	return CouponStatusUsable
}

// Usable says whether the coupon can be used at now: nil, ErrCouponAlreadyRedeemed or
// ErrCouponExpired.
func (c Coupon) Usable(now time.Time) error {
	switch c.StatusAt(now) {
	case CouponStatusRedeemed:
		return ErrCouponAlreadyRedeemed
	case CouponStatusExpired:
		return ErrCouponExpired
	}
	return nil
}
