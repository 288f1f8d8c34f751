// Package events turns the events the ledger consumes into use-case calls: it decodes
// and validates each message (an invalid one is bus.Permanent: it goes to the dead
// letters at once) and hands the batch to the application inside the consumer's
// transaction.
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"buf.build/go/protovalidate"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/ledger/internal/adapters/postgres"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/domain"
)

// Subjects the ledger consumes (outside any namespace).
const (
	SubjectPurchaseRecorded    = "pos.purchase.recorded.>"
	SubjectReturnRecorded      = "pos.return.recorded.>"
	SubjectResponseSubmitted   = "survey.response.submitted"
	SubjectRedemptionCompleted = "rewards.redemption.completed"
	SubjectRedemptionCancelled = "rewards.redemption.cancelled"
	purchasePrefix             = "pos.purchase.recorded."
	returnPrefix               = "pos.return.recorded."
)

// Handlers are the ledger's bus handlers.
type Handlers struct {
	app       *app.Application
	validator protovalidate.Validator
	log       *slog.Logger
}

// New returns the handlers of a.
func New(a *app.Application, log *slog.Logger) (*Handlers, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	return &Handlers{app: a, validator: v, log: log}, nil
}

// decode unmarshals and validates m into msg; every failure is permanent.
func (h *Handlers) decode(m *bus.Message, msg proto.Message) error {
	want := string(msg.ProtoReflect().Descriptor().FullName())
	if m.Type != "" && m.Type != want {
		return bus.Permanent(fmt.Errorf("event %s on %s: type %s, want %s", m.ID, m.Subject, m.Type, want))
	}
	if err := m.Decode(msg); err != nil {
		return fmt.Errorf("event %s: %w", m.ID, err)
	}
	if err := h.validator.Validate(msg); err != nil {
		return bus.Permanent(fmt.Errorf("event %s on %s is invalid: %w", m.ID, m.Subject, err))
	}
	return nil
}

// POS books purchases and returns (consumer ledger-pos, on the whole POS stream).
func (h *Handlers) POS(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	var (
		purchases []domain.Purchase
		returns   []domain.Return
	)
	for _, m := range msgs {
		switch {
		case strings.HasPrefix(m.Subject, purchasePrefix):
			var ev posv1.PurchaseRecorded
			if err := h.decode(m, &ev); err != nil {
				return err
			}
			if err := checkSubjectStore(m, purchasePrefix, ev.GetStoreId()); err != nil {
				return err
			}
			purchases = append(purchases, toPurchase(&ev))
		case strings.HasPrefix(m.Subject, returnPrefix):
			var ev posv1.ReturnRecorded
			if err := h.decode(m, &ev); err != nil {
				return err
			}
			if err := checkSubjectStore(m, returnPrefix, ev.GetStoreId()); err != nil {
				return err
			}
			r := toReturn(&ev)
			r.Deliveries = int(m.Deliveries)
			returns = append(returns, r)
		default:
			// Other POS events are not the ledger's business.
			h.log.DebugContext(ctx, "POS event ignored", "event_id", m.ID, "subject", m.Subject)
		}
	}
	err := h.app.RecordPOS(ctx, postgres.Bind(tx), purchases, returns)
	if errors.Is(err, domain.ErrRefused) {
		// Alone (the consumer retries a failed batch message by message), this is the one
		// event at fault, and it will be refused every time.
		return bus.Permanent(err)
	}
	return err
}

// checkSubjectStore refuses an event whose subject names another store than its body: a
// till publishing under another store's subject is misconfigured, and whoever reads the
// subject (stream filters, per-store consumers) would file the sale under the wrong store.
func checkSubjectStore(m *bus.Message, prefix, storeID string) error {
	if token := strings.TrimPrefix(m.Subject, prefix); token != storeID {
		return bus.Permanent(fmt.Errorf("event %s on %s: the subject names store %q but store_id is %q", m.ID, m.Subject, token, storeID))
	}
	return nil
}

func toPurchase(ev *posv1.PurchaseRecorded) domain.Purchase {
	return domain.Purchase{
		Key:        domain.PurchaseKey{StoreID: ev.GetStoreId(), TransactionID: ev.GetTransactionId()},
		EventID:    ev.GetEventId(),
		MemberRef:  ev.GetMemberId(),
		OccurredAt: ev.GetOccurredAt().AsTime(),
		Currency:   ev.GetCurrency(),
		TotalMinor: ev.GetTotalMinor(),
		Lines:      toLines(ev.GetLines()),
	}
}

func toReturn(ev *posv1.ReturnRecorded) domain.Return {
	return domain.Return{
		Key:                   domain.ReturnKey{StoreID: ev.GetStoreId(), ReturnID: ev.GetReturnId()},
		OriginalTransactionID: ev.GetOriginalTransactionId(),
		EventID:               ev.GetEventId(),
		MemberRef:             ev.GetMemberId(),
		OccurredAt:            ev.GetOccurredAt().AsTime(),
		Currency:              ev.GetCurrency(),
		TotalMinor:            ev.GetTotalMinor(),
		Lines:                 toLines(ev.GetLines()),
	}
}

func toLines(lines []*posv1.Line) []domain.Line {
	if len(lines) == 0 {
		return nil
	}
	out := make([]domain.Line, len(lines))
	for i, l := range lines {
		out[i] = domain.Line{SKU: l.GetSku(), Description: l.GetDescription(), Quantity: l.GetQuantity(), AmountMinor: l.GetAmountMinor()}
	}
	return out
}

// Survey credits the survey bonus (consumer ledger-survey).
func (h *Handlers) Survey(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	responses := make([]app.SurveyResponse, 0, len(msgs))
	for _, m := range msgs {
		var ev surveyv1.ResponseSubmitted
		if err := h.decode(m, &ev); err != nil {
			return err
		}
		if ev.GetResponseId() == "" {
			return bus.Permanent(fmt.Errorf("event %s: response_id is empty: the bonus could not be credited once", m.ID))
		}
		if ev.GetMemberId() == "" {
			continue // an anonymous response earns no bonus
		}
		responses = append(responses, app.SurveyResponse{ResponseID: ev.GetResponseId(), MemberRef: ev.GetMemberId(), StoreID: ev.GetStoreId()})
	}
	return h.app.CreditSurveyBonuses(ctx, postgres.Bind(tx), responses)
}

// Rewards captures and voids the holds of redemptions (consumer ledger-rewards). Each
// run of completions (or cancellations) in the batch is applied as one set, and the runs
// in the order the redemptions happened.
func (h *Handlers) Rewards(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	ltx := postgres.Bind(tx)
	var (
		run     []app.Redemption
		subject string
	)
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		var err error
		if subject == SubjectRedemptionCompleted {
			err = h.app.CompleteRedemptions(ctx, ltx, run)
		} else {
			err = h.app.CancelRedemptions(ctx, ltx, run)
		}
		run = run[:0]
		if errors.Is(err, app.ErrRedemptionHold) {
			// Alone (the consumer retries a failed batch message by message), this is
			// the one event at fault.
			return bus.Permanent(err)
		}
		return err
	}
	for _, m := range msgs {
		var r app.Redemption
		switch m.Subject {
		case SubjectRedemptionCompleted:
			var ev rewardsv1.RedemptionCompleted
			if err := h.decode(m, &ev); err != nil {
				return err
			}
			r = app.Redemption{RedemptionID: ev.GetRedemptionId(), HoldID: ev.GetHoldId()}
		case SubjectRedemptionCancelled:
			var ev rewardsv1.RedemptionCancelled
			if err := h.decode(m, &ev); err != nil {
				return err
			}
			r = app.Redemption{RedemptionID: ev.GetRedemptionId(), HoldID: ev.GetHoldId(), Reason: ev.GetReason()}
		default:
			return bus.Permanent(fmt.Errorf("event %s: no handler for subject %s", m.ID, m.Subject))
		}
		if m.Subject != subject {
			if err := flush(); err != nil {
				return err
			}
			subject = m.Subject
		}
		run = append(run, r)
	}
	return flush()
}
