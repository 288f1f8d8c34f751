package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// gwStore keeps goodwill rewards in memory for the worker; every other method of the
// store is nil (the worker needs none).
type gwStore struct {
	app.Store
	rewards  map[string]*domain.GoodwillReward
	next     map[string]time.Time
	history  []domain.Transition
	emitted  []domain.Event
	customer *app.Customer
}

func (s *gwStore) InTx(ctx context.Context, fn func(context.Context, app.Tx) error) error {
	return fn(ctx, gwTx{s: s})
}

func (s *gwStore) Customer(context.Context, string) (*app.Customer, error) { return s.customer, nil }

type gwTx struct {
	app.Tx
	s *gwStore
}

func (t gwTx) ClaimGoodwillRewards(_ context.Context, now, leaseUntil time.Time, limit int) ([]domain.GoodwillReward, error) {
	var out []domain.GoodwillReward
	for id, r := range t.s.rewards {
		if r.Status == domain.RewardPending && !t.s.next[id].After(now) && len(out) < limit {
			r.Attempts++
			t.s.next[id] = leaseUntil
			out = append(out, *r)
		}
	}
	return out, nil
}

func (t gwTx) RecordGoodwillReward(_ context.Context, r domain.GoodwillReward, next time.Time) (bool, error) {
	cur := t.s.rewards[r.CaseID]
	if cur.Attempts != r.Attempts || cur.Status != domain.RewardPending {
		return false, nil
	}
	*cur = r
	t.s.next[r.CaseID] = next
	return true, nil
}

func (t gwTx) Case(_ context.Context, id string) (domain.Case, error) {
	return domain.Case{ID: id, Status: domain.StatusResolved}, nil
}

func (t gwTx) AddHistory(_ context.Context, ts ...domain.Transition) error {
	t.s.history = append(t.s.history, ts...)
	return nil
}

func (t gwTx) Emit(_ context.Context, evs ...domain.Event) error {
	t.s.emitted = append(t.s.emitted, evs...)
	return nil
}

// gwRewards answers with errs in turn, then with a coupon.
type gwRewards struct {
	app.Rewards
	errs  []error
	calls []string
}

func (r *gwRewards) GrantGoodwillCoupon(_ context.Context, g domain.GoodwillReward) (app.IssuedCoupon, error) {
	r.calls = append(r.calls, g.IdempotencyKey())
	if len(r.errs) > 0 {
		err := r.errs[0]
		r.errs = r.errs[1:]
		return app.IssuedCoupon{}, err
	}
	return app.IssuedCoupon{CouponID: "coupon-1", Code: "ABCD-EFGH-JKMN-PQRS", ExpiresAt: now.AddDate(0, 0, 30),
		RewardName: "Kaffee", ValueMinor: 500, Currency: "EUR"}, nil
}

type gwMailer struct {
	fail error
	sent []app.MemberMail
}

func (m *gwMailer) MailMember(_ context.Context, mail app.MemberMail) error {
	if m.fail != nil {
		return m.fail
	}
	m.sent = append(m.sent, mail)
	return nil
}

func newWorker(rewards *gwRewards, mailer app.MemberMailer, clock *time.Time) (*app.SendGoodwillRewards, *gwStore) {
	s := &gwStore{
		rewards:  map[string]*domain.GoodwillReward{"c1": {CaseID: "c1", MemberID: "m1", RewardID: "r1", Status: domain.RewardPending}},
		next:     map[string]time.Time{"c1": *clock},
		customer: &app.Customer{DisplayName: "Eva", Email: "eva@example.com", Locale: "de"},
	}
	cfg := app.GoodwillRewardConfig{MaxAttempts: 3, Backoff: time.Minute, BackoffMax: time.Hour, Lease: 10 * time.Minute}
	return app.NewSendGoodwillRewards(s, rewards, mailer, cfg, func() time.Time { return *clock }), s
}

func TestGoodwillRewardWorker(t *testing.T) {
	ctx := context.Background()
	unavailable := errors.New("rewards service: Unavailable")

	t.Run("retried with back-off, then emailed once", func(t *testing.T) {
		clock := now
		rewards, mailer := &gwRewards{errs: []error{unavailable}}, &gwMailer{}
		w, s := newWorker(rewards, mailer, &clock)
		if n, err := w.Pass(ctx, 10); n != 1 || err != nil {
			t.Fatalf("first pass %d, %v", n, err)
		}
		if r := s.rewards["c1"]; r.Status != domain.RewardPending || !strings.Contains(r.Error, "Unavailable") || !s.next["c1"].Equal(now.Add(time.Minute)) {
			t.Fatalf("after a failed call: %+v, next %v", r, s.next["c1"])
		}
		if n, _ := w.Pass(ctx, 10); n != 0 {
			t.Fatal("claimed again before its back-off")
		}
		clock = now.Add(time.Minute)
		if n, err := w.Pass(ctx, 10); n != 1 || err != nil {
			t.Fatalf("second pass %d, %v", n, err)
		}
		r := s.rewards["c1"]
		if r.Status != domain.RewardEmailed || r.CouponID != "coupon-1" || r.Attempts != 2 || r.Error != "" || len(mailer.sent) != 1 {
			t.Fatalf("after the coupon: %+v, %d mails", r, len(mailer.sent))
		}
		if m := mailer.sent[0]; m.Email != "eva@example.com" || !strings.Contains(m.Body, "ABCD-EFGH-JKMN-PQRS") || m.Subject != "Ein Gutschein als Entschuldigung" {
			t.Errorf("mail %+v", m)
		}
		if len(rewards.calls) != 2 || rewards.calls[1] != "goodwill:c1" {
			t.Errorf("calls %v", rewards.calls)
		}
		if len(s.history) != 1 || s.history[0].Action != "goodwill_reward" || len(s.emitted) != 1 {
			t.Errorf("history %v, events %v", s.history, s.emitted)
		}
	})

	t.Run("no answer within the attempts", func(t *testing.T) {
		clock := now
		w, s := newWorker(&gwRewards{errs: []error{unavailable, unavailable, unavailable}}, &gwMailer{}, &clock)
		for range 3 {
			_, _ = w.Pass(ctx, 10)
			clock = clock.Add(time.Hour)
		}
		if r := s.rewards["c1"]; r.Status != domain.RewardFailed || r.Attempts != 3 || len(s.emitted) != 0 || len(s.history) != 1 {
			t.Errorf("%+v, events %v", r, s.emitted)
		}
	})

	t.Run("refused: recorded, not retried", func(t *testing.T) {
		clock := now
		rewards := &gwRewards{errs: []error{errors.Join(app.ErrRewardRefused, errors.New("REWARD_INACTIVE"))}}
		w, s := newWorker(rewards, &gwMailer{}, &clock)
		_, _ = w.Pass(ctx, 10)
		clock = clock.Add(time.Hour)
		_, _ = w.Pass(ctx, 10)
		if r := s.rewards["c1"]; r.Status != domain.RewardRefused || !strings.Contains(r.Error, "REWARD_INACTIVE") || len(rewards.calls) != 1 {
			t.Errorf("%+v, calls %v", r, rewards.calls)
		}
	})

	t.Run("the email keeps failing: issued, not emailed", func(t *testing.T) {
		clock := now
		rewards := &gwRewards{}
		w, s := newWorker(rewards, &gwMailer{fail: errors.New("550 mailbox unavailable")}, &clock)
		for range 3 {
			_, _ = w.Pass(ctx, 10)
			clock = clock.Add(time.Hour)
		}
		r := s.rewards["c1"]
		if r.Status != domain.RewardNotEmailed || !strings.Contains(r.Error, "550") || r.CouponID != "coupon-1" || len(rewards.calls) != 3 {
			t.Errorf("%+v, calls %v", r, rewards.calls)
		}
		if len(s.emitted) != 1 {
			t.Errorf("events %v", s.emitted)
		}
	})

	t.Run("no email address, no mail server", func(t *testing.T) {
		clock := now
		w, s := newWorker(&gwRewards{}, &gwMailer{}, &clock)
		s.customer = &app.Customer{DisplayName: "Eva"}
		_, _ = w.Pass(ctx, 10)
		if r := s.rewards["c1"]; r.Status != domain.RewardNotEmailed || r.Error != "the member has no email address" {
			t.Errorf("%+v", r)
		}
		w, s = newWorker(&gwRewards{}, nil, &clock)
		_, _ = w.Pass(ctx, 10)
		if r := s.rewards["c1"]; r.Status != domain.RewardNotEmailed || !strings.Contains(r.Error, "FEEDBACK_SMTP_ADDR") {
			t.Errorf("%+v", r)
		}
	})
}
