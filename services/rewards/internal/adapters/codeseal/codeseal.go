// Package codeseal keeps a coupon code unreadable at rest for the retry window: AES-256-GCM
// under the service's key (REWARDS_CODE_KEY), with the redemption's id as associated data,
// so that a sealed code copied onto another redemption's row does not open.
package codeseal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// KeySize is the key's length in bytes: AES-256.
const KeySize = 32

// format is the first byte of every sealed code, so that another format (or key
// identification, for rotation) can follow without guessing.
const format byte = 1

// ErrUnreadable: a sealed code that does not open under this key for this redemption
// (another key, another redemption, or damaged).
var ErrUnreadable = errors.New("sealed coupon code cannot be opened")

// Sealer seals and opens coupon codes.
type Sealer struct {
	aead cipher.AEAD
}

var _ app.CodeSealer = (*Sealer)(nil)

// ParseKey reads a key written as 64 hex digits or as base64 (standard or URL alphabet,
// padded or not) of KeySize bytes. The error never contains the key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.Strict().DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("the key is %d bytes, want %d (64 hex digits or 44 base64 characters)", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("the key is neither %d bytes in hex nor in base64", KeySize)
}

// NewKey draws a random key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (it crashes the program instead)
	return k
}

// New returns a sealer under key, which must be KeySize bytes.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("codeseal: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	// Random 96-bit nonces: safe for 2^32 seals under one key, far beyond the coupons
	// issued between key changes.
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

func associatedData(redemptionID string) []byte {
	return []byte("treue.rewards.coupon_code\x00" + strings.ToLower(redemptionID))
}

// Seal encrypts code for redemptionID: format byte, nonce, ciphertext and tag.
func (s *Sealer) Seal(redemptionID string, code domain.CouponCode) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(code)+s.aead.Overhead())
	out[0] = format
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[1:], []byte(code), associatedData(redemptionID)), nil
}

// Open decrypts what Seal returned for the same redemptionID, or ErrUnreadable.
func (s *Sealer) Open(redemptionID string, sealed []byte) (domain.CouponCode, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != format {
		return "", ErrUnreadable
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], associatedData(redemptionID))
	if err != nil {
		return "", ErrUnreadable
	}
	code, err := domain.ParseCouponCode(string(plain))
	if err != nil || string(code) != string(plain) {
		return "", ErrUnreadable
	}
	return code, nil
}
