// Package webhook posts webhook calls, signed in the Standard Webhooks style
// (pkg/webhook); it implements app.WebhookSender.
package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/treue/treue/pkg/webhook"

	"github.com/treue/treue/services/feedback/internal/app"
)

// Timeout is how long one call may take.
const Timeout = 10 * time.Second

// Sender posts calls; it follows no redirect (a receiver answers where it was
// subscribed).
type Sender struct {
	client *http.Client
	now    func() time.Time
}

var _ app.WebhookSender = (*Sender)(nil)

// New returns a sender whose calls end after timeout (0: Timeout).
func New(timeout time.Duration, now func() time.Time) *Sender {
	if timeout <= 0 {
		timeout = Timeout
	}
	return &Sender{
		client: &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		now:    now,
	}
}

// Send implements app.WebhookSender.
func (s *Sender) Send(ctx context.Context, url string, secrets []string, eventID string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "treue-feedback-webhook/1")
	if err := webhook.Headers(req.Header, secrets, eventID, s.now(), body); err != nil {
		return 0, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
