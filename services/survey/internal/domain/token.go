package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// MinSecretLen is the shortest token secret accepted: HMAC-SHA256 wants a key of at
// least its output size to be as strong as it can be.
const MinSecretLen = 32

// linkPayloadLen is an invitation id (16 bytes) plus the expiry in Unix seconds (8 bytes).
const linkPayloadLen = 16 + 8

// b64 decodes strictly: a lenient decoder ignores the unused low bits of the last
// character, so one signature would verify in four spellings.
var b64 = base64.RawURLEncoding.Strict()

// LinkSigner signs and verifies the tokens of survey links:
// base64url(invitation id ‖ expiry) "." base64url(HMAC-SHA256(secret, first part)).
// The token needs no database row to be checked, and it is deterministic, so the link of
// an invitation can be shown again later without storing it.
type LinkSigner struct {
	secret []byte
}

// NewLinkSigner returns a signer with secret, which must be at least MinSecretLen bytes.
func NewLinkSigner(secret []byte) (*LinkSigner, error) {
	if len(secret) < MinSecretLen {
		return nil, errors.New("survey token secret must be at least 32 bytes")
	}
	return &LinkSigner{secret: append([]byte(nil), secret...)}, nil
}

// LinkClaims is what a verified token says.
type LinkClaims struct {
	InvitationID [16]byte
	ExpiresAt    time.Time
}

// Sign returns the token for invitation id, valid until expiresAt (whole seconds).
func (s *LinkSigner) Sign(id [16]byte, expiresAt time.Time) string {
	var payload [linkPayloadLen]byte
	copy(payload[:16], id[:])
	binary.BigEndian.PutUint64(payload[16:], uint64(expiresAt.Unix()))
	head := b64.EncodeToString(payload[:])
	return head + "." + b64.EncodeToString(s.mac(head))
}

// Verify checks the token's signature (in constant time) and then its expiry: a forged
// token is ErrTokenInvalid whatever expiry it claims; a genuine one past its expiry is
// ErrLinkExpired.
func (s *LinkSigner) Verify(token string, now time.Time) (LinkClaims, error) {
	head, sig, ok := strings.Cut(token, ".")
	if !ok {
		return LinkClaims{}, ErrTokenInvalid
	}
	gotMAC, ok := decode(sig)
	if !ok || !hmac.Equal(gotMAC, s.mac(head)) {
		return LinkClaims{}, ErrTokenInvalid
	}
	payload, ok := decode(head)
	if !ok || len(payload) != linkPayloadLen {
		return LinkClaims{}, ErrTokenInvalid
	}
	var c LinkClaims
	copy(c.InvitationID[:], payload[:16])
	c.ExpiresAt = time.Unix(int64(binary.BigEndian.Uint64(payload[16:])), 0).UTC()
	if !now.Before(c.ExpiresAt) {
		return c, ErrLinkExpired
	}
	return c, nil
}

// decode reads one part of a token in its only spelling: even in strict mode the decoder
// skips line breaks, so a part with one is refused here.
func decode(part string) ([]byte, bool) {
	if strings.ContainsAny(part, "\r\n") {
		return nil, false
	}
	b, err := b64.DecodeString(part)
	return b, err == nil
}

func (s *LinkSigner) mac(head string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(head))
	return m.Sum(nil)
}
