package app

import (
	"cmp"
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// SendWebhooks makes the due webhook calls: it claims a batch (committed before any
// call), calls Parallel receivers at once, and records each attempt as soon as it ends.
// A 2xx answer delivers; anything else is retried with exponential back-off until
// MaxAttempts, then the delivery is FAILED. A crash between a call and its record makes
// the call again once its lease ends (the receiver drops it by webhook-id).
type SendWebhooks struct {
	store   Store
	sender  WebhookSender
	cfg     HookConfig
	clock   func() time.Time
	observe func(context.Context, domain.DeliveryStatus)
}

type webhookCall struct {
	due     DueDelivery
	attempt int
}

// Pass makes up to batch due calls and returns how many it claimed.
func (h *SendWebhooks) Pass(ctx context.Context, batch int) (int, error) {
	now := h.clock().UTC()
	var calls []webhookCall
	err := h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		calls = calls[:0]
		due, err := tx.DueDeliveries(ctx, now, batch)
		if err != nil {
			return err
		}
		for _, d := range due {
			n, err := tx.ClaimDelivery(ctx, d.ID, now.Add(h.cfg.Lease))
			if err != nil {
				return err
			}
			calls = append(calls, webhookCall{due: d, attempt: n})
		}
		return nil
	})
	if err != nil || len(calls) == 0 {
		return len(calls), err
	}
	sem := make(chan struct{}, h.cfg.Parallel)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, c := range calls {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := h.call(ctx, c); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return len(calls), first
}

// call makes one attempt and records it.
func (h *SendWebhooks) call(ctx context.Context, c webhookCall) error {
	d := c.due
	start := h.clock()
	code, err := h.sender.Send(ctx, d.Subscription.URL, d.Subscription.Secrets(start), d.EventID, d.Body)
	end := h.clock().UTC()
	a := domain.WebhookAttempt{Attempt: c.attempt, AttemptedAt: start.UTC(), StatusCode: code, Duration: end.Sub(start)}
	status, next := domain.DeliveryDelivered, time.Time{}
	switch {
	case err != nil:
		a.Error = errorLine(err.Error())
	case code < 200 || code > 299:
		a.Error = "receiver answered " + strconv.Itoa(code)
	}
	if a.Error != "" {
		if c.attempt < h.cfg.MaxAttempts {
			status, next = domain.DeliveryPending, end.Add(domain.WebhookBackoff(c.attempt, h.cfg.Backoff, h.cfg.BackoffMax))
		} else {
			status = domain.DeliveryFailed
		}
	}
	return h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		ok, err := tx.RecordAttempt(ctx, d.ID, a, status, next)
		if ok {
			h.observe(ctx, status)
		}
		return err
	})
}

// errorLine is an error as logged: one line, at most 1000 bytes.
func errorLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 1000 {
		s = s[:1000]
	}
	return s
}
