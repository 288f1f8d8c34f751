package app_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

// team is an organisation of one team (the service tests run ORG's store).
type team struct {
	t     domain.Team
	staff []domain.Staff
}

func (o team) TeamOf(_ context.Context, key string) (domain.Team, []domain.Staff, error) {
	if key != o.t.Key {
		return domain.Team{}, nil, domain.ErrTeamNotFound
	}
	return o.t, o.staff, nil
}

// outbox keeps the notifications sent.
type outbox struct{ sent []app.Notification }

func (o *outbox) Notify(_ context.Context, n app.Notification) error {
	o.sent = append(o.sent, n)
	return nil
}

func TestSweepEscalatesToAgentLeadManager(t *testing.T) {
	store := newStore()
	clock := now
	mail := &outbox{}
	org := team{t: domain.Team{Key: "customer-service", Calendar: domain.Always()}, staff: []domain.Staff{
		{ID: "s-agent", Name: "Ann", Email: "ann@shop.example", Role: domain.RoleAgent, Active: true},
		{ID: "s-lead", Name: "Lee", Email: "lee@shop.example", Role: domain.RoleTeamLead, Active: true},
		{ID: "s-boss", Name: "Max", Email: "max@shop.example", Role: domain.RoleManager, Active: true},
	}}
	a, err := app.New(app.Deps{
		Store: store, Rules: byClass{}, Clock: func() time.Time { return clock }, NewID: func() string { return "x" },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Lifecycle: app.LifecycleDeps{Org: org, Notifier: mail,
			Sweep: domain.SweepPolicy{ReminderAt: 0.8, Step: time.Hour}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := domain.Case{ID: "c1", Kind: domain.KindCallback, Team: "customer-service", Status: domain.StatusOpen,
		Assignee: "s-agent", SubmittedAt: now, OpenedAt: now}
	c.ApplySLA(domain.SLA{FirstContact: time.Hour, Resolution: 10 * time.Hour}, domain.Always())
	store.cases[c.ID] = c

	sweep := func(at time.Duration) int {
		t.Helper()
		clock = now.Add(at)
		n, err := a.Commands.SweepCases.Handle(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := sweep(47 * time.Minute); n != 0 {
		t.Fatalf("%d actions before the reminder point", n)
	}
	if n := sweep(48 * time.Minute); n != 1 || len(mail.sent) != 1 || mail.sent[0].To.ID != "s-agent" {
		t.Fatalf("reminder: %d actions, mails %+v", n, mail.sent)
	}
	if n := sweep(50 * time.Minute); n != 0 {
		t.Fatalf("reminded twice")
	}
	sweep(61 * time.Minute)
	sweep(2*time.Hour + time.Minute)
	sweep(2*time.Hour + 2*time.Minute)
	sweep(3*time.Hour + time.Minute)
	sweep(9 * time.Hour)
	var to []string
	for _, m := range mail.sent {
		to = append(to, m.To.Email)
	}
	want := []string{"ann@shop.example", "ann@shop.example", "lee@shop.example", "max@shop.example"}
	if !slices.Equal(to, want) {
		t.Fatalf("mails to %v, want %v", to, want)
	}
	var levels []int
	for _, e := range store.emitted {
		if esc, ok := e.(domain.CaseEscalated); ok {
			levels = append(levels, esc.Level)
			if esc.Deadline != domain.DeadlineFirstContact {
				t.Errorf("escalated %s", esc.Deadline)
			}
		}
	}
	if !slices.Equal(levels, []int{1, 2, 3}) {
		t.Fatalf("escalation levels %v", levels)
	}
}

func TestSweepCatchesUpSkippedLevels(t *testing.T) {
	store := newStore()
	clock := now
	a, err := app.New(app.Deps{
		Store: store, Rules: byClass{}, Clock: func() time.Time { return clock }, NewID: func() string { return "x" },
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Lifecycle: app.LifecycleDeps{Sweep: domain.SweepPolicy{Step: time.Hour}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := domain.Case{ID: "c1", Kind: domain.KindCallback, Team: "t", Status: domain.StatusAcknowledged, SubmittedAt: now}
	c.ApplySLA(domain.SLA{FirstContact: time.Hour, Resolution: 2 * time.Hour}, domain.Always())
	store.cases[c.ID] = c
	// The service was down for a day: every level is announced once, in order.
	clock = now.Add(24 * time.Hour)
	if n, err := a.Commands.SweepCases.Handle(context.Background(), 10); err != nil || n != 3 {
		t.Fatalf("%d escalations (%v), want 3", n, err)
	}
	if n, _ := a.Commands.SweepCases.Handle(context.Background(), 10); n != 0 {
		t.Fatalf("escalated again: %d", n)
	}
}

// TestSweepLooksBehindTheFirstPage: cases already escalated keep the earliest deadlines
// while they wait for their next level; a pass still reaches the cases behind them, page
// after page, instead of looking at the same first batch every time.
func TestSweepLooksBehindTheFirstPage(t *testing.T) {
	store := newStore()
	clock := now
	a, err := app.New(app.Deps{
		Store: store, Rules: byClass{}, Clock: func() time.Time { return clock }, NewID: func() string { return "x" },
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Lifecycle: app.LifecycleDeps{Sweep: domain.SweepPolicy{ReminderAt: 0.8, Step: time.Hour}},
	})
	if err != nil {
		t.Fatal(err)
	}
	add := func(id string, opened time.Time, level int) {
		c := domain.Case{ID: id, Kind: domain.KindCallback, Team: "t", Status: domain.StatusOpen, SubmittedAt: opened, OpenedAt: opened}
		c.ApplySLA(domain.SLA{FirstContact: time.Hour, Resolution: 10 * time.Hour}, domain.Always())
		if level > 0 {
			c.EscalationLevel, c.RemindedAt = level, opened.Add(48*time.Minute)
		}
		store.cases[c.ID] = c
	}
	// Two cases escalated to level 1 at +1h, their next level due at +2h.
	add("e1", now, 1)
	add("e2", now, 1)
	// Three later cases, first contact due at +1h30, to be reminded from +1h18.
	for _, id := range []string{"n1", "n2", "n3"} {
		add(id, now.Add(30*time.Minute), 0)
	}
	clock = now.Add(80 * time.Minute)
	n, err := a.Commands.SweepCases.Handle(context.Background(), 2)
	if err != nil || n != 3 {
		t.Fatalf("%d actions (%v) with pages of 2, want the 3 reminders behind the escalated cases", n, err)
	}
}
