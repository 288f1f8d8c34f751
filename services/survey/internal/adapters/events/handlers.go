// Package events turns the events the survey consumes into use-case calls: it decodes and
// validates each message of a batch and hands the batch over in the consumer's
// transaction.
package events

import (
	"context"
	"errors"
	"fmt"

	"buf.build/go/protovalidate"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/services/survey/internal/adapters/pbconv"
	"github.com/treue/treue/services/survey/internal/adapters/postgres"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// Subjects the survey consumes.
const (
	SubjectPurchases      = "pos.purchase.recorded.>"
	SubjectContacts       = "touchpoint.contact.recorded.>"
	SubjectMemberEnrolled = "ledger.member.enrolled"
	SubjectMemberErased   = "ledger.member.erased"
)

// maxMemberIDLen matches the longest member id the POS contract allows.
const maxMemberIDLen = 64

// Handlers are the survey's bus handlers.
type Handlers struct {
	app       *app.Application
	validator protovalidate.Validator
}

// New returns the handlers.
func New(application *app.Application) (*Handlers, error) {
	if application == nil {
		return nil, errors.New("events: application is required")
	}
	v, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	return &Handlers{app: application, validator: v}, nil
}

// decode unmarshals and validates m into msg; every failure is permanent, since no retry
// makes a malformed event well-formed.
func (h *Handlers) decode(m *bus.Message, msg proto.Message) error {
	name := string(msg.ProtoReflect().Descriptor().FullName())
	if m.Type != "" && m.Type != name {
		return bus.Permanent(fmt.Errorf("event %s on %s: type %q, want %s", m.ID, m.Subject, m.Type, name))
	}
	if err := m.Decode(msg); err != nil {
		return err
	}
	if err := h.validator.Validate(msg); err != nil {
		return bus.Permanent(fmt.Errorf("event %s on %s: invalid %s: %w", m.ID, m.Subject, name, err))
	}
	return nil
}

// Purchases handles pos.purchase.recorded.<store_id>: a member's purchase may earn them
// an invitation. Anonymous purchases are ignored.
func (h *Handlers) Purchases(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	in := make([]app.Incoming, 0, len(msgs))
	for _, m := range msgs {
		var e posv1.PurchaseRecorded
		if err := h.decode(m, &e); err != nil {
			return err
		}
		if e.GetMemberId() == "" {
			continue
		}
		in = append(in, app.Incoming{
			Trigger: domain.PurchaseTrigger(e.GetEventId(), e.GetStoreId(), e.GetTransactionId(), e.GetMemberId(), e.GetOccurredAt().AsTime()),
			Trace:   m.Context(),
		})
	}
	return h.app.Triggers.Handle(ctx, postgres.NewTx(tx), in)
}

// Contacts handles touchpoint.contact.recorded.<kind>: service calls, sales calls and web
// visits may earn the member an invitation.
func (h *Handlers) Contacts(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	in := make([]app.Incoming, 0, len(msgs))
	for _, m := range msgs {
		var e touchpointv1.ContactRecorded
		if err := h.decode(m, &e); err != nil {
			return err
		}
		tp, ok := pbconv.ToDomainTouchpoint(e.GetTouchpoint())
		if !ok {
			return bus.Permanent(fmt.Errorf("event %s on %s: touchpoint %v", m.ID, m.Subject, e.GetTouchpoint()))
		}
		in = append(in, app.Incoming{
			Trigger: domain.ContactTrigger(e.GetEventId(), e.GetMemberId(), tp, e.GetStoreId(), e.GetOccurredAt().AsTime()),
			Trace:   m.Context(),
		})
	}
	return h.app.Triggers.Handle(ctx, postgres.NewTx(tx), in)
}

// Members handles ledger.member.enrolled and ledger.member.erased. A batch may hold both;
// they are applied in two groups, enrolments first, so that an erasure in the same batch
// wins whatever the order.
func (h *Handlers) Members(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	var enrolled []app.EnrolledMember
	var erased []string
	for _, m := range msgs {
		switch m.Subject {
		case SubjectMemberEnrolled:
			var e ledgerv1.MemberEnrolled
			if err := h.decode(m, &e); err != nil {
				return err
			}
			if err := checkMemberID(m, e.GetMemberId()); err != nil {
				return err
			}
			enrolled = append(enrolled, app.EnrolledMember{
				Member: domain.Member{ID: e.GetMemberId(), Locale: e.GetLocale(), SurveyConsent: e.GetSurveyConsent()},
				Trace:  m.Context(),
			})
		case SubjectMemberErased:
			var e ledgerv1.MemberErased
			if err := h.decode(m, &e); err != nil {
				return err
			}
			if err := checkMemberID(m, e.GetMemberId()); err != nil {
				return err
			}
			erased = append(erased, e.GetMemberId())
		default:
			return bus.Permanent(fmt.Errorf("event %s: unexpected subject %s", m.ID, m.Subject))
		}
	}
	w := postgres.NewTx(tx)
	if err := h.app.Members.Enrolled(ctx, w, enrolled); err != nil {
		return err
	}
	return h.app.Members.Erased(ctx, w, erased)
}

// checkMemberID stands in for the validation rules the ledger's events do not declare.
func checkMemberID(m *bus.Message, id string) error {
	if id == "" || len(id) > maxMemberIDLen {
		return bus.Permanent(fmt.Errorf("event %s on %s: member_id must be 1-%d characters", m.ID, m.Subject, maxMemberIDLen))
	}
	return nil
}
