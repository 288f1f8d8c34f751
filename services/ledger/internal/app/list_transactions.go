package app

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// ListTransactions pages through a member's history, newest first, each transaction
// with the member's available balance after it.
type ListTransactions struct{ *base }

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// Handle returns a page of at most pageSize (default 50, at most 500) transactions that
// match q. The token is opaque to callers and bound to the filter that made it; "" starts
// at the newest and an empty next token means the end. An unknown member is
// domain.ErrMemberNotFound, a token this API did not return (or returned for another
// filter) domain.ErrInvalidPageToken, a filter that cannot match domain.ErrInvalidFilter.
func (u *ListTransactions) Handle(ctx context.Context, memberID string, q domain.HistoryQuery, pageSize int, token string) (entries []domain.HistoryEntry, next string, err error) {
	if err := q.Check(); err != nil {
		return nil, "", err
	}
	pageSize = pageLimit(pageSize)
	var after *Cursor
	if token != "" {
		c, err := decodeCursor(token, q)
		if err != nil {
			return nil, "", err
		}
		after = &c
	}
	m, err := member(ctx, u.store, memberID)
	if err != nil {
		return nil, "", err
	}
	entries, err = u.store.History(ctx, m.ID, q, after, pageSize+1)
	if err != nil {
		return nil, "", err
	}
	if len(entries) > pageSize {
		entries = entries[:pageSize]
		next = encodeCursor(Cursor{ID: entries[pageSize-1].ID}, q)
	}
	return entries, next, nil
}

// pageLimit is the page size asked for, defaulted and capped.
func pageLimit(n int) int {
	if n <= 0 {
		return defaultPageSize
	}
	return min(n, maxPageSize)
}

// A cursor token is base64url("v2|<id>|<filter fingerprint>"): a token is good only for
// the filter (or search) it was made for. The unfiltered tokens of earlier versions,
// "v1|<transaction id>", are still taken where the filter is empty.
func encodeCursor(c Cursor, q filter) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v2|" + c.ID + "|" + q.Fingerprint()))
}

// filter is what a page token is bound to.
type filter interface {
	Fingerprint() string
	Empty() bool
}

func decodeCursor(token string, q filter) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Cursor{}, domain.ErrInvalidPageToken
	}
	parts := strings.Split(string(raw), "|")
	switch {
	case len(parts) == 2 && parts[0] == "v1" && q.Empty():
	case len(parts) == 3 && parts[0] == "v2" && parts[2] == q.Fingerprint():
	default:
		return Cursor{}, domain.ErrInvalidPageToken
	}
	id, ok := domain.CanonicalUUID(parts[1])
	if !ok {
		return Cursor{}, domain.ErrInvalidPageToken
	}
	return Cursor{ID: id}, nil
}
