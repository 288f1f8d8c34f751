package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// TestManageAccounts creates, lists, re-passwords and disables an account through the
// command, then signs in with what it printed.
func TestManageAccounts(t *testing.T) {
	dsn := testkit.Database(t)
	t.Setenv("AUTH_DATABASE_URL", dsn)
	ctx := testkit.Ctx(t)
	cmd := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, strings.NewReader(stdin), &out)
		return out.String(), err
	}

	out, err := cmd("", "create", "-user", "Ada@example.com", "-roles", "admin,auditor")
	if err != nil {
		t.Fatal(err)
	}
	_, generated, ok := strings.Cut(out, "password: ")
	if !ok || !strings.HasPrefix(out, "created ada@example.com (admin, auditor)") {
		t.Fatalf("create printed %q", out)
	}
	generated = strings.TrimSpace(generated)
	if _, err := cmd("typed by hand, long enough\n", "create", "-user", "bob", "-roles", "marketing", "-password-stdin"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"create", "-user", "carl", "-roles", "pos"},
		{"create", "-roles", "admin"},
		{"create", "-user", "bob", "-roles", "admin"},
		{"disable", "-user", "nobody"},
		{"frobnicate"},
	} {
		if _, err := cmd("", bad...); err == nil {
			t.Errorf("treue-staff %s succeeded", strings.Join(bad, " "))
		}
	}
	out, err = cmd("", "list")
	if err != nil || !strings.Contains(out, "ada@example.com  admin,auditor") || !strings.Contains(out, "bob") {
		t.Errorf("list: %v\n%s", err, out)
	}

	store, err := staff.Open(ctx, staff.Config{DatabaseURL: dsn}, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, _, err := store.SignIn(ctx, "ada@example.com", generated, "192.0.2.1:1"); err != nil {
		t.Errorf("signing in with the printed password: %v", err)
	}
	if _, _, err := store.SignIn(ctx, "bob", "typed by hand, long enough", "192.0.2.1:1"); err != nil {
		t.Errorf("signing in with the password from stdin: %v", err)
	}
	if _, err := cmd("", "disable", "-user", "bob"); err != nil {
		t.Fatal(err)
	}
	if out, _ := cmd("", "list"); !strings.Contains(out, "disabled") {
		t.Errorf("list after disable:\n%s", out)
	}
	if _, _, err := store.SignIn(ctx, "bob", "typed by hand, long enough", "192.0.2.1:1"); err == nil {
		t.Error("a disabled account signs in")
	}
}
