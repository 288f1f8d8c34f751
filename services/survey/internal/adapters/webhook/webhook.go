// Package webhook delivers survey invitations to an SMS or messaging provider's endpoint:
// a signed JSON POST.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// Payload is the JSON body of a webhook call.
type Payload struct {
	InvitationID string    `json:"invitation_id"`
	MemberID     string    `json:"member_id"`
	Locale       string    `json:"locale"`
	URL          string    `json:"url"`
	Channel      string    `json:"channel"`
	Phone        string    `json:"phone"`
	Email        string    `json:"email,omitempty"`
	Reminder     bool      `json:"reminder"`
	SentAt       time.Time `json:"sent_at"`
}

// Timeout is how long one call may take.
const Timeout = 10 * time.Second

// Sender posts invitations to a webhook; it implements app.Sender.
type Sender struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

// New returns a sender posting to url, signing with secret.
func New(url, secret string) *Sender {
	return &Sender{url: url, secret: []byte(secret), client: &http.Client{Timeout: Timeout}, now: time.Now}
}

// Sign returns the Treue-Signature header of body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>." + body)>".
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// EventID is the Treue-Event-Id of a call: the same for every attempt of one delivery, so
// the receiver can drop a repeat.
func EventID(invitationID string, reminder bool) string {
	if reminder {
		return invitationID + ".reminder"
	}
	return invitationID
}

// Send implements app.Sender: a 2xx reply is delivered; a 4xx one (but 408 and 429) is a
// permanent failure; anything else is retried.
func (s *Sender) Send(ctx context.Context, m app.Outgoing) error {
	body, err := json.Marshal(Payload{
		InvitationID: m.InvitationID, MemberID: m.MemberID, Locale: m.Locale, URL: m.URL,
		Channel: string(domain.ChannelWebhook), Phone: m.Phone, Email: m.Email, Reminder: m.Reminder,
		SentAt: m.SentAt.UTC(),
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "treue-survey-webhook/1")
	req.Header.Set("Treue-Event-Id", EventID(m.InvitationID, m.Reminder))
	req.Header.Set("Treue-Signature", Sign(s.secret, s.now(), body))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return fmt.Errorf("%w: webhook answered %s", domain.ErrPermanentDelivery, resp.Status)
	}
	return fmt.Errorf("webhook answered %s", resp.Status)
}
