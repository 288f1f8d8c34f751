package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
)

// chromiumNames are the commands a Chromium or Chrome installation goes by.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// chromium remembers the answer for the process: tests of one binary share it, and an
// install runs once.
var chromium struct {
	once sync.Once
	path string
	err  error
}

// Chromium returns the path of a Chromium (or Chrome) for tests that load a page in a
// real headless browser: $CHROMIUM if set, else the first of chromiumNames on PATH.
// When there is none and this runs as root with apt-get (a dev container, CI), it
// installs Debian's chromium package first, as it does for Postgres.
func Chromium(ctx context.Context, log *slog.Logger) (string, error) {
	chromium.once.Do(func() { chromium.path, chromium.err = findOrInstallChromium(ctx, orDiscard(log)) })
	return chromium.path, chromium.err
}

func findOrInstallChromium(ctx context.Context, log *slog.Logger) (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("CHROMIUM is set but unusable: %w", err)
		}
		return p, nil
	}
	if p, ok := findChromium(); ok {
		return p, nil
	}
	notFound := errors.New("no Chromium or Chrome found (looked for chromium, chromium-browser, google-chrome on PATH); " +
		"install it (Debian/Ubuntu: `sudo apt-get install -y chromium`) or set CHROMIUM to its path")
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return "", notFound
	}
	if err := aptGetInstall(ctx, log, "chromium"); err != nil {
		return "", err
	}
	if p, ok := findChromium(); ok {
		return p, nil
	}
	return "", fmt.Errorf("after installing chromium: %w", notFound)
}

func findChromium() (string, bool) {
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}
