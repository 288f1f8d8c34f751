// Package events turns delivered events into use-case calls, inside the consumer's
// transaction.
package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"

	"github.com/treue/treue/services/feedback/internal/adapters/convert"
	"github.com/treue/treue/services/feedback/internal/adapters/postgres"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// Subjects this service consumes.
const (
	SubjectResponseSubmitted = "survey.response.submitted"
	SubjectMemberErased      = "ledger.member.erased"
)

// Handlers are the bus handlers of the feedback service.
type Handlers struct {
	app *app.Application
}

// NewHandlers returns the handlers calling a.
func NewHandlers(a *app.Application) *Handlers { return &Handlers{app: a} }

// ResponsesSubmitted routes survey responses to cases.
func (h *Handlers) ResponsesSubmitted(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	responses := make([]domain.Response, 0, len(msgs))
	for _, m := range msgs {
		var ev surveyv1.ResponseSubmitted
		if err := decode(m, &ev); err != nil {
			return err
		}
		r, err := response(&ev)
		if err != nil {
			return bus.Permanent(fmt.Errorf("event %s: %w", m.ID, err))
		}
		responses = append(responses, r)
	}
	_, err := h.app.RouteResponses.Handle(ctx, postgres.NewEventStore(tx), responses)
	return err
}

// MembersErased anonymises erased members' cases.
func (h *Handlers) MembersErased(ctx context.Context, tx pgx.Tx, msgs []*bus.Message) error {
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		var ev ledgerv1.MemberErased
		if err := decode(m, &ev); err != nil {
			return err
		}
		if ev.GetMemberId() == "" {
			return bus.Permanent(fmt.Errorf("event %s: member_id is empty", m.ID))
		}
		ids = append(ids, ev.GetMemberId())
	}
	_, err := h.app.EraseMembers.Handle(ctx, postgres.NewEventStore(tx), ids)
	return err
}

// decode unmarshals m into ev, refusing a message that says it is another type.
func decode(m *bus.Message, ev proto.Message) error {
	want := string(ev.ProtoReflect().Descriptor().FullName())
	if m.Type != "" && m.Type != want {
		return bus.Permanent(fmt.Errorf("event %s on %s is a %s, want %s", m.ID, m.Subject, m.Type, want))
	}
	return m.Decode(ev)
}

// response checks what the contract does not annotate: ids, enum values, the score.
func response(ev *surveyv1.ResponseSubmitted) (domain.Response, error) {
	if err := uuid.Validate(ev.GetResponseId()); err != nil {
		return domain.Response{}, fmt.Errorf("response_id %q is not a UUID", ev.GetResponseId())
	}
	if _, ok := commonv1.Touchpoint_name[int32(ev.GetTouchpoint())]; !ok {
		return domain.Response{}, fmt.Errorf("touchpoint %d is not a Touchpoint", ev.GetTouchpoint())
	}
	if _, ok := commonv1.NpsClass_name[int32(ev.GetNpsClass())]; !ok {
		return domain.Response{}, fmt.Errorf("nps_class %d is not an NpsClass", ev.GetNpsClass())
	}
	if ts := ev.GetSubmittedAt(); ts != nil && !ts.IsValid() {
		return domain.Response{}, errors.New("submitted_at is not a valid timestamp")
	}
	r := convert.ResponseFromProto(ev)
	if err := r.Normalize(); err != nil {
		return domain.Response{}, err
	}
	return r, nil
}
