package app

import (
	"errors"
	"strings"
	"testing"
)

func TestErrorTextLeavesOutTheRecipient(t *testing.T) {
	err := errors.New("550 5.1.1 <erika@example.test>: no such user\r\n affected recipient(s): erika@example.test (phone +4915112345678)")
	got := errorText(err, Outgoing{Email: "erika@example.test", Phone: "+4915112345678"})
	if strings.Contains(got, "erika") || strings.Contains(got, "4915112345678") || strings.ContainsAny(got, "\r\n") {
		t.Fatalf("%q", got)
	}
	if !strings.HasPrefix(got, "550 5.1.1 <<recipient>>: no such user affected") {
		t.Fatalf("%q", got)
	}
	long := errorText(errors.New(strings.Repeat("x", 5000)), Outgoing{})
	if len(long) != 2000 {
		t.Fatalf("%d bytes", len(long))
	}
}
