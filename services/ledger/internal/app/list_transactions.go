package app

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// ListTransactions pages through a member's history, newest first.
type ListTransactions struct{ *base }

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// Handle returns a page of at most pageSize (default 50, at most 500) transactions. The
// token is opaque to callers; "" starts at the newest and an empty next token means the
// end. An unknown member is domain.ErrMemberNotFound, a token this API did not return
// domain.ErrInvalidPageToken.
func (u *ListTransactions) Handle(ctx context.Context, memberID string, pageSize int, token string) (txs []domain.Transaction, next string, err error) {
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
	m, err := member(ctx, u.store, memberID)
	if err != nil {
		return nil, "", err
	}
	txs, err = u.store.Transactions(ctx, m.ID, after, pageSize+1)
	if err != nil {
		return nil, "", err
	}
	if len(txs) > pageSize {
		txs = txs[:pageSize]
		next = encodeCursor(Cursor{ID: txs[pageSize-1].ID})
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
