package app

import (
	"context"
	"errors"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// GoodwillTx keeps the goodwill grants and the calls for their coupon rewards.
type GoodwillTx interface {
	// AddGoodwill records a case's goodwill grant; one with a reward is queued for the
	// worker, due at once. domain.ErrGoodwillAlreadyGranted when the case has one.
	AddGoodwill(ctx context.Context, g domain.Goodwill) error
	// ClaimGoodwillRewards locks up to limit pending rewards due at now (skipping those
	// another transaction holds), counts an attempt on each and pushes its due time to
	// leaseUntil (a crash before its outcome is recorded retries it then); it returns
	// them with their attempt counted.
	ClaimGoodwillRewards(ctx context.Context, now, leaseUntil time.Time, limit int) ([]domain.GoodwillReward, error)
	// RecordGoodwillReward stores r's outcome (status, coupon, error; next is the next
	// attempt when r is still pending) if r.Attempts is still the reward's latest claim;
	// it reports whether it was.
	RecordGoodwillReward(ctx context.Context, r domain.GoodwillReward, next time.Time) (bool, error)
}

// GoodwillStore reads a case's goodwill reward.
type GoodwillStore interface {
	// GoodwillReward returns the coupon reward a case's goodwill granted, nil for none.
	GoodwillReward(ctx context.Context, caseID string) (*domain.GoodwillReward, error)
}

// Rewards is the rewards service as the goodwill worker and the inbox see it.
type Rewards interface {
	// GrantGoodwillCoupon asks for r's coupon (idempotent by r.IdempotencyKey()). Errors
	// wrapping ErrRewardRefused are the rewards service's decision (no retry); others
	// leave the outcome unknown (retry with the same key).
	GrantGoodwillCoupon(ctx context.Context, r domain.GoodwillReward) (IssuedCoupon, error)
	// ActiveRewards lists the catalogue's active rewards.
	ActiveRewards(ctx context.Context) ([]Reward, error)
}

// ErrRewardRefused: the rewards service refused a goodwill coupon (reward inactive or
// unknown, a request it finds invalid).
var ErrRewardRefused = errors.New("the rewards service refused the coupon")

// IssuedCoupon is a goodwill coupon the rewards service issued. Code is empty when the
// rewards service no longer shows it (a retry after its retry window).
type IssuedCoupon struct {
	CouponID   string
	Code       string
	ExpiresAt  time.Time
	RewardName string
	ValueMinor int64
	Currency   string
}

// Reward is a catalogue reward offered as goodwill.
type Reward struct {
	ID         string
	Name       string
	ValueMinor int64
	Currency   string
}

// MemberMailer emails a member.
type MemberMailer interface {
	MailMember(ctx context.Context, m MemberMail) error
}

// MemberMail is an email to a member about a case.
type MemberMail struct {
	Name, Email   string
	Subject, Body string
	CaseID        string
}

// GoodwillRewardConfig are the settings of the goodwill reward worker.
type GoodwillRewardConfig struct {
	MaxAttempts int
	Backoff     time.Duration
	BackoffMax  time.Duration
	// Lease: a claimed call whose outcome is not recorded by then is made again (with
	// the same idempotency key: the same coupon, the same code within the rewards
	// service's retry window).
	Lease time.Duration
}

// SendGoodwillRewards is the worker of goodwill coupon rewards: it claims the due calls
// (committed before any call), asks the rewards service for each coupon, emails its code
// to the member and records the outcome on the case with a history entry and, once the
// coupon is issued, feedback.goodwill.reward_issued. A refusal is recorded, not retried;
// no answer or a failed email is retried with back-off until MaxAttempts. The code is
// never stored: a retry gets it again from the rewards service.
type SendGoodwillRewards struct {
	store   Store
	rewards Rewards
	mailer  MemberMailer // nil: no email (the reward is recorded as not emailed)
	cfg     GoodwillRewardConfig
	clock   func() time.Time
}

// NewSendGoodwillRewards returns the worker; mailer may be nil.
func NewSendGoodwillRewards(store Store, rewards Rewards, mailer MemberMailer, cfg GoodwillRewardConfig, clock func() time.Time) *SendGoodwillRewards {
	cfg.MaxAttempts = max(cfg.MaxAttempts, 1)
	return &SendGoodwillRewards{store: store, rewards: rewards, mailer: mailer, cfg: cfg, clock: clock}
}

// Pass makes up to batch due calls and returns how many it claimed.
func (h *SendGoodwillRewards) Pass(ctx context.Context, batch int) (int, error) {
	now := h.clock().UTC()
	var due []domain.GoodwillReward
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		due, err = tx.ClaimGoodwillRewards(ctx, now, now.Add(h.cfg.Lease), batch)
		return err
	})
	if err != nil {
		return 0, err
	}
	var first error
	for _, r := range due {
		if err := h.call(ctx, r); err != nil && first == nil {
			first = err
		}
	}
	return len(due), first
}

// call makes one attempt for r and records its outcome.
func (h *SendGoodwillRewards) call(ctx context.Context, r domain.GoodwillReward) error {
	issued, err := h.rewards.GrantGoodwillCoupon(ctx, r)
	switch {
	case errors.Is(err, ErrRewardRefused):
		r.Status, r.Error = domain.RewardRefused, errorLine(err.Error())
	case err != nil:
		r.Error = errorLine(err.Error())
		return h.retryOrGiveUp(ctx, r, domain.RewardFailed)
	default:
		r.CouponID, r.ExpiresAt = issued.CouponID, issued.ExpiresAt
		r.RewardName, r.ValueMinor, r.Currency = issued.RewardName, issued.ValueMinor, issued.Currency
		r.Status, r.Error = domain.RewardEmailed, ""
		if why, err := h.email(ctx, r, issued.Code); err != nil {
			// The coupon exists; a retry gets the same code and emails it again.
			r.Error = errorLine("email: " + err.Error())
			return h.retryOrGiveUp(ctx, r, domain.RewardNotEmailed)
		} else if why != "" {
			r.Status, r.Error = domain.RewardNotEmailed, why
		}
	}
	return h.record(ctx, r, time.Time{})
}

// email sends the code to the member; why is set when it could not be sent and a retry
// would not help.
func (h *SendGoodwillRewards) email(ctx context.Context, r domain.GoodwillReward, code string) (why string, err error) {
	if code == "" {
		return "the rewards service no longer shows the code (its retry window has passed); the coupon is valid: tell the member its code another way or grant another", nil
	}
	if h.mailer == nil {
		return "no mail server is configured (FEEDBACK_SMTP_ADDR)", nil
	}
	cust, err := h.store.Customer(ctx, r.MemberID)
	if err != nil {
		return "", err
	}
	if cust == nil || cust.Email == "" {
		return "the member has no email address", nil
	}
	subject, body := domain.CouponMail{Locale: cust.Locale, Name: cust.DisplayName, RewardName: r.RewardName,
		ValueMinor: r.ValueMinor, Currency: r.Currency, Code: code, ExpiresAt: r.ExpiresAt}.Render()
	return "", h.mailer.MailMember(ctx, MemberMail{Name: cust.DisplayName, Email: cust.Email, Subject: subject, Body: body, CaseID: r.CaseID})
}

// retryOrGiveUp leaves r pending for another attempt after its back-off, or records it
// as final once the attempts are spent.
func (h *SendGoodwillRewards) retryOrGiveUp(ctx context.Context, r domain.GoodwillReward, final domain.RewardStatus) error {
	if r.Attempts < h.cfg.MaxAttempts {
		r.Status = domain.RewardPending
		return h.record(ctx, r, h.clock().UTC().Add(domain.WebhookBackoff(r.Attempts, h.cfg.Backoff, h.cfg.BackoffMax)))
	}
	r.Status = final
	return h.record(ctx, r, time.Time{})
}

// record stores r's outcome; a final one goes on the case's history, an issued coupon
// with its event.
func (h *SendGoodwillRewards) record(ctx context.Context, r domain.GoodwillReward, next time.Time) error {
	r.UpdatedAt = h.clock().UTC()
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		ok, err := tx.RecordGoodwillReward(ctx, r, next)
		if err != nil || !ok || r.Status == domain.RewardPending {
			return err
		}
		c, err := tx.Case(ctx, r.CaseID)
		if err != nil {
			return err
		}
		if err := tx.AddHistory(ctx, domain.Transition{CaseID: r.CaseID, From: c.Status, To: c.Status,
			Action: "goodwill_reward", By: "rewards", At: r.UpdatedAt, Note: r.Note()}); err != nil {
			return err
		}
		if r.Status.Issued() {
			return tx.Emit(ctx, domain.GoodwillRewardIssued{Reward: r})
		}
		return nil
	})
}

// GoodwillRewards lists the rewards the inbox offers as goodwill.
type GoodwillRewards struct{ rewards Rewards }

// Handle returns the catalogue's active rewards; none when rewards are off.
func (h GoodwillRewards) Handle(ctx context.Context) ([]Reward, error) {
	if h.rewards == nil {
		return nil, nil
	}
	return h.rewards.ActiveRewards(ctx)
}
