package app

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// ListAuditLog pages through the audit log, newest first.
type ListAuditLog struct{ *base }

// AuditCursor is a position in the audit log: the last entry of a page.
type AuditCursor struct {
	At time.Time
	ID string
}

// Handle returns a page of at most pageSize (default 50, at most 500) entries that match
// q. The token is bound to q, as ListTransactions' is: another filter's token is
// domain.ErrInvalidPageToken; an empty period domain.ErrInvalidFilter.
func (u *ListAuditLog) Handle(ctx context.Context, q domain.AuditQuery, pageSize int, token string) (entries []domain.AuditEntry, next string, err error) {
	if err := q.Check(); err != nil {
		return nil, "", err
	}
	pageSize = pageLimit(pageSize)
	var after *AuditCursor
	if token != "" {
		c, err := decodeAuditCursor(token, q)
		if err != nil {
			return nil, "", err
		}
		after = &c
	}
	entries, err = u.store.AuditLog(ctx, q, after, pageSize+1)
	if err != nil {
		return nil, "", err
	}
	if len(entries) > pageSize {
		entries = entries[:pageSize]
		last := entries[pageSize-1]
		next = encodeAuditCursor(AuditCursor{At: last.At, ID: last.ID}, q)
	}
	return entries, next, nil
}

// An audit cursor token is base64url("a1|<unix micros>|<entry id>|<filter fingerprint>").
func encodeAuditCursor(c AuditCursor, q domain.AuditQuery) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a1|" + strconv.FormatInt(c.At.UnixMicro(), 10) + "|" + c.ID + "|" + q.Fingerprint()))
}

func decodeAuditCursor(token string, q domain.AuditQuery) (AuditCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return AuditCursor{}, domain.ErrInvalidPageToken
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 4 || parts[0] != "a1" || parts[3] != q.Fingerprint() {
		return AuditCursor{}, domain.ErrInvalidPageToken
	}
	micros, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return AuditCursor{}, domain.ErrInvalidPageToken
	}
	id, ok := domain.CanonicalUUID(parts[2])
	if !ok {
		return AuditCursor{}, domain.ErrInvalidPageToken
	}
	return AuditCursor{At: time.UnixMicro(micros).UTC(), ID: id}, nil
}
