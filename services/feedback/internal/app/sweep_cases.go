package app

import (
	"context"
	"fmt"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// SweepBy is who the history names for the sweep's reminders and escalations.
const SweepBy = "sla"

// SweepCases reminds assignees before a deadline and escalates missed deadlines: level 1
// the assignee, 2 the team lead, 3 the manager (see domain.SweepPolicy). Each reminder and
// each level happens once (a conditional update), with a history entry, an event and an
// email to the person, sent after the transaction commits.
type SweepCases struct{ lifecycle }

// Handle looks at every case being worked, batch cases per transaction, and returns how
// many reminders and escalations it made. Every page, not only the first: cases that
// wait for their next escalation level keep the earliest deadlines, and must not hide
// the cases behind them.
func (h SweepCases) Handle(ctx context.Context, batch int) (int, error) {
	now := h.clock()
	total := 0
	var after *SweepCursor
	for {
		done, next, err := h.page(ctx, after, batch, now)
		total += done
		if err != nil || next == nil {
			return total, err
		}
		after = next
	}
}

// page sweeps the batch cases after the cursor and returns where the next page starts
// (nil after the last).
func (h SweepCases) page(ctx context.Context, after *SweepCursor, batch int, now time.Time) (int, *SweepCursor, error) {
	var mail []Notification
	var next *SweepCursor
	done := 0
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		mail, done, next = nil, 0, nil
		cases, err := tx.SweepCandidates(ctx, after, batch)
		if err != nil {
			return err
		}
		if len(cases) == batch {
			last := cases[len(cases)-1]
			next = &SweepCursor{Deadline: last.EarliestDeadline(), CaseID: last.ID}
		}
		type org struct {
			team  domain.Team
			staff []domain.Staff
		}
		teams := map[string]org{}
		for _, c := range cases {
			o, ok := teams[c.Team]
			if !ok {
				if o.team, o.staff, err = h.team(ctx, tx, c.Team); err != nil {
					return err
				}
				teams[c.Team] = o
			}
			cal := o.team.Calendar
			if level := c.DueEscalation(h.deps.Sweep, cal, now); level > c.EscalationLevel {
				deadline, due := c.MissedDeadline(now)
				for l := c.EscalationLevel + 1; l <= level; l++ {
					raised, err := tx.Escalate(ctx, c.ID, l)
					if err != nil {
						return err
					}
					if !raised {
						continue
					}
					c.EscalationLevel = l
					who, found := escalationTarget(c, o.staff, l)
					notified := ""
					if found {
						notified = who.ID
						mail = append(mail, escalationMail(who, c, l, deadline, due))
					}
					t := domain.Transition{CaseID: c.ID, From: c.Status, To: c.Status, Action: "escalate", By: SweepBy, At: now,
						Note: fmt.Sprintf("level %d: %s missed (due %s); told %s", l, deadline, stamp(due), orNobody(notified))}
					if err := tx.AddHistory(ctx, t); err != nil {
						return err
					}
					if err := tx.Emit(ctx, domain.CaseEscalated{Case: c, Level: l, Deadline: deadline, DueAt: due, Notified: notified, At: now}); err != nil {
						return err
					}
					done++
				}
				continue
			}
			if !c.DueReminder(h.deps.Sweep, cal, now) {
				continue
			}
			marked, err := tx.MarkReminded(ctx, c.ID, now)
			if err != nil {
				return err
			}
			if !marked {
				continue
			}
			c.RemindedAt = now
			deadline, due, _ := c.NextDeadline()
			who, found := staffByID(o.staff, c.Assignee)
			notified := ""
			if found {
				notified = who.ID
				mail = append(mail, reminderMail(who, c, deadline, due))
			}
			t := domain.Transition{CaseID: c.ID, From: c.Status, To: c.Status, Action: "remind", By: SweepBy, At: now,
				Note: fmt.Sprintf("%s due %s; reminded %s", deadline, stamp(due), orNobody(notified))}
			if err := tx.AddHistory(ctx, t); err != nil {
				return err
			}
			if err := tx.Emit(ctx, domain.CaseReminded{Case: c, Deadline: deadline, DueAt: due, Notified: notified, At: now}); err != nil {
				return err
			}
			done++
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	h.notify(ctx, mail)
	return done, next, nil
}

// escalationTarget is who hears of level: the assignee, the team lead, the manager.
func escalationTarget(c domain.Case, staff []domain.Staff, level int) (domain.Staff, bool) {
	switch level {
	case domain.EscalateAssignee:
		return staffByID(staff, c.Assignee)
	case domain.EscalateTeamLead:
		return staffInRole(staff, domain.RoleTeamLead)
	default:
		return staffInRole(staff, domain.RoleManager)
	}
}

func orNobody(id string) string {
	if id == "" {
		return "nobody"
	}
	return id
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func escalationMail(s domain.Staff, c domain.Case, level int, deadline domain.Deadline, due time.Time) Notification {
	return Notification{
		To:      s,
		CaseID:  c.ID,
		Subject: fmt.Sprintf("Escalation level %d: case %s missed its %s deadline", level, c.ID, deadline),
		Body: fmt.Sprintf("Hello %s,\n\nthe case %s (%s, team %s, assigned to %s) missed its %s deadline, due %s.\n"+
			"Escalation level %d.\n\nComment: %s\n", s.Name, c.ID, c.Kind, c.Team, orNobody(c.Assignee), deadline, stamp(due), level, c.Comment),
	}
}

func reminderMail(s domain.Staff, c domain.Case, deadline domain.Deadline, due time.Time) Notification {
	return Notification{
		To:      s,
		CaseID:  c.ID,
		Subject: fmt.Sprintf("Reminder: case %s is due (%s) at %s", c.ID, deadline, stamp(due)),
		Body: fmt.Sprintf("Hello %s,\n\nthe case %s (%s, team %s) is due for its %s at %s.\n\nComment: %s\n",
			s.Name, c.ID, c.Kind, c.Team, deadline, stamp(due), c.Comment),
	}
}
