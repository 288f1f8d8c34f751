package app

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// GetMember returns domain.ErrMemberNotFound for an unknown id.
func (a *Application) GetMember(ctx context.Context, id string) (domain.Member, error) {
	id, ok := domain.CanonicalUUID(id)
	if !ok {
		return domain.Member{}, domain.ErrMemberNotFound
	}
	return a.store.Member(ctx, id)
}

// GetBalance returns what the member can spend, has in holds and has pending.
func (a *Application) GetBalance(ctx context.Context, memberID string) (domain.Balance, error) {
	memberID, ok := domain.CanonicalUUID(memberID)
	if !ok {
		return domain.Balance{}, domain.ErrMemberNotFound
	}
	return a.store.Balance(ctx, memberID)
}

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// ListTransactions pages through a member's history, newest first. The token is opaque
// to callers; "" starts at the newest and an empty next token means the end.
func (a *Application) ListTransactions(ctx context.Context, memberID string, pageSize int, token string) (txs []domain.Transaction, next string, err error) {
	if pageSize <= 0 {
		pageSize = defaultPageSize
	}
	pageSize = min(pageSize, maxPageSize)
	var after *Cursor
	if token != "" {
		c, err := decodeCursor(token)
		if err != nil {
			return nil, "", err
		}
		after = &c
	}
	m, err := a.GetMember(ctx, memberID)
	if err != nil {
		return nil, "", err
	}
	memberID = m.ID
	txs, err = a.store.Transactions(ctx, memberID, after, pageSize+1)
	if err != nil {
		return nil, "", err
	}
	if len(txs) > pageSize {
		txs = txs[:pageSize]
		last := txs[pageSize-1]
		next = encodeCursor(Cursor{ID: last.ID})
	}
	return txs, next, nil
}

// A cursor token is base64url("v1|<transaction id>").
func encodeCursor(c Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1|" + c.ID))
}

func decodeCursor(token string) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Cursor{}, domain.ErrInvalidPageToken
	}
	version, id, ok := strings.Cut(string(raw), "|")
	if !ok || version != "v1" {
		return Cursor{}, domain.ErrInvalidPageToken
	}
	id, ok = domain.CanonicalUUID(id)
	if !ok {
		return Cursor{}, domain.ErrInvalidPageToken
	}
	return Cursor{ID: id}, nil
}
