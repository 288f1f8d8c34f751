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

// Verify checks a token and returns the invitation id it names. It returns
// domain.ErrTokenInvalid, or domain.ErrLinkExpired together with the id.
func (l *Links) Verify(token string, now time.Time) (string, error) {
	claims, err := l.signer.Verify(token, now)
	if errors.Is(err, domain.ErrTokenInvalid) {
		return "", err
	}
	return uuid.UUID(claims.InvitationID).String(), err
}
