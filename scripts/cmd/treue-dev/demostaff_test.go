package main

import (
	"errors"
	"testing"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/testkit"
)

// TestDemoStaffAccount: every run gives the demo account a new password; the last one
// printed signs in, an earlier one no longer does.
func TestDemoStaffAccount(t *testing.T) {
	dsn := testkit.Database(t)
	ctx := testkit.Ctx(t)
	first, err := demoStaff(ctx, dsn, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	second, err := demoStaff(ctx, dsn, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	store, err := staff.Open(ctx, staff.Config{DatabaseURL: dsn}, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, _, err := store.SignIn(ctx, demoStaffUser, first, "192.0.2.1:1"); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("the first run's password: %v, want ErrBadCredentials", err)
	}
	_, acct, err := store.SignIn(ctx, demoStaffUser, second, "192.0.2.1:1")
	if err != nil || !acct.Has("admin") {
		t.Errorf("the last run's password: %+v, %v; want an admin signed in", acct, err)
	}
}
