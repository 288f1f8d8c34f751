package staff_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// clock is a settable clock for sessions and lockouts.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const password = "a long enough password"

func open(t *testing.T, cfg staff.Config) (*staff.Store, *clock) {
	t.Helper()
	c := newClock()
	cfg.DatabaseURL = testkit.Database(t)
	cfg.Now = c.Now
	s, err := staff.Open(testkit.Ctx(t), cfg, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Create(testkit.Ctx(t), "Ada@Example.com", []string{"admin"}, password); err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h, err := staff.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %s is not argon2id with the chosen parameters", h)
	}
	h2, _ := staff.HashPassword(password)
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		hash, password string
		ok             bool
	}{
		{h, password, true},
		{h, password + "x", false},
		{h, "", false},
		{h, strings.Repeat("p", 10000), false},
	} {
		ok, err := staff.VerifyPassword(tc.hash, tc.password)
		if err != nil || ok != tc.ok {
			t.Errorf("VerifyPassword(%q...) = %v, %v; want %v", tc.password[:min(len(tc.password), 10)], ok, err, tc.ok)
		}
	}
	for _, bad := range []string{"", "$2a$10$abc", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$a2V5"} {
		if _, err := staff.VerifyPassword(bad, password); err == nil {
			t.Errorf("VerifyPassword accepts the hash %q", bad)
		}
	}
	if _, err := staff.HashPassword("short"); err == nil {
		t.Error("a 5-character password is accepted")
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	s, _ := open(t, staff.Config{})
	ctx := testkit.Ctx(t)
	for _, tc := range []struct {
		user  string
		roles []string
		pw    string
		want  string
	}{
		{"ada@example.com", []string{"admin"}, password, "exists"},
		{"bob", []string{"pos"}, password, `unknown role "pos"`},
		{"bob", nil, password, "roles: at least one"},
		{"bob smith", []string{"admin"}, password, "username:"},
		{"bob", []string{"admin"}, "short", "password: at least 12"},
	} {
		_, err := s.Create(ctx, tc.user, tc.roles, tc.pw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Create(%q, %v): %v, want an error with %q", tc.user, tc.roles, err, tc.want)
		}
	}
	accts, err := s.List(ctx)
	if err != nil || len(accts) != 1 || accts[0].Username != "ada@example.com" || accts[0].Roles[0] != "admin" {
		t.Errorf("List = %+v, %v; want only ada@example.com (admin)", accts, err)
	}
}

func TestSessionLifetime(t *testing.T) {
	t.Parallel()
	s, c := open(t, staff.Config{SessionTTL: time.Hour, IdleTimeout: 10 * time.Minute})
	ctx := testkit.Ctx(t)
	id, acct, err := s.SignIn(ctx, " ADA@example.com ", password, "192.0.2.1:5000")
	if err != nil || acct.Username != "ada@example.com" {
		t.Fatalf("SignIn = %+v, %v", acct, err)
	}
	if len(id) < 40 {
		t.Errorf("session id %q is short", id)
	}
	// Used every 9 minutes, the session lives until its hour is up, not longer.
	for range 6 {
		c.Advance(9 * time.Minute)
		if _, err := s.Session(ctx, id); err != nil {
			t.Fatalf("session at %s: %v", c.Now(), err)
		}
	}
	c.Advance(7 * time.Minute) // 61 minutes after sign-in
	if _, err := s.Session(ctx, id); !errors.Is(err, staff.ErrNoSession) {
		t.Errorf("session past its lifetime: %v, want ErrNoSession", err)
	}

	// Idle for longer than the idle timeout.
	id, _, err = s.SignIn(ctx, "ada@example.com", password, "192.0.2.1:5000")
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(10*time.Minute + time.Second)
	if _, err := s.Session(ctx, id); !errors.Is(err, staff.ErrNoSession) {
		t.Errorf("idle session: %v, want ErrNoSession", err)
	}

	// Both ended sessions are still stored until pruned.
	if n, err := s.Prune(ctx); err != nil || n != 2 {
		t.Errorf("Prune = %d, %v; want the 2 ended sessions gone", n, err)
	}

	// Sign-out and a password change each end a session; disabling, below, too.
	for name, end := range map[string]func(id string) error{
		"sign-out":     func(id string) error { return s.SignOut(ctx, id) },
		"new password": func(string) error { return s.SetPassword(ctx, "ada@example.com", password) },
	} {
		id, _, err := s.SignIn(ctx, "ada@example.com", password, "192.0.2.1:5000")
		if err != nil {
			t.Fatal(err)
		}
		if err := end(id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, id); !errors.Is(err, staff.ErrNoSession) {
			t.Errorf("session after %s: %v, want ErrNoSession", name, err)
		}
	}
	id, _, err = s.SignIn(ctx, "ada@example.com", password, "192.0.2.1:5000")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Disable(ctx, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, id); !errors.Is(err, staff.ErrNoSession) {
		t.Errorf("session of a disabled account: %v, want ErrNoSession", err)
	}
	if _, _, err := s.SignIn(ctx, "ada@example.com", password, "192.0.2.1:5000"); !errors.Is(err, staff.ErrBadCredentials) {
		t.Errorf("sign-in to a disabled account: %v, want ErrBadCredentials", err)
	}
	if err := s.Disable(ctx, "nobody"); !errors.Is(err, staff.ErrNotFound) {
		t.Errorf("Disable(nobody): %v, want ErrNotFound", err)
	}
	for _, forged := range []string{"", "x", strings.Repeat("A", 43), id + "A"} {
		if _, err := s.Session(ctx, forged); !errors.Is(err, staff.ErrNoSession) {
			t.Errorf("Session(%q): %v, want ErrNoSession", forged, err)
		}
	}
}

func TestLockout(t *testing.T) {
	t.Parallel()
	s, c := open(t, staff.Config{MaxFailures: 3, MaxFailuresPerIP: 5, LockoutWindow: 10 * time.Minute, LockoutDuration: 15 * time.Minute})
	ctx := testkit.Ctx(t)
	signIn := func(user, pw, client string) error {
		_, _, err := s.SignIn(ctx, user, pw, client)
		return err
	}

	t.Run("per account", func(t *testing.T) {
		for i := range 3 {
			if err := signIn("ada@example.com", "wrong password!", "192.0.2.1:1"); !errors.Is(err, staff.ErrBadCredentials) {
				t.Fatalf("failure %d: %v, want ErrBadCredentials", i+1, err)
			}
		}
		// Locked: the right password from another address is refused too.
		if err := signIn("ada@example.com", password, "192.0.2.2:1"); !errors.Is(err, staff.ErrLocked) {
			t.Fatalf("after 3 failures: %v, want ErrLocked", err)
		}
		c.Advance(15*time.Minute + time.Second)
		if err := signIn("ada@example.com", password, "192.0.2.2:1"); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
	})

	t.Run("per address, unknown names counted the same", func(t *testing.T) {
		for i := range 5 {
			user := "nobody" + string(rune('a'+i))
			if err := signIn(user, "wrong password!", "[2001:db8::1]:1"); !errors.Is(err, staff.ErrBadCredentials) {
				t.Fatalf("failure %d: %v, want ErrBadCredentials", i+1, err)
			}
		}
		// The same /64 is locked for every name, a known one with its right password too.
		if err := signIn("ada@example.com", password, "[2001:db8::2]:1"); !errors.Is(err, staff.ErrLocked) {
			t.Fatalf("address after 5 failures: %v, want ErrLocked", err)
		}
		if err := signIn("ada@example.com", password, "198.51.100.7:1"); err != nil {
			t.Fatalf("another address: %v", err)
		}
		// An unknown name locks like a known one: a lock tells nothing of existence.
		for range 3 {
			_ = signIn("ghost", "wrong password!", "198.51.100.8:1")
		}
		if err := signIn("ghost", "wrong password!", "198.51.100.9:1"); !errors.Is(err, staff.ErrLocked) {
			t.Fatalf("unknown name after 3 failures: %v, want ErrLocked", err)
		}
	})

	t.Run("failures outside the window are forgotten", func(t *testing.T) {
		c.Advance(time.Hour)
		for range 2 {
			_ = signIn("ada@example.com", "wrong password!", "203.0.113.1:1")
		}
		c.Advance(11 * time.Minute)
		for range 2 {
			_ = signIn("ada@example.com", "wrong password!", "203.0.113.1:1")
		}
		if err := signIn("ada@example.com", password, "203.0.113.1:1"); err != nil {
			t.Fatalf("2+2 failures 11 minutes apart: %v, want a sign-in", err)
		}
	})
}

// TestReplicasShareTheLockout signs in through two stores on one database, as two
// replicas would: failures at either count together.
func TestReplicasShareTheLockout(t *testing.T) {
	t.Parallel()
	dsn := testkit.Database(t)
	var stores []*staff.Store
	for range 2 {
		s, err := staff.Open(testkit.Ctx(t), staff.Config{DatabaseURL: dsn, MaxFailures: 4}, testkit.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		stores = append(stores, s)
	}
	ctx := context.Background()
	if _, err := stores[0].Create(ctx, "ada", []string{"auditor"}, password); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		_, _, _ = stores[i%2].SignIn(ctx, "ada", "wrong password!", "192.0.2.1:1")
	}
	if _, _, err := stores[0].SignIn(ctx, "ada", password, "192.0.2.1:1"); !errors.Is(err, staff.ErrLocked) {
		t.Fatalf("after 2+2 failures on two replicas: %v, want ErrLocked", err)
	}
}
