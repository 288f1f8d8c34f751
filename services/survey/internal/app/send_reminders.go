package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/services/survey/internal/domain"
)

// SendReminders sends the one reminder of invitations still unanswered a while after
// they were sent. A reminder is claimed (reminded_at) before it is sent, so it goes out
// at most once; one that fails is logged FAILED and not retried.
type SendReminders struct{ d *DispatchInvitations }

// NewSendReminders returns the reminder sender over the dispatcher's channels and settings.
func NewSendReminders(d *DispatchInvitations) *SendReminders { return &SendReminders{d: d} }

// Pass handles up to batch due reminders and returns how many it took.
func (r *SendReminders) Pass(ctx context.Context, batch int) (int, error) {
	d := r.d
	now := d.now().UTC()
	var work []*claimed
	var taken int
	err := d.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		work = work[:0]
		due, err := tx.DueReminders(ctx, now, batch)
		if err != nil {
			return err
		}
		taken = len(due)
		for _, inv := range due {
			if _, refused := policyRefuses(inv); refused || inv.Answered || d.senders[inv.Channel] == nil {
				if err := tx.SetReminderDue(ctx, inv.ID, nil); err != nil {
					return err
				}
				continue
			}
			if at := d.cfg.QuietHours.SendAt(now, d.location(inv.TimeZone)); at.After(now) {
				if !at.Before(inv.ExpiresAt) {
					err = tx.SetReminderDue(ctx, inv.ID, nil)
				} else {
					err = tx.SetReminderDue(ctx, inv.ID, &at)
				}
				if err != nil {
					return err
				}
				continue
			}
			if err := tx.ClaimReminder(ctx, inv.ID, now); err != nil {
				return err
			}
			out, err := d.outgoing(ctx, inv, 1, true, now)
			if err != nil {
				return err
			}
			work = append(work, &claimed{due: inv, out: out, channel: inv.Channel})
		}
		return nil
	})
	if err != nil || len(work) == 0 {
		return taken, err
	}
	return taken, d.send(ctx, work, func(ctx context.Context, c *claimed) error {
		return d.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
			at := d.now().UTC()
			log := domain.Delivery{
				ID: uuid.NewString(), InvitationID: c.due.ID, Channel: c.channel, Reminder: true,
				Attempt: 1, Outcome: domain.OutcomeSent, AttemptedAt: at,
			}
			if c.err != nil {
				log.Outcome, log.Error = domain.OutcomeFailed, errorText(c.err, c.out)
			}
			if err := d.log(ctx, tx, log); err != nil {
				return err
			}
			if c.err != nil {
				return nil
			}
			return tx.Emit(ctx, domain.InvitationSent{
				InvitationID: c.due.ID, MemberID: c.due.MemberID, Channel: c.channel, Reminder: true, SentAt: at,
			})
		})
	})
}

// ExpireInvitations closes sent invitations whose link expired unanswered.
type ExpireInvitations struct {
	store Store
	now   func() time.Time
}

// NewExpireInvitations returns the expiry sweep.
func NewExpireInvitations(store Store, now func() time.Time) *ExpireInvitations {
	return &ExpireInvitations{store: store, now: now}
}

// Pass expires up to batch invitations and returns how many.
func (e *ExpireInvitations) Pass(ctx context.Context, batch int) (int, error) {
	var n int
	err := e.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		n, err = tx.ExpireSent(ctx, e.now().UTC(), batch)
		return err
	})
	return n, err
}
