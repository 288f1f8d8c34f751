package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/pkg/testkit"

	"github.com/treue/treue/services/feedback/internal/adapters/mail"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

func TestNotifySendsOverSMTP(t *testing.T) {
	srv := testkit.StartSMTP(t)
	s, err := mail.New(mail.Config{Addr: srv.Addr(), TLS: mail.TLSNone, From: "Treue <cases@shop.example>"})
	if err != nil {
		t.Fatal(err)
	}
	n := app.Notification{To: domain.Staff{ID: "s1", Name: "Lee Lead", Email: "lee@shop.example"}, CaseID: "c-42",
		Subject: "Escalation level 2: case c-42", Body: "the case c-42 missed its FIRST_CONTACT deadline"}
	if err := s.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitFor(t, func(m testkit.Mail) bool { return m.Subject == n.Subject }, 10*time.Second)
	if len(m.To) != 1 || m.To[0] != "lee@shop.example" || !strings.Contains(m.Text, "missed its FIRST_CONTACT") ||
		m.Header.Get("X-Treue-Case") != "c-42" {
		t.Errorf("mail = %+v", m)
	}
	// A refusing server is an error (the sweep logs it).
	srv.FailNext(1, 554)
	if err := s.Notify(context.Background(), n); err == nil {
		t.Error("a refused mail was not an error")
	}
}

func TestNewChecksTheConfig(t *testing.T) {
	for _, c := range []mail.Config{
		{Addr: "nohost", TLS: mail.TLSNone, From: "a@b.example"},
		{Addr: "127.0.0.1:25", TLS: "ssl3", From: "a@b.example"},
		{Addr: "127.0.0.1:25", TLS: mail.TLSNone, From: "not an address"},
	} {
		if _, err := mail.New(c); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}
