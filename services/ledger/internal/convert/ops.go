package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/enum"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
)

var (
	adjustDirections = enum.New(map[domain.AdjustmentDirection]ledgerv1.AdjustmentDirection{
		domain.AdjustCredit: ledgerv1.AdjustmentDirection_ADJUSTMENT_DIRECTION_CREDIT,
		domain.AdjustDebit:  ledgerv1.AdjustmentDirection_ADJUSTMENT_DIRECTION_DEBIT,
	})
	adjustCodes = enum.New(map[domain.AdjustmentCode]ledgerv1.AdjustmentReason{
		domain.AdjustGoodwill:   ledgerv1.AdjustmentReason_ADJUSTMENT_REASON_GOODWILL,
		domain.AdjustCorrection: ledgerv1.AdjustmentReason_ADJUSTMENT_REASON_CORRECTION,
		domain.AdjustFraud:      ledgerv1.AdjustmentReason_ADJUSTMENT_REASON_FRAUD,
		domain.AdjustMigration:  ledgerv1.AdjustmentReason_ADJUSTMENT_REASON_MIGRATION,
		domain.AdjustOther:      ledgerv1.AdjustmentReason_ADJUSTMENT_REASON_OTHER,
	})
)

// AdjustmentRequest is the request's adjustment, under the caller's scoped idempotency
// key. An unknown enum value becomes "", which the domain refuses.
func AdjustmentRequest(req *ledgerv1.AdjustPointsRequest, scopedKey string) domain.AdjustmentRequest {
	dir, _ := adjustDirections.Domain(req.GetDirection())
	code, _ := adjustCodes.Domain(req.GetReason())
	return domain.AdjustmentRequest{
		IdempotencyKey: scopedKey, MemberID: req.GetMemberId(), Direction: dir, Points: req.GetPoints(),
		Code: code, Note: req.GetNote(),
	}
}

// AdjustPointsResponse converts an adjustment.
func AdjustPointsResponse(a domain.Adjustment) *ledgerv1.AdjustPointsResponse {
	return &ledgerv1.AdjustPointsResponse{Adjustment: &ledgerv1.Adjustment{
		AdjustmentId: a.ID, MemberId: a.MemberID, Direction: adjustDirections.Proto(a.Direction), Points: a.Points,
		Reason: adjustCodes.Proto(a.Code), Note: a.Note, BalanceBefore: a.BalanceBefore, BalanceAfter: a.BalanceAfter,
		Actor: a.Actor.Name, CreatedAt: Timestamp(a.CreatedAt),
	}}
}

// HistoryQuery is the request's filter of a member's history. A reason the ledger does
// not know is kept as its enum name, which matches nothing.
func HistoryQuery(req *ledgerv1.ListTransactionsRequest) domain.HistoryQuery {
	q := domain.HistoryQuery{Since: optionalTime(req.GetSince()), Until: optionalTime(req.GetUntil())}
	for _, k := range req.GetKinds() {
		q.Kinds = append(q.Kinds, domain.Kind(k))
	}
	for _, r := range req.GetReasons() {
		d, ok := reasons.Domain(r)
		if !ok {
			d = domain.Reason(r.String())
		}
		q.Reasons = append(q.Reasons, d)
	}
	return q
}

// AuditQuery is the request's filter of the audit log.
func AuditQuery(req *ledgerv1.ListAuditLogRequest) domain.AuditQuery {
	return domain.AuditQuery{
		ObjectKind: req.GetObjectKind(), ObjectID: req.GetObjectId(), Actor: req.GetActor(), Action: req.GetAction(),
		Since: optionalTime(req.GetSince()), Until: optionalTime(req.GetUntil()),
	}
}

// AuditLog converts a page of the audit log.
func AuditLog(entries []domain.AuditEntry, next string) *ledgerv1.ListAuditLogResponse {
	resp := &ledgerv1.ListAuditLogResponse{NextPageToken: next, Entries: make([]*ledgerv1.AuditEntry, len(entries))}
	for i, e := range entries {
		resp.Entries[i] = &ledgerv1.AuditEntry{
			EntryId: e.ID, At: Timestamp(e.At), Actor: e.Actor.Name, KeyId: e.Actor.KeyID, Action: e.Action,
			ObjectKind: e.ObjectKind, ObjectId: e.ObjectID, BeforeJson: string(e.Before), AfterJson: string(e.After), Note: e.Note,
		}
	}
	return resp
}

// optionalTime is the zero time for an unset timestamp.
func optionalTime(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime().UTC()
}
