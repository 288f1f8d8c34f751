package testkit_test

import (
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/pkg/testkit"
)

const multipartMsg = "From: shop@example.test\r\n" +
	"To: erika@example.test\r\n" +
	"Subject: =?UTF-8?q?Ihre_Meinung_z=C3=A4hlt?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=BOUNDARY\r\n" +
	"\r\n" +
	"--BOUNDARY\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Gr=C3=BC=C3=9Fe\r\n" +
	"--BOUNDARY\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+SGFsbG88L3A+\r\n" +
	"--BOUNDARY--\r\n"

func TestSMTPReceivesAndParses(t *testing.T) {
	srv := testkit.StartSMTP(t)
	if err := smtp.SendMail(srv.Addr(), nil, "shop@example.test", []string{"erika@example.test"}, []byte(multipartMsg)); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitFor(t, func(m testkit.Mail) bool { return true }, 5*time.Second)
	if m.Subject != "Ihre Meinung zählt" || m.Text != "Grüße" || m.HTML != "<p>Hallo</p>" {
		t.Fatalf("parsed %q / %q / %q", m.Subject, m.Text, m.HTML)
	}
	if m.From != "shop@example.test" || len(m.To) != 1 || m.To[0] != "erika@example.test" {
		t.Fatalf("envelope %q -> %v", m.From, m.To)
	}
	if got := m.Header.Get("To"); got != "erika@example.test" {
		t.Fatalf("To header %q", got)
	}
}

func TestSMTPFailNext(t *testing.T) {
	srv := testkit.StartSMTP(t)
	srv.FailNext(2, 451)
	send := func() error {
		return smtp.SendMail(srv.Addr(), nil, "a@example.test", []string{"b@example.test"}, []byte("Subject: x\r\n\r\nbody\r\n"))
	}
	for i := 0; i < 2; i++ {
		err := send()
		if err == nil || !strings.HasPrefix(err.Error(), "451") {
			t.Fatalf("attempt %d: want a 451 refusal, got %v", i, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages kept from refused attempts", n)
	}
	if err := send(); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	m := srv.WaitFor(t, func(m testkit.Mail) bool { return m.Subject == "x" }, 5*time.Second)
	if strings.TrimSpace(m.Text) != "body" {
		t.Fatalf("text %q", m.Text)
	}
	srv.FailNext(1, 550)
	if err := send(); err == nil || !strings.HasPrefix(err.Error(), "550") {
		t.Fatalf("want 550, got %v", err)
	}
}
