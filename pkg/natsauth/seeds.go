package natsauth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nats-io/nkeys"
)

// SeedFile is where the seed of user lives in dir: what the user's process reads
// (NATS_NKEY_SEED_FILE, the nats CLI's --nkey).
func SeedFile(dir, user string) string { return filepath.Join(dir, user+".nk") }

// Seeds returns the public key of every user, reading each seed from dir and making a
// new one (mode 0600) for a user that has none yet. A user named in rotate gets a new
// seed even if it had one: its old one stops working once the server loads the new
// configuration.
func Seeds(dir string, users []User, rotate ...string) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, u := range users {
		known[u.Name] = true
	}
	for _, r := range rotate {
		if !known[r] {
			return nil, fmt.Errorf("natsauth: cannot rotate %s: no such user", r)
		}
	}
	keys := map[string]string{}
	for _, u := range users {
		path := SeedFile(dir, u.Name)
		seed, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) || slices.Contains(rotate, u.Name) {
			seed, err = newSeed(path)
		}
		if err != nil {
			return nil, err
		}
		kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
		if err != nil {
			return nil, fmt.Errorf("natsauth: %s: %w", path, err)
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, err
		}
		if !nkeys.IsValidPublicUserKey(pub) {
			return nil, fmt.Errorf("natsauth: %s holds no user seed", path)
		}
		keys[u.Name] = pub
	}
	return keys, nil
}

func newSeed(path string) ([]byte, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, err
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, err
	}
	// Write beside and rename: a reader never sees half a seed.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, append(seed, '\n'), 0o600); err != nil {
		return nil, err
	}
	return seed, os.Rename(tmp, path)
}
