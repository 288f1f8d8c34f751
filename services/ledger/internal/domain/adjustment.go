package domain

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AdjustmentDirection says whether an adjustment gives points to the member or takes them.
type AdjustmentDirection string

const (
	AdjustCredit AdjustmentDirection = "credit"
	AdjustDebit  AdjustmentDirection = "debit"
)

// AdjustmentCode is why staff adjusted a balance.
type AdjustmentCode string

const (
	AdjustGoodwill   AdjustmentCode = "goodwill"
	AdjustCorrection AdjustmentCode = "correction"
	AdjustFraud      AdjustmentCode = "fraud"
	AdjustMigration  AdjustmentCode = "migration"
	AdjustOther      AdjustmentCode = "other"
)

// AdjustmentCodes lists every code an adjustment may carry.
var AdjustmentCodes = []AdjustmentCode{AdjustGoodwill, AdjustCorrection, AdjustFraud, AdjustMigration, AdjustOther}

// Audit vocabulary of adjustments: the object is the member's balance.
const (
	AuditActionAdjust = "points.adjust"
	AuditKindBalance  = "balance"
)

// Errors of adjustments.
var (
	// ErrAdjustmentLimit: the caller's roles may not adjust that many points at once.
	ErrAdjustmentLimit = errors.New("adjustment over the caller's limit")
	// ErrInvalidAdjustment: the request breaks a rule the API's validation cannot see.
	ErrInvalidAdjustment = errors.New("invalid adjustment")
)

// AdjustmentRequest asks to credit or debit a member's available balance.
type AdjustmentRequest struct {
	IdempotencyKey string
	MemberID       string
	Direction      AdjustmentDirection
	Points         int64
	Code           AdjustmentCode
	Note           string
}

// Check refuses a request no adjustment may carry, naming the field (an error that is
// ErrInvalidAdjustment).
func (r AdjustmentRequest) Check() error {
	switch {
	case r.Direction != AdjustCredit && r.Direction != AdjustDebit:
		return invalidAdjustment("direction", "%q is neither credit nor debit", r.Direction)
	case r.Points <= 0:
		return invalidAdjustment("points", "must be above zero")
	case !slices.Contains(AdjustmentCodes, r.Code):
		return invalidAdjustment("reason", "%q is not a reason code", r.Code)
	case len(strings.TrimSpace(r.Note)) < 3:
		return invalidAdjustment("note", "say what happened, in at least 3 characters")
	}
	return nil
}

func invalidAdjustment(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: reasonError{ErrInvalidAdjustment, fmt.Sprintf(format, args...)}}
}

// Hash identifies the request for idempotency.
func (r AdjustmentRequest) Hash() string {
	return RequestHash("adjust_points", r.MemberID, string(r.Direction), strconv.FormatInt(r.Points, 10), string(r.Code), r.Note)
}

// Adjustment is a manual credit or debit of a member's available balance, booked against
// program:adjustments; its id is its ledger transaction's.
type Adjustment struct {
	ID            string
	MemberID      string
	Direction     AdjustmentDirection
	Points        int64
	Code          AdjustmentCode
	Note          string
	BalanceBefore int64
	BalanceAfter  int64
	Actor         Actor
	CreatedAt     time.Time
	RequestHash   string
}

// NewAdjustment returns the adjustment a request makes at now to a member whose available
// balance is available. A debit larger than the balance is ErrInsufficientPoints: an
// adjustment never takes a balance below zero.
func NewAdjustment(id string, r AdjustmentRequest, actor Actor, available int64, now time.Time) (Adjustment, error) {
	a := Adjustment{
		ID: id, MemberID: r.MemberID, Direction: r.Direction, Points: r.Points, Code: r.Code, Note: r.Note,
		BalanceBefore: available, Actor: actor, CreatedAt: now, RequestHash: r.Hash(),
	}
	if r.Direction == AdjustDebit {
		if available < r.Points {
			return Adjustment{}, ErrInsufficientPoints
		}
		a.BalanceAfter = available - r.Points
	} else {
		a.BalanceAfter = available + r.Points
	}
	return a, nil
}

// Tx is the ledger transaction that books the adjustment.
func (a Adjustment) Tx() Transaction {
	from, to, kind := AccountAdjustments, AvailableAccount(a.MemberID), KindCredit
	if a.Direction == AdjustDebit {
		from, to, kind = to, from, KindDebit
	}
	return Transfer(a.ID, "adjust:"+a.ID, kind, ReasonAdjustment, string(a.Code), a.MemberID, a.CreatedAt, from, to, a.Points)
}

// Event is what the adjustment tells the rest of the system: points credited or debited,
// reason adjustment, the code as reference.
func (a Adjustment) Event() Event {
	if a.Direction == AdjustDebit {
		return PointsDebited{TransactionID: a.ID, MemberID: a.MemberID, Points: a.Points, Reason: ReasonAdjustment,
			Reference: string(a.Code), OccurredAt: a.CreatedAt}
	}
	return PointsCredited{TransactionID: a.ID, MemberID: a.MemberID, Points: a.Points, Reason: ReasonAdjustment,
		Reference: string(a.Code), OccurredAt: a.CreatedAt}
}

// BalanceSnapshot is a member's available balance as the audit log records it, before
// and after an adjustment.
type BalanceSnapshot struct {
	Available  int64       `json:"available"`
	Adjustment *AuditedAdj `json:"adjustment,omitempty"`
}

// AuditedAdj is what the audit log's "after" says of the adjustment that made it.
type AuditedAdj struct {
	ID        string              `json:"id"`
	Direction AdjustmentDirection `json:"direction"`
	Points    int64               `json:"points"`
	Reason    AdjustmentCode      `json:"reason"`
}

// AuditStates are the balance before and after, for the audit log.
func (a Adjustment) AuditStates() (before, after BalanceSnapshot) {
	return BalanceSnapshot{Available: a.BalanceBefore},
		BalanceSnapshot{Available: a.BalanceAfter, Adjustment: &AuditedAdj{ID: a.ID, Direction: a.Direction, Points: a.Points, Reason: a.Code}}
}

// AdjustLimits is the most points each role may adjust at once. A role absent from it
// may not adjust at all.
type AdjustLimits map[string]int64

// LimitError names the limit an adjustment broke; it is ErrAdjustmentLimit.
type LimitError struct {
	Role   string // the caller's role with the highest limit, "" when none has one
	Limit  int64
	Points int64
}

func (e *LimitError) Error() string {
	if e.Role == "" {
		return "none of the caller's roles may adjust points (LEDGER_ADJUST_LIMITS)"
	}
	return fmt.Sprintf("role %s may adjust at most %d points at once; %d asked", e.Role, e.Limit, e.Points)
}

func (e *LimitError) Unwrap() error { return ErrAdjustmentLimit }

// Check allows points to a caller with roles when the highest limit among them allows it.
func (l AdjustLimits) Check(roles []string, points int64) error {
	best, bestRole := int64(0), ""
	for _, r := range roles {
		if n, ok := l[r]; ok && (bestRole == "" || n > best) {
			best, bestRole = n, r
		}
	}
	if bestRole == "" || points > best {
		return &LimitError{Role: bestRole, Limit: best, Points: points}
	}
	return nil
}

// ParseAdjustLimits reads "role=points,role=points" (LEDGER_ADJUST_LIMITS).
func ParseAdjustLimits(s string) (AdjustLimits, error) {
	out := AdjustLimits{}
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		role, value, ok := strings.Cut(entry, "=")
		role = strings.TrimSpace(role)
		if !ok || role == "" {
			return nil, fmt.Errorf("%q: want role=points", entry)
		}
		if _, dup := out[role]; dup {
			return nil, fmt.Errorf("role %s has two limits", role)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: %q is not a whole number above zero", role, value)
		}
		out[role] = n
	}
	return out, nil
}
