package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/treue/treue/pkg/devstack"
)

// Chromium returns the path of a Chromium for tests that load a page in a real headless
// browser (found, or installed with apt-get when running as root; see
// devstack.Chromium). Like Postgres, a missing browser fails the test with instructions
// rather than skipping it.
func Chromium(t testing.TB) string {
	t.Helper()
	// Generous: on a bare root machine this includes apt-get install.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	path, err := devstack.Chromium(ctx, logger())
	if err != nil {
		t.Fatalf("testkit: no Chromium available: %v", err)
	}
	return path
}
