package domain

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Kinds lists every kind of transaction the journal holds; a history filter may name
// only these. A new kind is added here.
var Kinds = []Kind{KindCredit, KindDebit, KindHold, KindCapture, KindVoid}

// ErrInvalidFilter: a list's filter names something that cannot match (an unknown kind,
// a period that ends before it starts). Its message names the field.
var ErrInvalidFilter = errors.New("invalid filter")

// reasonError is a refusal's reason, matched by errors.Is to its kind (ErrInvalidFilter,
// ErrInvalidAdjustment).
type reasonError struct {
	kind   error
	reason string
}

func (e reasonError) Error() string { return e.reason }
func (e reasonError) Unwrap() error { return e.kind }

func invalidFilter(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: reasonError{ErrInvalidFilter, fmt.Sprintf(format, args...)}}
}

// HistoryQuery filters a member's history: only these kinds and reasons (all when
// empty), created in [Since, Until) (either zero for no bound).
type HistoryQuery struct {
	Kinds   []Kind
	Reasons []Reason
	Since   time.Time
	Until   time.Time
}

// Check refuses a filter that names an unknown kind or an empty period (an error that is
// ErrInvalidFilter, naming the field).
func (q HistoryQuery) Check() error {
	for i, k := range q.Kinds {
		if !slices.Contains(Kinds, k) {
			return invalidFilter(fmt.Sprintf("kinds[%d]", i), "%q is not a kind of transaction (one of %v)", k, Kinds)
		}
	}
	return checkPeriod(q.Since, q.Until)
}

func checkPeriod(since, until time.Time) error {
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return invalidFilter("until", "must be after since")
	}
	return nil
}

// Empty reports whether the query filters nothing.
func (q HistoryQuery) Empty() bool {
	return len(q.Kinds) == 0 && len(q.Reasons) == 0 && q.Since.IsZero() && q.Until.IsZero()
}

// Fingerprint identifies the filter, so that a page token is only used with the filter
// that made it.
func (q HistoryQuery) Fingerprint() string {
	kinds := make([]string, len(q.Kinds))
	for i, k := range q.Kinds {
		kinds[i] = string(k)
	}
	reasons := make([]string, len(q.Reasons))
	for i, r := range q.Reasons {
		reasons[i] = string(r)
	}
	slices.Sort(kinds)
	slices.Sort(reasons)
	parts := []string{"history", timeKey(q.Since), timeKey(q.Until), strconv.Itoa(len(kinds))}
	parts = append(append(parts, kinds...), reasons...)
	return RequestHash(parts...)[:16]
}

func timeKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

// HistoryEntry is a transaction of a member's history with the member's available
// balance just after it.
type HistoryEntry struct {
	Transaction
	BalanceAfter int64
}

// AuditQuery filters the audit log: each non-empty field must match exactly; entries
// at in [Since, Until) (either zero for no bound).
type AuditQuery struct {
	ObjectKind string
	ObjectID   string
	Actor      string
	Action     string
	Since      time.Time
	Until      time.Time
}

// Check refuses an empty period (an error that is ErrInvalidFilter).
func (q AuditQuery) Check() error { return checkPeriod(q.Since, q.Until) }

// Fingerprint identifies the filter, for page tokens.
func (q AuditQuery) Fingerprint() string {
	return RequestHash("audit", q.ObjectKind, q.ObjectID, q.Actor, q.Action, timeKey(q.Since), timeKey(q.Until))[:16]
}
