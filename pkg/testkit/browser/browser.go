// Package browser starts the headless Chromium that the web pages' tests drive with
// chromedp: one way to launch it for every service, so a flag that keeps Chromium quiet
// or stable in CI is set once.
package browser

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/treue/treue/pkg/testkit"
)

// Desktop and Phone are the viewports the tests use.
const (
	DesktopWidth, DesktopHeight = 1280, 900
	PhoneWidth, PhoneHeight     = 390, 844
)

// New starts a headless Chromium (installed by the project's scripts where missing) with
// a width×height viewport and returns a tab's context, closed with the test. Every step
// run on it, and on the tabs Tab opens from it, shares a five-minute limit, so a hung
// page fails the test instead of CI.
func New(t testing.TB, width, height int) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(testkit.Chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // as root, Chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(width, height),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancelT)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// Tab opens another tab of browser (a context New returned) with a width×height
// viewport: a fresh page, sharing the browser's cookies.
func Tab(t testing.TB, browser context.Context, width, height int) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx
}

// Eval evaluates js on the tab and returns its value.
func Eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// Do runs steps on the tab and fails the test, naming what, if one fails.
func Do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Text waits for the element sel to be visible and returns its text, trimmed.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	Do(t, ctx, "waiting for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("reading %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Submit clicks sel (a form's button or a link) and waits for the page it navigates
// to; reading the old page while the new one loads would race.
func Submit(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("clicking %s: %v", sel, err)
	}
}

// Screenshot keeps the tab's full page as name.png under $TEST_ARTIFACTS/dir (the
// system's temporary directory when unset), outside the repository.
func Screenshot(t testing.TB, ctx context.Context, dir, name string) {
	t.Helper()
	root := os.Getenv("TEST_ARTIFACTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "treue-artifacts")
	}
	dir = filepath.Join(root, dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}
