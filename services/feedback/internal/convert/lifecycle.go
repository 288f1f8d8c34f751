package convert

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// lifecycleProduces are the lifecycle's events (see Produces).
var lifecycleProduces = []proto.Message{
	&feedbackv1.CaseAcknowledged{}, &feedbackv1.CaseContacted{}, &feedbackv1.CaseWaiting{},
	&feedbackv1.CaseResumed{}, &feedbackv1.CaseClosed{}, &feedbackv1.CaseReopened{},
	&feedbackv1.CaseNoteAdded{}, &feedbackv1.CaseReassigned{}, &feedbackv1.CasesMerged{},
	&feedbackv1.CaseEscalated{}, &feedbackv1.CaseReminder{},
}

// caseLifecycle fills the lifecycle's fields of the API's case.
func caseLifecycle(out *feedbackv1.Case, v app.CaseView) {
	c := v.Case
	out.Assignee = c.Assignee
	out.FirstContactDueAt = timestampOrNil(c.FirstContactDueAt)
	if !v.At.IsZero() {
		out.FirstContactOverdue = c.FirstContactOverdue(v.At)
		out.ResolutionOverdue = c.ResolutionOverdue(v.At)
	}
	out.EscalationLevel = int32(c.EscalationLevel)
	out.AcknowledgedAt = timestampOrNil(c.AcknowledgedAt)
	out.ContactedAt = timestampOrNil(c.ContactedAt)
	out.WaitingSince = timestampOrNil(c.WaitingSince)
	out.PausedSeconds = int64(c.Paused.Seconds())
	out.RemindedAt = timestampOrNil(c.RemindedAt)
	out.ClosedAt = timestampOrNil(c.ClosedAt)
	out.MergedInto = c.MergedInto
	out.RootCause = c.RootCause
	out.Priority = int32(c.Priority)
	out.TaskType = c.TaskType
	for _, h := range v.History {
		out.History = append(out.History, &feedbackv1.CaseHistoryEntry{
			Action: h.Action, FromStatus: statuses.Proto(h.From), ToStatus: statuses.Proto(h.To),
			By: h.By, At: timestamppb.New(h.At), Note: h.Note,
		})
	}
	for _, n := range v.Notes {
		out.Notes = append(out.Notes, &feedbackv1.CaseNote{NoteId: n.ID, By: n.By, At: timestamppb.New(n.At), Text: n.Text})
	}
}

func transition(c domain.Case, t domain.Transition) *feedbackv1.CaseTransition {
	return &feedbackv1.CaseTransition{
		CaseId:            c.ID,
		Team:              c.Team,
		FromStatus:        statuses.Proto(t.From),
		ToStatus:          statuses.Proto(t.To),
		By:                t.By,
		At:                timestamppb.New(t.At),
		Note:              t.Note,
		Assignee:          c.Assignee,
		MemberId:          c.MemberID,
		FirstContactDueAt: timestampOrNil(c.FirstContactDueAt),
		DueAt:             timestampOrNil(c.DueAt),
	}
}

// lifecycleEvent returns the message of a lifecycle event.
func lifecycleEvent(e domain.Event) (proto.Message, bool) {
	switch e := e.(type) {
	case domain.CaseChanged:
		tr := transition(e.Case, e.Transition)
		switch e.Transition.Action {
		case "acknowledge":
			return &feedbackv1.CaseAcknowledged{Transition: tr}, true
		case "contact":
			return &feedbackv1.CaseContacted{Transition: tr}, true
		case "wait":
			return &feedbackv1.CaseWaiting{Transition: tr}, true
		case "resume":
			return &feedbackv1.CaseResumed{Transition: tr, PausedSeconds: int64(e.Case.Paused.Seconds())}, true
		case "close", "merged":
			return &feedbackv1.CaseClosed{Transition: tr, MergedInto: e.Case.MergedInto}, true
		case "reopen":
			return &feedbackv1.CaseReopened{Transition: tr}, true
		case "reassign":
			return &feedbackv1.CaseReassigned{Transition: tr, FromAssignee: e.FromAssignee}, true
		}
	case domain.CaseNoteAdded:
		return &feedbackv1.CaseNoteAdded{CaseId: e.Case.ID, Team: e.Case.Team, NoteId: e.Note.ID, By: e.Note.By,
			At: timestamppb.New(e.Note.At), Text: e.Note.Text}, true
	case domain.CasesMerged:
		return &feedbackv1.CasesMerged{PrimaryCaseId: e.Primary.ID, DuplicateCaseId: e.Duplicate.ID,
			MemberId: e.Primary.MemberID, By: e.By, At: timestamppb.New(e.At)}, true
	case domain.CaseEscalated:
		return &feedbackv1.CaseEscalated{CaseId: e.Case.ID, Team: e.Case.Team, Level: int32(e.Level),
			Deadline: string(e.Deadline), DueAt: timestampOrNil(e.DueAt), Notified: e.Notified, At: timestamppb.New(e.At)}, true
	case domain.CaseReminded:
		return &feedbackv1.CaseReminder{CaseId: e.Case.ID, Team: e.Case.Team, Deadline: string(e.Deadline),
			DueAt: timestampOrNil(e.DueAt), Notified: e.Notified, At: timestamppb.New(e.At)}, true
	}
	return nil, false
}
