package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/services/survey/internal/domain"
)

// DeliveryConfig are the settings of delivery.
type DeliveryConfig struct {
	QuietHours      domain.QuietHours
	DefaultTimeZone *time.Location
	MaxAttempts     int
	BackoffBase     time.Duration
	BackoffMax      time.Duration
	// Lease is how long a claimed attempt is left to finish before the invitation is due
	// again (a crashed dispatcher's claim). Longer than a send can take.
	Lease time.Duration
	// ReminderAfter is when the one reminder is due after sending; 0: none.
	ReminderAfter time.Duration
	// Parallel is how many messages are sent at once.
	Parallel int
}

// DispatchInvitations sends due invitations: it claims a batch, applies the contact
// policy as it is now, sends each claimed one through its channel and records the
// outcome. The claim is committed before anything is sent and the outcome after, so in
// normal operation each invitation is sent once; a crash between the two (the send done,
// its outcome not recorded) sends it again once its lease ends, with the same Message-ID.
type DispatchInvitations struct {
	store   Store
	links   *Links
	unsub   *UnsubscribeLinks
	senders map[domain.DeliveryChannel]Sender
	cfg     DeliveryConfig
	now     func() time.Time
	observe DeliveryObserver
	// subjects caches the email subject of each survey version by language: a published
	// version never changes.
	subjects sync.Map // "<survey id>#<version>" -> map[string]string
}

// NewDispatchInvitations returns the dispatcher; senders has one sender per channel that
// is configured (EMAIL, WEBHOOK).
func NewDispatchInvitations(store Store, links *Links, unsub *UnsubscribeLinks, senders map[domain.DeliveryChannel]Sender, cfg DeliveryConfig, now func() time.Time) *DispatchInvitations {
	if cfg.MaxAttempts < 1 {
		cfg.MaxAttempts = 1
	}
	if cfg.Parallel < 1 {
		cfg.Parallel = 1
	}
	if cfg.DefaultTimeZone == nil {
		cfg.DefaultTimeZone = time.UTC
	}
	return &DispatchInvitations{store: store, links: links, unsub: unsub, senders: senders, cfg: cfg, now: now, observe: noObserver{}}
}

// Observe has o told what delivery does (counters).
func (d *DispatchInvitations) Observe(o DeliveryObserver) { d.observe = o }

type claimed struct {
	due     DueInvitation
	out     Outgoing
	channel domain.DeliveryChannel
	err     error
}

// Pass handles up to batch due invitations and returns how many it took.
func (d *DispatchInvitations) Pass(ctx context.Context, batch int) (int, error) {
	now := d.now().UTC()
	var work []*claimed
	var taken int
	err := d.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		work = work[:0]
		due, err := tx.DueInvitations(ctx, now, batch)
		if err != nil {
			return err
		}
		taken = len(due)
		for _, inv := range due {
			c, err := d.decide(ctx, tx, inv, now)
			if err != nil {
				return err
			}
			if c != nil {
				work = append(work, c)
			}
		}
		return nil
	})
	if err != nil || len(work) == 0 {
		return taken, err
	}
	return taken, d.send(ctx, work, func(ctx context.Context, c *claimed) error {
		return d.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return d.record(ctx, tx, c, d.now().UTC()) })
	})
}

// decide applies the policy to a due invitation; it returns the claimed attempt to make,
// or nil when the invitation was settled without sending.
func (d *DispatchInvitations) decide(ctx context.Context, tx Tx, inv DueInvitation, now time.Time) (*claimed, error) {
	if inv.Answered {
		return nil, tx.SetStatus(ctx, inv.ID, domain.StatusAnswered, now)
	}
	if reason, ok := policyRefuses(inv); ok {
		return nil, d.suppress(ctx, tx, inv, reason, now)
	}
	if !now.Before(inv.ExpiresAt) {
		return nil, tx.SetStatus(ctx, inv.ID, domain.StatusExpired, now)
	}
	ch, ok := domain.ChannelFor(inv.Channels, inv.Email != "", d.senders[domain.ChannelEmail] != nil, d.senders[domain.ChannelWebhook] != nil)
	if !ok {
		return nil, d.suppress(ctx, tx, inv, domain.SuppressedNoChannel, now)
	}
	if ch != domain.ChannelNone {
		// Quiet hours: nothing reaches the member before morning (NONE reaches nobody).
		if at := d.cfg.QuietHours.SendAt(now, d.location(inv.TimeZone)); at.After(now) {
			return nil, tx.Postpone(ctx, inv.ID, at)
		}
	}
	if ch == domain.ChannelNone {
		// Nothing to send: the link is on survey.invitation.created and the API.
		attempt, err := tx.ClaimDelivery(ctx, inv.ID, ch, now)
		if err != nil {
			return nil, err
		}
		if _, err := tx.MarkSent(ctx, inv.ID, attempt, ch, now, d.reminderDue(now, inv.ExpiresAt, ch)); err != nil {
			return nil, err
		}
		return nil, tx.Emit(ctx, domain.InvitationSent{InvitationID: inv.ID, MemberID: inv.MemberID, Channel: ch, SentAt: now})
	}
	attempt, err := tx.ClaimDelivery(ctx, inv.ID, ch, now.Add(d.cfg.Lease))
	if err != nil {
		return nil, err
	}
	out, err := d.outgoing(ctx, inv, attempt, false, now)
	if err != nil {
		return nil, err
	}
	return &claimed{due: inv, out: out, channel: ch}, nil
}

func policyRefuses(inv DueInvitation) (domain.SuppressionReason, bool) {
	switch {
	case inv.Erased || inv.MemberID == "":
		return domain.SuppressedErased, true
	case !inv.Known || !inv.Consent:
		return domain.SuppressedNoConsent, true
	case inv.OpenCase:
		return domain.SuppressedOpenCase, true
	case inv.Retired:
		return domain.SuppressedSurveyRetired, true
	}
	return "", false
}

func (d *DispatchInvitations) suppress(ctx context.Context, tx Tx, inv DueInvitation, reason domain.SuppressionReason, now time.Time) error {
	if err := tx.SuppressDue(ctx, inv.Invitation, reason, now); err != nil {
		return err
	}
	d.observe.SuppressedWhenDue(ctx, reason)
	return tx.Emit(ctx, domain.DueSuppressed{Invitation: inv.Invitation, Reason: reason, At: now})
}

func (d *DispatchInvitations) location(tz string) *time.Location {
	if tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc
		}
	}
	return d.cfg.DefaultTimeZone
}

func (d *DispatchInvitations) reminderDue(sentAt, expiresAt time.Time, ch domain.DeliveryChannel) *time.Time {
	if d.cfg.ReminderAfter <= 0 || ch == domain.ChannelNone {
		return nil
	}
	at := sentAt.Add(d.cfg.ReminderAfter)
	if !at.Before(expiresAt) {
		return nil
	}
	return &at
}

// subject returns the email subject the survey version gives in the member's language,
// or "" for the email's own. The subject is wording only: when the version cannot be
// read, the email's own subject stands in rather than holding back the batch's sends.
func (d *DispatchInvitations) subject(ctx context.Context, inv domain.Invitation, locale string) string {
	key := inv.SurveyID + "#" + strconv.Itoa(inv.SurveyVersion)
	byLang, ok := d.subjects.Load(key)
	if !ok {
		v, err := d.store.SurveyVersion(ctx, inv.SurveyID, inv.SurveyVersion)
		if err != nil {
			return ""
		}
		m := make(map[string]string, len(v.Texts))
		for lang, t := range v.Texts {
			m[lang] = t.EmailSubject
		}
		m[""] = v.Texts[v.DefaultLocale].EmailSubject
		byLang, _ = d.subjects.LoadOrStore(key, m)
	}
	m := byLang.(map[string]string)
	if s, ok := m[domain.Language(locale)]; ok {
		return s
	}
	return m[""]
}

func (d *DispatchInvitations) outgoing(ctx context.Context, inv DueInvitation, attempt int, reminder bool, now time.Time) (Outgoing, error) {
	url, err := d.links.URL(inv.Invitation)
	if err != nil {
		return Outgoing{}, err
	}
	unsub, err := d.unsub.URL(inv.ID, inv.ExpiresAt)
	if err != nil {
		return Outgoing{}, err
	}
	locale := inv.Locale
	if locale == "" {
		locale = inv.Invitation.Locale
	}
	subject := d.subject(ctx, inv.Invitation, locale)
	return Outgoing{
		InvitationID: inv.ID, MemberID: inv.MemberID, SurveyID: inv.SurveyID, Locale: locale, Subject: subject,
		Email: inv.Email, Phone: inv.Phone, URL: url, UnsubscribeURL: unsub,
		Reminder: reminder, Attempt: attempt, SentAt: now,
	}, nil
}

// send delivers the claimed messages, Parallel at a time, and records each outcome as
// soon as it is known (its own transaction): a crash then leaves only the messages being
// sent at that moment unrecorded, not the whole batch. It returns the first error of
// recording.
func (d *DispatchInvitations) send(ctx context.Context, work []*claimed, record func(context.Context, *claimed) error) error {
	sem := make(chan struct{}, d.cfg.Parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, c := range work {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.err = d.senders[c.channel].Send(ctx, c.out)
			if err := record(ctx, c); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// record writes an attempt's outcome: SENT, a retry later, or FAILED.
func (d *DispatchInvitations) record(ctx context.Context, tx Tx, c *claimed, at time.Time) error {
	inv := c.due
	log := domain.Delivery{
		ID: uuid.NewString(), InvitationID: inv.ID, Channel: c.channel, Attempt: c.out.Attempt, AttemptedAt: at,
	}
	if c.err == nil {
		ok, err := tx.MarkSent(ctx, inv.ID, c.out.Attempt, c.channel, at, d.reminderDue(at, inv.ExpiresAt, c.channel))
		if err != nil || !ok {
			return err // !ok: another dispatcher took it over after our lease ended
		}
		log.Outcome = domain.OutcomeSent
		if err := d.log(ctx, tx, log); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.InvitationSent{InvitationID: inv.ID, MemberID: inv.MemberID, Channel: c.channel, SentAt: at})
	}
	log.Error = errorText(c.err, c.out)
	if c.out.Attempt < d.cfg.MaxAttempts && !errors.Is(c.err, domain.ErrPermanentDelivery) {
		next := at.Add(domain.Backoff(c.out.Attempt, d.cfg.BackoffBase, d.cfg.BackoffMax))
		ok, err := tx.RetryLater(ctx, inv.ID, c.out.Attempt, next, log.Error)
		if err != nil || !ok {
			return err
		}
		log.Outcome = domain.OutcomeRetrying
		return d.log(ctx, tx, log)
	}
	ok, err := tx.MarkFailed(ctx, inv.ID, c.out.Attempt, at, log.Error)
	if err != nil || !ok {
		return err
	}
	log.Outcome = domain.OutcomeFailed
	if err := d.log(ctx, tx, log); err != nil {
		return err
	}
	return tx.Emit(ctx, domain.DeliveryFailed{
		InvitationID: inv.ID, MemberID: inv.MemberID, Channel: c.channel, Attempts: c.out.Attempt, Error: log.Error, FailedAt: at,
	})
}

// log adds an attempt to the delivery log and tells the observer.
func (d *DispatchInvitations) log(ctx context.Context, tx Tx, l domain.Delivery) error {
	if err := tx.LogDelivery(ctx, l); err != nil {
		return err
	}
	d.observe.Attempted(ctx, l.Channel, l.Reminder, l.Outcome)
	return nil
}

// errorText is an error as logged: one line, at most 2000 bytes, without the member's
// address or phone (an SMTP error names the recipient; the log outlives an erasure).
func errorText(err error, m Outgoing) string {
	s := err.Error()
	for _, personal := range []string{m.Email, m.Phone} {
		if personal != "" {
			s = strings.ReplaceAll(s, personal, "<recipient>")
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 2000 {
		s = s[:2000]
	}
	return s
}

// UnsubscribeLinks makes and reads the signed unsubscribe links of survey emails.
type UnsubscribeLinks struct {
	signer  *domain.UnsubscribeSigner
	baseURL string
}

// NewUnsubscribeLinks returns links under publicURL: <publicURL>/u/<token>.
func NewUnsubscribeLinks(signer *domain.UnsubscribeSigner, publicURL string) *UnsubscribeLinks {
	return &UnsubscribeLinks{signer: signer, baseURL: strings.TrimRight(publicURL, "/")}
}

// URL returns the unsubscribe link of an invitation (valid UnsubscribeTTL past its expiry).
func (l *UnsubscribeLinks) URL(invitationID string, expiresAt time.Time) (string, error) {
	id, err := uuid.Parse(invitationID)
	if err != nil {
		return "", fmt.Errorf("invitation id %q: %w", invitationID, err)
	}
	return l.baseURL + "/u/" + l.signer.Sign(id, expiresAt.Add(domain.UnsubscribeTTL)), nil
}

// Verify returns the invitation id of a valid token, or domain.ErrTokenInvalid /
// domain.ErrLinkExpired.
func (l *UnsubscribeLinks) Verify(token string, now time.Time) (string, error) {
	claims, err := l.signer.Verify(token, now)
	if err != nil {
		return "", err
	}
	return uuid.UUID(claims.InvitationID).String(), nil
}
