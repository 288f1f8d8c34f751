package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treue/treue/pkg/devstack"
)

// surveyBench is the survey section: an SMTP catcher in this process (go-smtp) that the
// survey service mails to.
type surveyBench struct {
	catcher *devstack.SMTPCatcher
}

// startSurveyBench starts the catcher and returns the survey service's environment for it.
func startSurveyBench() (*surveyBench, []string, error) {
	c, err := devstack.StartSMTPCatcher("127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	return &surveyBench{catcher: c}, []string{
		"SURVEY_SMTP_ADDR=" + c.Addr(), "SURVEY_SMTP_TLS=none", "SURVEY_QUIET_HOURS=off",
		"SURVEY_DISPATCH_INTERVAL=50ms",
	}, nil
}

func (b *surveyBench) close() { _ = b.catcher.Close() }

// run schedules n invitations, due at once, for n members with an email address, in
// batches of 1,000 (as trigger rules would, one row each), and reports how fast they were
// scheduled and how fast the survey service sent them: claimed, mailed over SMTP to the
// catcher and recorded SENT, each exactly once.
func (b *surveyBench) run(ctx context.Context, pool *pgxpool.Pool, n int) error {
	before := len(b.catcher.Messages())
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	start := time.Now()
	for lo := 0; lo < n; lo += 1000 {
		chunk := ids[lo:min(lo+1000, n)]
		if _, err := pool.Exec(ctx, `
			WITH m AS (INSERT INTO survey.members (member_id, locale, survey_consent, as_of, email)
				SELECT 'bench-' || u.id::text, 'en', true, now(), 'bench-' || u.id::text || '@example.test'
				FROM unnest($1::uuid[]) AS u(id))
			INSERT INTO survey.invitations (id, survey_id, member_id, locale, touchpoint, store_id, trigger_event_id,
				trigger_key, expires_at, created_at, status, due_at, channels)
			SELECT u.id, '0192f0c8-5a1e-7000-8000-000000000001', 'bench-' || u.id::text, 'en', 'PURCHASE', 'bench',
				u.id::text, 'bench:' || u.id::text, date_trunc('second', now()) + interval '7 days', now(), 'SCHEDULED', now(), '{EMAIL}'
			FROM unnest($1::uuid[]) AS u(id)`, chunk); err != nil {
			return fmt.Errorf("schedule invitations: %w", err)
		}
	}
	scheduled := time.Since(start)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var sent int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM survey.invitations WHERE id = ANY($1) AND status = 'SENT'`, ids).Scan(&sent); err != nil {
			return err
		}
		if sent == n {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("survey: %d of %d invitations sent after 10 minutes", sent, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	sentIn := time.Since(start)
	msgs := b.catcher.Messages()[before:]
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.Header.Get("Message-Id")]++
	}
	for _, id := range ids {
		if c := seen["<"+id+"@treue>"]; c != 1 {
			return fmt.Errorf("survey: invitation %s mailed %d times", id, c)
		}
	}
	fmt.Printf("  survey: %d invitations scheduled in %v (%.0f/s)\n", n, scheduled.Round(time.Millisecond), float64(n)/scheduled.Seconds())
	fmt.Printf("  survey: all sent by email, each exactly once, %v after the first was due: %8.0f emails/s (%s)\n",
		sentIn.Round(time.Millisecond), float64(n)/sentIn.Seconds(), strings.TrimSpace(mailSize(msgs)))
	return nil
}

func mailSize(msgs []devstack.Mail) string {
	if len(msgs) == 0 {
		return ""
	}
	total := 0
	for _, m := range msgs {
		total += len(m.Data)
	}
	return fmt.Sprintf("%.1f KiB a message, HTML and text", float64(total)/float64(len(msgs))/1024)
}
