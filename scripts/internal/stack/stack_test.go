package stack

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKeptSecretSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "survey-token-secret")
	first, err := keptSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 64 {
		t.Errorf("secret %q: %d characters, want 64 (32 bytes in hex)", first, len(first))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("secret file mode %o, want 600", perm)
	}
	again, err := keptSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("second run got %q, want the first run's %q", again, first)
	}

	// A file too short to be a secret we wrote is replaced, never signed with.
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	replaced, err := keptSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if replaced == "short" || len(replaced) != 64 {
		t.Errorf("short secret kept: %q", replaced)
	}
}
