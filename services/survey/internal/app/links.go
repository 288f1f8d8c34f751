package app

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/services/survey/internal/domain"
)

// Links makes and reads the signed links of invitations.
type Links struct {
	signer  *domain.LinkSigner
	baseURL string
}

// NewLinks returns links under publicURL (scheme and host, optionally a path prefix).
func NewLinks(signer *domain.LinkSigner, publicURL string) *Links {
	return &Links{signer: signer, baseURL: strings.TrimRight(publicURL, "/")}
}

// URL returns the link of an invitation.
func (l *Links) URL(inv domain.Invitation) (string, error) {
	id, err := uuid.Parse(inv.ID)
	if err != nil {
		return "", fmt.Errorf("invitation id %q: %w", inv.ID, err)
	}
	return l.baseURL + "/s/" + l.signer.Sign(id, inv.ExpiresAt), nil
}

// ShortURL returns the short link of an invitation, for a receipt's QR code:
// <public URL>/r/<short code>.
func (l *Links) ShortURL(inv domain.Invitation) (string, error) {
	id, err := uuid.Parse(inv.ID)
	if err != nil {
		return "", fmt.Errorf("invitation id %q: %w", inv.ID, err)
	}
	return l.baseURL + "/r/" + l.signer.SignShort(id, inv.ExpiresAt), nil
}

// Verify checks a token, or the short code of a receipt link, and returns the
// invitation id it names. It returns domain.ErrTokenInvalid, or domain.ErrLinkExpired
// together with the id.
func (l *Links) Verify(token string, now time.Time) (string, error) {
	verify := l.signer.Verify
	if domain.IsShortCode(token) {
		verify = l.signer.VerifyShort
	}
	claims, err := verify(token, now)
	if errors.Is(err, domain.ErrTokenInvalid) {
		return "", err
	}
	return uuid.UUID(claims.InvitationID).String(), err
}
