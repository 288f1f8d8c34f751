package testkit

import (
	"testing"
	"time"

	"github.com/treue/treue/pkg/devstack"
)

// Mail is one message the test SMTP server accepted.
type Mail = devstack.Mail

// SMTP is a real SMTP server (go-smtp) on a loopback port for a test: senders deliver to
// Addr and the test reads what arrived.
type SMTP struct {
	*devstack.SMTPCatcher
}

// StartSMTP starts an SMTP server on 127.0.0.1:0, stopped when the test ends.
func StartSMTP(t testing.TB) *SMTP {
	t.Helper()
	c, err := devstack.StartSMTPCatcher("127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: smtp: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &SMTP{SMTPCatcher: c}
}

// WaitFor waits up to timeout for a message that match accepts and returns it; it fails
// the test when none arrives.
func (s *SMTP) WaitFor(t testing.TB, match func(Mail) bool, timeout time.Duration) Mail {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		changed := s.Changed()
		for _, m := range s.Messages() {
			if match(m) {
				return m
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("testkit: no matching mail within %v (%d received)", timeout, len(s.Messages()))
			return Mail{}
		}
	}
}
