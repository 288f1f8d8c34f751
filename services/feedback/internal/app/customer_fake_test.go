package app_test

import (
	"context"
	"testing"

	"github.com/treue/treue/services/feedback/internal/app"
)

// The in-memory store keeps no member copy: the customer on a case is tested on
// Postgres (service/customer_test.go).

func (s *fakeStore) Customer(context.Context, string) (*app.Customer, error) { return nil, nil }

func (s *fakeStore) TouchpointKey(context.Context, string) (string, error) { return "", nil }

func (t *fakeTx) KeepMemberEvents(context.Context, []app.MemberEvent) error { return nil }

func TestPreferredContact(t *testing.T) {
	for _, c := range []struct {
		c    app.Customer
		want string
	}{
		{app.Customer{Email: "a@example.com", Phone: "+49 1"}, "email"},
		{app.Customer{Phone: "+49 1"}, "phone"},
		{app.Customer{}, ""},
	} {
		if got := c.c.PreferredContact(); got != c.want {
			t.Errorf("%+v: preferred contact %q, want %q", c.c, got, c.want)
		}
	}
}

func TestMaySeeCustomer(t *testing.T) {
	for roles, want := range map[string]bool{"service_agent": true, "admin": true, "marketing": false, "auditor": false} {
		if got := (app.Actor{Roles: []string{roles}}).MaySeeCustomer(); got != want {
			t.Errorf("%s may see the customer: %v, want %v", roles, got, want)
		}
	}
}

func (s *fakeStore) Timeline(context.Context, string, *app.TimelineCursor, int) ([]app.TimelineEntry, error) {
	return nil, nil
}
