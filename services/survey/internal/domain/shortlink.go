package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"time"
)

// Short codes are the tokens of receipt links, short enough for a small QR code on a
// till's receipt: base64url(invitation id ‖ expiry ‖ MAC), 30 bytes in 40 characters.
// The expiry is in Unix seconds as 32 bits (until 2106); the MAC is HMAC-SHA256 truncated
// to 80 bits, keyed with a key derived from the link secret for this purpose alone, so a
// short code and a long token can never be taken for one another.
const (
	shortMACLen     = 10
	shortPayloadLen = 16 + 4
	shortCodeLen    = shortPayloadLen + shortMACLen
	// ShortCodeChars is the length of a short code: 30 bytes are exactly 40 base64url
	// characters, with no spare bits and so one spelling only.
	ShortCodeChars = shortCodeLen / 3 * 4
)

// shortLinkPurpose separates the key of short codes from the key of link tokens.
const shortLinkPurpose = "treue survey receipt link v1"

// MaxShortExpiry is the latest expiry a short code can carry.
var MaxShortExpiry = time.Unix(math.MaxUint32, 0).UTC()

// SignShort returns the short code of invitation id, valid until expiresAt (whole
// seconds; an expiry outside 1970 to MaxShortExpiry is clamped to it).
func (s *LinkSigner) SignShort(id [16]byte, expiresAt time.Time) string {
	var b [shortCodeLen]byte
	copy(b[:16], id[:])
	binary.BigEndian.PutUint32(b[16:shortPayloadLen], uint32(min(max(expiresAt.Unix(), 0), math.MaxUint32)))
	copy(b[shortPayloadLen:], s.shortMAC(b[:shortPayloadLen]))
	return b64.EncodeToString(b[:])
}

// VerifyShort checks a short code as Verify checks a token: a forged or malformed code
// is ErrTokenInvalid, a genuine one past its expiry ErrLinkExpired (with its claims).
func (s *LinkSigner) VerifyShort(code string, now time.Time) (LinkClaims, error) {
	if len(code) != ShortCodeChars {
		return LinkClaims{}, ErrTokenInvalid
	}
	b, ok := decode(code)
	if !ok || len(b) != shortCodeLen || !hmac.Equal(b[shortPayloadLen:], s.shortMAC(b[:shortPayloadLen])) {
		return LinkClaims{}, ErrTokenInvalid
	}
	var c LinkClaims
	copy(c.InvitationID[:], b[:16])
	c.ExpiresAt = time.Unix(int64(binary.BigEndian.Uint32(b[16:shortPayloadLen])), 0).UTC()
	if !now.Before(c.ExpiresAt) {
		return c, ErrLinkExpired
	}
	return c, nil
}

// IsShortCode reports whether a link's token has the shape of a short code (and not of
// a long token, which always has a dot).
func IsShortCode(token string) bool { return len(token) == ShortCodeChars }

func (s *LinkSigner) shortMAC(payload []byte) []byte {
	k := hmac.New(sha256.New, s.secret)
	k.Write([]byte(shortLinkPurpose))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write(payload)
	return m.Sum(nil)[:shortMACLen]
}
