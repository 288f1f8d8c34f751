package adapters

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/domain"
)

// Subjects reporting consumes (outside the namespace).
const (
	SubjectResponseSubmitted = "survey.response.submitted"
	SubjectPointsCredited    = "ledger.points.credited"
	SubjectPointsDebited     = "ledger.points.debited"
	SubjectHoldCaptured      = "ledger.hold.captured"
	SubjectCaseOpened        = "feedback.case.opened"
	SubjectCaseResolved      = "feedback.case.resolved"
	SubjectCouponIssued      = "rewards.coupon.issued"
	SubjectCouponRedeemed    = "rewards.coupon.redeemed"
)

// EventHandlers are the batch handlers of reporting's consumers. Each decodes and checks
// its batch, turns the events into domain facts, and lets a use case write them with a
// few set-based statements in the consumer's transaction.
type EventHandlers struct {
	app       app.Commands
	repo      *Repository
	validator protovalidate.Validator
	now       func() time.Time
}

// NewEventHandlers returns the handlers; now is the clock for events that carry no time.
func NewEventHandlers(cmds app.Commands, repo *Repository, now func() time.Time) (*EventHandlers, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	return &EventHandlers{app: cmds, repo: repo, validator: v, now: now}, nil
}

// Survey handles survey.response.submitted.
func (h *EventHandlers) Survey(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	responses := make([]domain.Response, 0, len(msgs))
	for _, m := range msgs {
		if m.Subject != SubjectResponseSubmitted {
			return unexpected(m)
		}
		var e surveyv1.ResponseSubmitted
		if err := h.decode(m, &e); err != nil {
			return err
		}
		r, err := domain.NewResponse(int(e.GetScore()), toDomainNpsClass(e.GetNpsClass()),
			touchpointName(e.GetTouchpoint()), e.GetStoreId(), timeOf(e.GetSubmittedAt()))
		if err != nil {
			return invalid(m, err)
		}
		responses = append(responses, r)
	}
	return h.app.RecordResponses.Handle(ctx, h.repo.Writer(tx), responses)
}

// Ledger handles ledger.points.credited, ledger.points.debited and ledger.hold.captured.
func (h *EventHandlers) Ledger(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	moves := make([]domain.PointsMovement, 0, len(msgs))
	for _, m := range msgs {
		var (
			mv  domain.PointsMovement
			err error
		)
		switch m.Subject {
		case SubjectPointsCredited:
			var e ledgerv1.PointsCredited
			if err := h.decode(m, &e); err != nil {
				return err
			}
			mv, err = domain.Credit(timeOf(e.GetOccurredAt()), e.GetPoints())
		case SubjectPointsDebited:
			var e ledgerv1.PointsDebited
			if err := h.decode(m, &e); err != nil {
				return err
			}
			mv, err = domain.Debit(timeOf(e.GetOccurredAt()), toDomainDebitReason(e.GetReason()), e.GetPoints(), e.GetShortfall())
		case SubjectHoldCaptured:
			var e ledgerv1.HoldCaptured
			if err := h.decode(m, &e); err != nil {
				return err
			}
			mv, err = domain.Capture(timeOf(e.GetCapturedAt()), e.GetPoints())
		default:
			return unexpected(m)
		}
		if err != nil {
			return invalid(m, err)
		}
		moves = append(moves, mv)
	}
	return h.app.RecordPointMovements.Handle(ctx, h.repo.Writer(tx), moves)
}

// Feedback handles feedback.case.opened and feedback.case.resolved.
func (h *EventHandlers) Feedback(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	changes := make([]domain.CaseChange, 0, len(msgs))
	for _, m := range msgs {
		var (
			c   domain.CaseChange
			err error
		)
		switch m.Subject {
		case SubjectCaseOpened:
			var e feedbackv1.CaseOpened
			if err := h.decode(m, &e); err != nil {
				return err
			}
			c, err = domain.CaseOpened(toDomainCaseOpened(&e))
		case SubjectCaseResolved:
			var e feedbackv1.CaseResolved
			if err := h.decode(m, &e); err != nil {
				return err
			}
			c, err = domain.CaseResolved(toDomainCaseResolved(&e))
		default:
			return unexpected(m)
		}
		if err != nil {
			return invalid(m, err)
		}
		changes = append(changes, c)
	}
	return h.app.RecordCaseChanges.Handle(ctx, h.repo.Writer(tx), changes)
}

// Rewards handles rewards.coupon.issued and rewards.coupon.redeemed.
func (h *EventHandlers) Rewards(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	events := make([]domain.CouponEvent, 0, len(msgs))
	for _, m := range msgs {
		switch m.Subject {
		case SubjectCouponIssued:
			var e rewardsv1.CouponIssued
			if err := h.decode(m, &e); err != nil {
				return err
			}
			if e.GetCouponId() == "" {
				return invalid(m, fmt.Errorf("%w: coupon issued without coupon_id", domain.ErrInvalidEvent))
			}
			events = append(events, domain.CouponEvent{Day: domain.DayOf(h.issuedAt(m))})
		case SubjectCouponRedeemed:
			var e rewardsv1.CouponRedeemed
			if err := h.decode(m, &e); err != nil {
				return err
			}
			at := timeOf(e.GetRedeemedAt())
			if at.IsZero() {
				return invalid(m, fmt.Errorf("%w: coupon redeemed without redeemed_at", domain.ErrInvalidEvent))
			}
			events = append(events, domain.CouponEvent{Day: domain.DayOf(at), Redeemed: true})
		default:
			return unexpected(m)
		}
	}
	return h.app.RecordCouponEvents.Handle(ctx, h.repo.Writer(tx), events)
}

// issuedAt dates a CouponIssued, which carries no time of its own: events published
// through the outbox have UUIDv7 ids, whose first 48 bits are the creation time in
// milliseconds; any other id is dated when reporting sees it.
func (h *EventHandlers) issuedAt(m *bus.Message) time.Time {
	if id, err := uuid.Parse(m.ID); err == nil && id.Version() == 7 {
		sec, nsec := id.Time().UnixTime()
		return time.Unix(sec, nsec)
	}
	return h.now()
}

// decode unmarshals and validates an event; both failures are permanent.
func (h *EventHandlers) decode(m *bus.Message, e proto.Message) error {
	if err := m.Decode(e); err != nil {
		return err
	}
	if err := h.validator.Validate(e); err != nil {
		return invalid(m, err)
	}
	return nil
}

func invalid(m *bus.Message, err error) error {
	return bus.Permanent(fmt.Errorf("event %s on %s: %w", m.ID, m.Subject, err))
}

func unexpected(m *bus.Message) error {
	return invalid(m, errors.New("subject not handled by this consumer"))
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil || !ts.IsValid() {
		return time.Time{}
	}
	return ts.AsTime()
}

// touchpointName is the API's name of a touchpoint: "PURCHASE", "WEB_VISIT", ...
func touchpointName(t commonv1.Touchpoint) string {
	return strings.TrimPrefix(t.String(), "TOUCHPOINT_")
}

func toDomainNpsClass(c commonv1.NpsClass) domain.NpsClass {
	switch c {
	case commonv1.NpsClass_NPS_CLASS_DETRACTOR:
		return domain.Detractor
	case commonv1.NpsClass_NPS_CLASS_PASSIVE:
		return domain.Passive
	case commonv1.NpsClass_NPS_CLASS_PROMOTER:
		return domain.Promoter
	}
	// Unspecified (or unknown to this build): the score decides.
	return 0
}

func toDomainDebitReason(r ledgerv1.PointsReason) domain.DebitReason {
	switch r {
	case ledgerv1.PointsReason_POINTS_REASON_RETURN:
		return domain.DebitReturn
	case ledgerv1.PointsReason_POINTS_REASON_EXPIRY:
		return domain.DebitExpiry
	case ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT:
		return domain.DebitAdjustment
	}
	return domain.DebitOther
}

// enumName returns an enum value's name without its prefix, or "" for the unspecified
// value (so that it does not overwrite what another event said).
func enumName(name, prefix string, number int32) string {
	if number == 0 {
		return ""
	}
	return strings.TrimPrefix(name, prefix)
}

func toDomainCaseOpened(e *feedbackv1.CaseOpened) domain.CaseChange {
	return domain.CaseChange{
		ID:         e.GetCaseId(),
		Kind:       enumName(e.GetKind().String(), "CASE_KIND_", int32(e.GetKind())),
		Team:       e.GetTeam(),
		Touchpoint: enumName(e.GetTouchpoint().String(), "TOUCHPOINT_", int32(e.GetTouchpoint())),
		StoreID:    e.GetStoreId(),
		OpenedAt:   timeOf(e.GetOpenedAt()),
		DueAt:      timeOf(e.GetDueAt()),
	}
}

func toDomainCaseResolved(e *feedbackv1.CaseResolved) domain.CaseChange {
	return domain.CaseChange{
		ID:         e.GetCaseId(),
		Kind:       enumName(e.GetKind().String(), "CASE_KIND_", int32(e.GetKind())),
		Team:       e.GetTeam(),
		Outcome:    enumName(e.GetOutcome().String(), "CASE_OUTCOME_", int32(e.GetOutcome())),
		OpenedAt:   timeOf(e.GetOpenedAt()),
		DueAt:      timeOf(e.GetDueAt()),
		ResolvedAt: timeOf(e.GetResolvedAt()),
	}
}
